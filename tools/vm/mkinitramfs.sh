#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest initramfs of the prbd VM rig: busybox, the guest kernel's
# modules the rig needs (with a real modprobe and modules.dep), prbd.ko, our
# userspace tools and the host programs the tests use, each with its shared
# libraries.  The result is build/vm/initramfs-$KVER.cpio.lz4.
#
# usage: mkinitramfs.sh KVER [PRBD_KO]
#   PRBD_KO: the prbd.ko built for KVER (default kmod/prbd.ko); its
#   vermagic must name KVER.
#   MKINITRAMFS_IMG: where to write the image instead.
set -euo pipefail

KVER=${1:?usage: mkinitramfs.sh KVER [PRBD_KO]}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PRBD_KO=${2:-$TOP/kmod/prbd.ko}
OUT=$TOP/build/vm
# MKINITRAMFS_IMG=path writes the image elsewhere (e.g. a test of a modified
# module that must not replace the shared one)
IMG=${MKINITRAMFS_IMG:-$OUT/initramfs-$KVER.cpio.lz4}
ROOT=$OUT/root-$(basename "$IMG" .cpio.lz4)
MODDIR=/lib/modules/$KVER

# Guest kernel modules (dependencies are resolved by modprobe --show-depends).
MODULES=(
	virtio_pci virtio_net virtio_blk 9pnet_virtio 9p
	sch_netem sch_prio cls_u32 act_gact
	ext4 crc32c_generic crc32c_intel libcrc32c
	drbd loop null_blk
	dm-log-writes
)

# Host programs copied with their libraries; busybox covers everything else.
PROGS=(
	bash socat ip tc fio bpftool mke2fs e2fsck tune2fs dumpe2fs blkid blockdev
	blkdiscard fstrim fallocate
	flock dd sync sha256sum md5sum cmp timeout stat truncate kmod dmsetup
	drbdsetup drbdmeta drbdadm /lib/drbd/drbdsetup-84
)

rm -rf "$ROOT"
mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,run,tmp,root,mnt/share,var/lock,var/run}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done # merged /usr, as Debian 12
mkdir -p "$ROOT$MODDIR"

copy_file() { # copy a host file into the tree, keeping its path; follow links
	local src=$1 dst=${2:-$1}
	[ -e "$ROOT$dst" ] && return 0
	mkdir -p "$ROOT$(dirname "$dst")"
	cp -L "$src" "$ROOT$dst"
}

copy_libs() { # the shared libraries (and loader) a binary needs
	local f
	for f in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
		copy_file "$f"
	done
}

copy_prog() { # PROG or /abs/path [dest]
	local p=$1 src
	if [[ $p == /* ]]; then src=$p; else src=$(command -v "$p" || true); fi
	if [ -z "$src" ] || [ ! -e "$src" ]; then
		echo "mkinitramfs: missing host program $p (run 'make deps')" >&2
		exit 1
	fi
	copy_file "$src" "${2:-$src}"
	copy_libs "$src"
}

# busybox first, as /bin/busybox; its applets are linked only where no real
# program of the same name is installed.
copy_file /bin/busybox /bin/busybox
for p in "${PROGS[@]}"; do copy_prog "$p"; done
for l in modprobe insmod rmmod lsmod depmod modinfo; do
	ln -sf "$(command -v kmod)" "$ROOT/sbin/$l"
done
ln -sf mke2fs "$ROOT$(dirname "$(command -v mke2fs)")/mkfs.ext4"
ln -sf e2fsck "$ROOT$(dirname "$(command -v e2fsck)")/fsck.ext4"
copy_file /lib64/ld-linux-x86-64.so.2
for a in $(/bin/busybox --list-full); do
	name=$(basename "$a")
	found=
	for d in bin sbin usr/bin usr/sbin; do
		[ -e "$ROOT/$d/$name" ] || [ -L "$ROOT/$d/$name" ] && found=1
	done
	[ -n "$found" ] || ln -s /bin/busybox "$ROOT/$a"
done

# Our own programs, when built.
for f in "$TOP"/build/user/prbdctl "$TOP"/build/bpf/prbd-lat; do
	[ -x "$f" ] && copy_prog "$f" "/usr/sbin/$(basename "$f")"
done
if [ -d "$TOP/build/guest-bin" ]; then # test helpers built for the guest
	for f in "$TOP"/build/guest-bin/*; do copy_prog "$f" "/usr/bin/$(basename "$f")"; done
fi

# Kernel modules with a modules.dep made for exactly this set.
for m in "${MODULES[@]}"; do
	modprobe -S "$KVER" --show-depends "$m" | while read -r kind path _; do
		# built into some kernels (virtio_pci in 6.12): nothing to copy
		[ "$kind" = insmod ] || continue
		case $path in # 6.12 ships .ko.xz: unpack, the cpio is compressed anyway
		*.ko.xz) mkdir -p "$ROOT$(dirname "$path")"; xz -dc "$path" > "$ROOT${path%.xz}" ;;
		*) copy_file "$path" ;;
		esac
	done
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	copy_file "$MODDIR/$f"
done
if [ -f "$PRBD_KO" ]; then
	vm=$(modinfo -F vermagic "$PRBD_KO" | cut -d' ' -f1)
	if [ "$vm" != "$KVER" ]; then
		echo "mkinitramfs: $PRBD_KO is built for $vm, not $KVER" >&2
		exit 1
	fi
	copy_file "$PRBD_KO" "$MODDIR/extra/prbd.ko"
fi
depmod -b "$ROOT" "$KVER"

# Configuration files.
echo 'root:x:0:0:root:/root:/bin/bash' > "$ROOT/etc/passwd"
echo 'root:x:0:' > "$ROOT/etc/group"
echo 'prbd-guest' > "$ROOT/etc/hostname"
mkdir -p "$ROOT/etc/prbd.d"
install -m 0755 "$TOP/tools/vm/guest-init.sh" "$ROOT/init"
install -m 0755 "$TOP/tools/vm/guest-agent.sh" "$ROOT/usr/sbin/prbd-agent-run"

# Every program must find its loader and libraries inside the tree.
bad=0
while IFS= read -r -d '' f; do
	readelf -l "$f" 2>/dev/null | grep -q 'program interpreter' || continue
	if ! chroot "$ROOT" /lib64/ld-linux-x86-64.so.2 --list "${f#"$ROOT"}" >/dev/null 2>&1; then
		echo "mkinitramfs: ${f#"$ROOT"} cannot resolve its libraries" >&2
		bad=1
	fi
done < <(find "$ROOT/usr/bin" "$ROOT/usr/sbin" "$ROOT/usr/lib/drbd" -type f -print0)
[ $bad -eq 0 ] || exit 1

(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet) | lz4 -l -q -f - "$IMG.tmp"
mv "$IMG.tmp" "$IMG"
echo "mkinitramfs: $IMG ($(du -h "$IMG" | cut -f1))"
