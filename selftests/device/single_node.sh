#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The block device on a one-node group (a majority of one): every write goes
# propose -> log (durable) -> commit -> apply -> complete.  A file system
# survives down/up; fio's own verification passes; after a power cut in the
# middle of a write stream every completed write is intact; module unload is
# refused while a device exists.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}

ktap_plan 8
rig_start 1 || ktap_bail "rig did not boot"

RES='[resource]
name = r0
minor = 0
cluster-uuid = 6f1c2a34-9d55-4e1b-8a77-0c2f3d4e5f60
node-id = 1
[node 1]
address = 10.77.0.1:7790
disk = /dev/vda'

up_primary() {
	vm 1 'modprobe prbd && prbdctl up r0 && prbdctl primary r0 && test -b /dev/prbd0'
}

create_and_up() {
	vm 1 "mkdir -p /etc/prbd.d && cat > /etc/prbd.d/r0.res <<'EOF'
$RES
EOF"
	vm 1 'prbdctl create-md r0'
	up_primary
	local size
	size=$(rig_exec 1 'blockdev --getsize64 /dev/prbd0')
	echo "/dev/prbd0: $size bytes"
	[ "$size" -gt $((512 << 20)) ] || fail "device too small: $size"
	vm 1 'prbdctl status | grep -q "role primary"'
}

raw_readback() {
	vm 1 'dd if=/dev/urandom of=/tmp/x bs=1M count=8 2>/dev/null &&
		dd if=/tmp/x of=/dev/prbd0 bs=64k seek=100 oflag=direct 2>/dev/null &&
		dd if=/dev/prbd0 bs=64k skip=100 count=128 iflag=direct 2>/dev/null | cmp - /tmp/x'
}

fs_survives_down_up() {
	vm 1 'mkfs.ext4 -q -F /dev/prbd0 && mkdir -p /mnt/p && mount -t ext4 /dev/prbd0 /mnt/p'
	vm 1 'for i in $(seq 1 20); do head -c $((i * 37 * 1024)) /dev/urandom > /mnt/p/f$i; done
		cd /mnt/p && sha256sum f* > /tmp/sums && cd / && umount /mnt/p'
	vm 1 'prbdctl secondary r0 && prbdctl down r0 && ! test -b /dev/prbd0'
	up_primary
	vm 1 'mount -t ext4 /dev/prbd0 /mnt/p && cd /mnt/p && sha256sum -c --quiet /tmp/sums && cd / && umount /mnt/p'
	vm 1 'e2fsck -fn /dev/prbd0 >/dev/null'
}

fio_verify() {
	vm 1 'fio --name=v --filename=/dev/prbd0 --direct=1 --ioengine=libaio --rw=randwrite \
		--bs=4k --iodepth=8 --size=16M --offset=256M --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --output-format=terse >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; exit 1; }'
	vm 1 'fio --name=r --filename=/dev/prbd0 --direct=1 --ioengine=libaio --rw=write \
		--bs=1M --iodepth=4 --size=32M --offset=300M --verify=crc32c --do_verify=1 \
		--verify_fatal=1 >/tmp/fio2.out 2>&1 || { cat /tmp/fio2.out; exit 1; }'
}

crash_mid_write() {
	local log=$RIG_DIR/blkcheck.log lines
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=16 oflag=direct 2>/dev/null'
	# a stream of O_DIRECT|O_DSYNC writes; the host records each completion
	rig_exec 1 'prbd-blkcheck write /dev/prbd0 4096 1000000 42' > "$log" 2>&1 &
	sleep 12
	rig_crash 1
	wait || true
	lines=$(grep -c '^ok ' "$log" || true)
	echo "$lines writes completed before the power cut"
	[ "$lines" -gt 20 ] || fail "too few writes completed: $(tail -3 "$log")"
	rig_boot 1 && rig_wait 1 || fail "no reboot"
	vm 1 "mkdir -p /etc/prbd.d && cat > /etc/prbd.d/r0.res <<'EOF'
$RES
EOF"
	up_primary
	rig_put 1 "$log" /tmp/blkcheck.log
	vm 1 'prbd-blkcheck check /dev/prbd0 4096 42 < /tmp/blkcheck.log'
}

unload_refused() {
	! rig_exec 1 'rmmod prbd' || fail "rmmod succeeded with a device up"
	vm 1 'grep -q "^prbd " /proc/modules'
	vm 1 'prbdctl secondary r0 && prbdctl down r0 && rmmod prbd'
	vm 1 '! grep -q "^prbd " /proc/modules'
}

no_warnings() {
	rig_dmesg_check 1
}

ktap_run "create-md, up, primary: /dev/prbd0 appears" create_and_up
ktap_run "raw writes read back" raw_readback
ktap_run "ext4 files survive down and up" fs_survives_down_up
ktap_run "fio crc32c verification passes" fio_verify
ktap_run "power cut mid-write: every completed write intact" crash_mid_write
ktap_run "rmmod refused while the device exists" unload_refused
ktap_run "no kernel warnings" no_warnings
ktap_result $([ -n "$(rig_exec 1 'dmesg | grep -i "log write failed"')" ] && echo 1 || echo 0) \
	"no log write failures"
rig_stop
ktap_finish
