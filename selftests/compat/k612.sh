#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The 6.12 guest kernel lane: prbd.ko built for Debian 12's 6.12 kernel
# (linux-headers-6.12-amd64, installed by tools/deps.sh) with W=1 and module
# BTF, in build/mod-<version>, then the core single-node checks in a guest
# booting that kernel: the module loads with its BTF, create-md/up/primary,
# ext4 files survive down and up, fio crc32c verification, discard and
# write-zeroes, the read-write open accounting of the 6.5+ release() path,
# unload, a clean kernel log.  Skipped when no 6.12 kernel is installed.
HERE=$(cd "$(dirname "$0")" && pwd)
K612=$("$HERE/../../tools/kver.sh" 6.12) || K612=
export RIG_KVER=${K612:-none}
. "$HERE/../lib.sh"
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}

if [ -z "$K612" ]; then
	ktap_plan 0
	echo "# SKIP: no Debian 6.12 kernel with headers installed (run 'make deps')"
	exit $KSFT_SKIP
fi
if [ "$(id -u)" -ne 0 ]; then
	ktap_plan 0
	echo "# SKIP: the VM rig needs root (network namespaces, taps)"
	exit $KSFT_SKIP
fi

ktap_plan 9
ktap_diag "guest kernel $K612"

build_612() {
	local log=$TOP/build/k612-make.log
	# from clean objects, so that every warning shows
	make -C "$TOP" KVER="$K612" clean-module > /dev/null 2>&1 || true
	if ! make -C "$TOP" KVER="$K612" W=1 module initramfs > "$log" 2>&1; then
		tail -n 30 "$log"
		fail "build for $K612 failed"
	fi
	if grep -E 'warning:|Warning:' "$log" | grep -v 'Skipping BTF'; then
		fail "W=1 warnings"
	fi
	# no grep -q in a pipe: under pipefail a reader that stops early can
	# fail the pipeline with the writer's SIGPIPE
	[ -n "$(readelf -S "$TOP/build/mod-$K612/kmod/prbd.ko" | grep '\.BTF')" ] ||
		fail "no module BTF: $(readelf -S "$TOP/build/mod-$K612/kmod/prbd.ko" 2>&1 | grep -ci btf) btf lines"
	modinfo -F vermagic "$TOP/build/mod-$K612/kmod/prbd.ko" | grep -q "^$K612 " ||
		fail "vermagic is not $K612"
}

ktap_run "prbd.ko builds for $K612 with W=1, warning-free, with BTF" build_612
[ -f "$RIG_INITRD" ] || ktap_bail "no initramfs for $K612"
rig_start 1 || ktap_bail "rig did not boot $K612"

loads_with_btf() {
	local r
	r=$(rig_exec 1 'uname -r')
	[ "$r" = "$K612" ] || fail "guest runs $r"
	vm 1 'modprobe prbd && test -e /sys/kernel/btf/prbd'
	vm 1 'grep -q "^prbd " /proc/modules'
	vm 1 '! dmesg | grep -iE "failed to validate module|btf.*(invalid|error)"'
}

create_and_up() {
	single_create_up
	vm 1 'prbdctl status | grep -q "role primary"'
}

fs_survives_down_up() {
	single_fs_down_up 10 53
	vm 1 'fstrim -v /mnt/p && umount /mnt/p && e2fsck -fn /dev/prbd0 >/dev/null'
}

fio_verify() {
	vm 1 'fio --name=v --filename=/dev/prbd0 --direct=1 --ioengine=libaio --rw=randwrite \
		--bs=4k --iodepth=8 --size=8M --offset=256M --verify=crc32c --do_verify=1 \
		--verify_fatal=1 >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; exit 1; }'
}

discard_zeroes() {
	vm 1 'test "$(cat /sys/block/prbd0/queue/discard_max_bytes)" -gt 0 &&
		test "$(cat /sys/block/prbd0/queue/write_zeroes_max_bytes)" -gt 0'
	# zero the first MiB of 4, discard the last 2 (the rig's disks punch
	# holes: they read zeroes), the second MiB stays
	vm 1 'dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null &&
		dd if=/tmp/pat of=/dev/prbd0 bs=1M seek=400 oflag=direct 2>/dev/null &&
		blkdiscard -z -o $((400 << 20)) -l $((1 << 20)) /dev/prbd0 &&
		blkdiscard -o $((402 << 20)) -l $((2 << 20)) /dev/prbd0 &&
		cp /tmp/pat /tmp/want &&
		dd if=/dev/zero of=/tmp/want bs=1M count=1 conv=notrunc 2>/dev/null &&
		dd if=/dev/zero of=/tmp/want bs=1M seek=2 count=2 conv=notrunc 2>/dev/null &&
		dd if=/dev/prbd0 bs=1M skip=400 count=4 iflag=direct 2>/dev/null | cmp - /tmp/want'
}

rw_open_accounting() {
	# secondary is refused while a writer holds the device, also after a
	# reader came and went (6.5+ release() is not told the open mode)
	vm 1 'exec 3<>/dev/prbd0; dd if=/dev/prbd0 of=/dev/null count=1 2>/dev/null
		! prbdctl secondary r0 2>/dev/null'
	vm 1 'prbdctl secondary r0 && prbdctl down r0 && rmmod prbd'
	vm 1 '! grep -q "^prbd " /proc/modules'
}

ktap_run "the guest runs $K612; prbd.ko loads with its BTF" loads_with_btf
ktap_run "create-md, up, primary" create_and_up
ktap_run "ext4 files survive down and up; fstrim" fs_survives_down_up
ktap_run "fio crc32c verification passes" fio_verify
ktap_run "write-zeroes reads zeroes; discard accepted" discard_zeroes
ktap_run "secondary refused while open read-write; down; rmmod" rw_open_accounting
ktap_run "no kernel warnings" rig_dmesg_check 1
ktap_result $([ -n "$(rig_exec 1 'dmesg | grep -iE "log write failed|cannot apply"')" ] && echo 1 || echo 0) \
	"no log write or apply failures"
rig_stop
ktap_finish
