#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The block device on a one-node group (a majority of one): every write goes
# propose -> log (durable) -> commit -> apply -> complete.  A file system
# survives down/up; fio's own verification passes; after a power cut in the
# middle of a write stream every completed write is intact; discard and
# write-zeroes go through Paxos like writes (zeroes read back, fstrim works,
# a power cut right after a write-zeroes recovers the zeroes from the log);
# module unload is refused while a device exists; the acceptor state's
# clean-shutdown mark reads "not clean" while up and after a power cut,
# "clean" after down.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}

ktap_plan 13
rig_start 1 || ktap_bail "rig did not boot"

create_and_up() {
	single_create_up
	local size
	size=$(rig_exec 1 'blockdev --getsize64 /dev/prbd0')
	echo "/dev/prbd0: $size bytes"
	[ "$size" -gt $((512 << 20)) ] || fail "device too small: $size"
	vm 1 'prbdctl status | grep -q "role primary"'
}

# md_shutdown: the clean-shutdown mark of node 1's metadata, as show-md
# says it ("clean" or "not clean ..."); the block device's page cache is
# dropped first (the module writes the metadata with bios)
md_shutdown() {
	rig_exec 1 'blockdev --flushbufs /dev/vda; prbdctl show-md /dev/vda' |
		sed -n 's/^shutdown: //p'
}

# expect_shutdown WANT WHEN: the mark is WANT (clean, not)
expect_shutdown() {
	local got
	got=$(md_shutdown)
	echo "shutdown mark $2: $got"
	case "$1:$got" in
	clean:clean|not:"not clean"*) ;;
	*) fail "shutdown mark $2: '$got', want $1 clean" ;;
	esac
}

clean_mark() {
	expect_shutdown not "while up"
	vm 1 'prbdctl secondary r0 && prbdctl down r0'
	expect_shutdown clean "after down"
	vm 1 'prbdctl show-md --json /dev/vda | grep -q "\"clean\":true}"'
	single_up
	expect_shutdown not "up again"
	! rig_exec 1 'dmesg | grep -q "ended without a clean down"' ||
		fail "a clean down reported as unclean at up"
}

raw_readback() {
	vm 1 'dd if=/dev/urandom of=/tmp/x bs=1M count=8 2>/dev/null &&
		dd if=/tmp/x of=/dev/prbd0 bs=64k seek=100 oflag=direct 2>/dev/null &&
		dd if=/dev/prbd0 bs=64k skip=100 count=128 iflag=direct 2>/dev/null | cmp - /tmp/x'
}

fs_survives_down_up() {
	single_fs_down_up 20 37
	vm 1 'umount /mnt/p && e2fsck -fn /dev/prbd0 >/dev/null'
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
	vm 1 "$(res_install_cmd "$(single_res)")"
	expect_shutdown not "after a power cut"
	single_up
	vm 1 'dmesg | grep -q "r0: the last run ended without a clean down"'
	rig_put 1 "$log" /tmp/blkcheck.log
	vm 1 'prbd-blkcheck check /dev/prbd0 4096 42 < /tmp/blkcheck.log'
}

discard_advertised() {
	local f v p
	for f in discard_max_bytes write_zeroes_max_bytes discard_granularity; do
		v=$(rig_exec 1 "cat /sys/block/vda/queue/$f")
		p=$(rig_exec 1 "cat /sys/block/prbd0/queue/$f")
		echo "$f: vda $v prbd0 $p"
		[ "$v" -gt 0 ] || fail "the backing disk has no $f"
		[ "$p" -gt 0 ] || fail "prbd0 does not advertise $f"
	done
}

# Write 8 MiB at 640 MiB; zero 1 MiB + 12 KiB at +1 MiB with BLKZEROOUT
# (write zeroes, no unmap), 64 KiB at +3 MiB with fallocate's punch hole
# (write zeroes, unmap allowed); discard 2 MiB at +4 MiB (the rig's disks
# punch holes: a discarded range reads zeroes).  Everything else is intact.
zeroes_and_discard() {
	vm 1 'dd if=/dev/urandom of=/tmp/pat bs=1M count=8 2>/dev/null &&
		dd if=/tmp/pat of=/dev/prbd0 bs=1M seek=640 oflag=direct 2>/dev/null'
	vm 1 'blkdiscard -z -o $((641 << 20)) -l $(((1 << 20) + 12288)) /dev/prbd0 &&
		fallocate -p -o $((643 << 20)) -l 65536 /dev/prbd0 &&
		blkdiscard -o $((644 << 20)) -l $((2 << 20)) /dev/prbd0'
	vm 1 'cp /tmp/pat /tmp/want &&
		dd if=/dev/zero of=/tmp/want bs=4k seek=256 count=259 conv=notrunc 2>/dev/null &&
		dd if=/dev/zero of=/tmp/want bs=4k seek=768 count=16 conv=notrunc 2>/dev/null &&
		dd if=/dev/zero of=/tmp/want bs=1M seek=4 count=2 conv=notrunc 2>/dev/null &&
		dd if=/dev/prbd0 bs=1M skip=640 count=8 iflag=direct 2>/dev/null | cmp - /tmp/want'
}

fstrim_ext4() {
	local out
	vm 1 'mkdir -p /mnt/p && mount -t ext4 /dev/prbd0 /mnt/p && rm -f /mnt/p/f1* && sync'
	out=$(rig_exec 1 'fstrim -v /mnt/p') || fail "fstrim: $out"
	echo "$out"
	[[ $out =~ \(([0-9]+)\ bytes\)\ trimmed ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] ||
		fail "nothing trimmed"
	vm 1 'cd /mnt/p && grep -v " f1" /tmp/sums | sha256sum -c --quiet && cd / && umount /mnt/p'
	vm 1 'e2fsck -fn /dev/prbd0 >/dev/null'
}

# Power cut right after a write-zeroes, before the next checkpoint: the
# zeroing comes back from the log, replayed on attach (up to the newest
# commit hint) or, when its chosen state was not durable yet, chosen again
# by this node's Phase 1 and applied (Documentation/prbd-write-path.rst).
# The data area under it is overwritten with garbage first, through
# /dev/vda, so only the log can bring the zeroes back.  The checkpoint
# interval is raised to a minute (module parameter checkpoint_ms) so none
# records the slot applied before the cut; if one still came first (the
# slot is at or below the recorded applied index) the round is repeated.
crash_after_zeroes() {
	local off try s lo hi
	off=$(rig_exec 1 'prbdctl show-md /dev/vda' | sed -n 's/.* data \([0-9]*\)+.*/\1/p' | head -n 1)
	[ -n "$off" ] && [ $((off % (1 << 20))) -eq 0 ] || fail "data offset of /dev/vda: '$off'"
	for try in 1 2 3 4; do
		vm 1 'echo 60000 > /sys/module/prbd/parameters/checkpoint_ms'
		vm 1 'dd if=/dev/urandom of=/mnt/share/zpat bs=1M count=2 2>/dev/null &&
			dd if=/mnt/share/zpat of=/dev/prbd0 bs=1M seek=700 oflag=direct 2>/dev/null &&
			blkdiscard -z -o $((701 << 20)) -l $((1 << 20)) /dev/prbd0'
		s=$(rig_exec 1 'prbdctl status' | sed -n 's/.* applied \([0-9]*\).*/\1/p')
		vm 1 "dd if=/dev/urandom of=/dev/vda bs=1M seek=$((off / (1 << 20) + 701)) count=1 oflag=direct 2>/dev/null"
		rig_crash 1
		rig_boot 1 && rig_wait 1 || fail "no reboot"
		vm 1 "$(res_install_cmd "$(single_res)")"
		single_up
		read -r lo hi < <(rig_exec 1 'dmesg' |
			sed -n 's/.*r0: log: replayed slots \([0-9]*\)\.\.\([0-9]*\).*/\1 \2/p' | tail -n 1) || true
		echo "round $try: write-zeroes applied at slot ${s:-?}; attach replayed slots ${lo:-?}..${hi:-?}"
		[ -n "$s" ] && [ -n "$lo" ] || fail "no slot numbers"
		if [ "$s" -ge "$lo" ]; then
			[ "$s" -le "$hi" ] && echo "round $try: replayed on attach" ||
				echo "round $try: chosen again after attach (above the commit hint)"
			vm 1 'head -c $((1 << 20)) /mnt/share/zpat > /tmp/want &&
				head -c $((1 << 20)) /dev/zero >> /tmp/want &&
				dd if=/dev/prbd0 bs=1M skip=700 count=2 iflag=direct 2>/dev/null |
				cmp - /tmp/want'
			return 0
		fi
	done
	fail "a checkpoint came before every power cut: the recovery from the log was never exercised"
}

unload_refused() {
	! rig_exec 1 'rmmod prbd' || fail "rmmod succeeded with a device up"
	vm 1 'grep -q "^prbd " /proc/modules'
	vm 1 'prbdctl secondary r0 && prbdctl down r0 && rmmod prbd'
	vm 1 '! grep -q "^prbd " /proc/modules'
	expect_shutdown clean "after down and rmmod"
}

no_warnings() {
	rig_dmesg_check 1
}

ktap_run "create-md, up, primary: /dev/prbd0 appears" create_and_up
ktap_run "clean-shutdown mark: not clean while up, clean after down" clean_mark
ktap_run "raw writes read back" raw_readback
ktap_run "ext4 files survive down and up" fs_survives_down_up
ktap_run "fstrim on a mounted ext4; remaining files intact" fstrim_ext4
ktap_run "fio crc32c verification passes" fio_verify
ktap_run "discard and write zeroes advertised like the backing disk's" discard_advertised
ktap_run "write zeroes read back as zeroes, discard accepted, neighbours intact" zeroes_and_discard
ktap_run "power cut mid-write: every completed write intact" crash_mid_write
ktap_run "power cut after write zeroes: the log replays the zeroes" crash_after_zeroes
ktap_run "rmmod refused while the device exists" unload_refused
ktap_run "no kernel warnings" no_warnings
ktap_result $([ -n "$(rig_exec 1 'dmesg | grep -i "log write failed"')" ] && echo 1 || echo 0) \
	"no log write failures"
rig_stop
ktap_finish
