# capsa: the two quick-start commands are `make run` and `make check`.
# Both install what they need from Debian (make deps), build, install, then
# run the main job or every test.

PREFIX ?= /usr/local
BUILD ?= build
ASAN_BUILD ?= build-asan
KERNEL_DIR := $(BUILD)/guest-kernel
DATADIR := $(DESTDIR)$(PREFIX)/share/capsa
INITRD := $(BUILD)/capsa-initrd.img
MESON_SETUP := meson setup --prefix=$(PREFIX)

DEB_PACKAGES := build-essential meson ninja-build pkg-config clang python3 \
	libjansson-dev libprotobuf-c-dev protobuf-c-compiler libseccomp-dev libcmocka-dev \
	libclang-rt-14-dev qemu-system-x86 busybox-static podman conmon containerd runc runsc linux-source-6.1 bc bison flex libelf-dev libssl-dev cpio xz-utils

.PHONY: all deps build build-asan guest kernel initrd initrd-debug install run check clean

all: build guest

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing from Debian:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	$(MESON_SETUP) $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer, with clang for the fuzz targets
$(ASAN_BUILD)/build.ninja:
	CC=clang $(MESON_SETUP) $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dguest=false -Dintegration=false -Dfuzz=true

build-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

kernel:
	guest/kernel/build.sh $(KERNEL_DIR)

initrd: build kernel
	strip -o $(BUILD)/capsa-agent.stripped $(BUILD)/src/agent/capsa-agent
	guest/initrd/build.sh $(KERNEL_DIR)/linux-source-6.1/usr/gen_init_cpio $(BUILD)/capsa-agent.stripped $(INITRD)

# the same plus static busybox, for poking around a guest by hand
initrd-debug: initrd
	guest/initrd/build.sh $(KERNEL_DIR)/linux-source-6.1/usr/gen_init_cpio $(BUILD)/capsa-agent.stripped \
		$(BUILD)/capsa-initrd-debug.img /bin/busybox

guest: kernel initrd

install: all
	meson install -C $(BUILD) --no-rebuild --quiet $(if $(DESTDIR),--destdir $(DESTDIR))
	install -d $(DATADIR)
	install -m 0644 $(KERNEL_DIR)/vmlinux $(KERNEL_DIR)/bzImage $(INITRD) $(DATADIR)/

# the main job: a busybox OCI bundle run by `capsa run`, in its own VM
run: deps install
	@tests/make-oci-bundle.sh $(PREFIX)/bin/capsa $(BUILD)/demo-bundle \
		sh -c 'echo hello from a VM; echo "guest kernel: $$(uname -r), host kernel: $(shell uname -r)"'
	$(PREFIX)/bin/capsa run --bundle $(BUILD)/demo-bundle capsa-demo-$$$$

check: deps install build-asan
	tests/run-all.sh $(BUILD) $(ASAN_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
