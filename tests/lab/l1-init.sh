#!/bin/sh
# The lab's L1 init: the host's root is L1's root (9p, read-only); the
# harness's work directory is shared writable as "lab". Runs its run.sh and
# leaves the exit status next to it, then restarts, which ends L1's QEMU.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=0755 run /run
mkdir -p /run/lab /run/vm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 lab /run/lab
cd /run/vm
sh /run/lab/run.sh > /run/lab/output 2>&1
echo $? > /run/lab/rc
umount /run/lab
exec /bin/busybox reboot -f
