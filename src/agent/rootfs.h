/* Runs in the container's first process, in its new mount namespace. */
#pragma once

#include "agent/oci.h"
#include "common/error.h"

/* Mounts the spec's mounts under rootfs, creates /dev, and pivots into it. */
int rootfs_setup(const struct oci_spec *spec, const char *rootfs, struct capsa_error *err);
/* Applies readonly root, masked and readonly paths; call after rootfs_setup. */
int rootfs_finish(const struct oci_spec *spec, struct capsa_error *err);
/* Joins a path under root without letting symlinks or ".." escape it. */
int rootfs_secure_join(const char *root, const char *path, char *out, size_t outlen);
