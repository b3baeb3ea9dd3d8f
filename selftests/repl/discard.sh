#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Discard and write zeroes on three nodes.  They are chosen through Paxos
# like writes but carry no payload (no DATA frame: nothing waits for one);
# every node logs them and applies them to its data area in slot order, so
# the replicas stay identical under concurrent writes, write-zeroes and
# discards (the rig's disks punch holes: a discarded range reads zeroes on
# every node); a follower down during write-zeroes catches up on them; a
# write-zeroes on the primary reads as zeroes on the node promoted after it.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}

N=3
ktap_plan 5
rig_start $N || ktap_bail "rig did not boot"

# applied I: node I's applied index
applied() {
	local a
	a=$(rig_exec "$1" 'prbdctl status' | sed -n 's/.* applied \([0-9]*\).*/\1/p' | head -n 1)
	echo "${a:-0}"
}

# same_when_applied BLOCKS: once nodes 2 and 3 have applied every slot node 1
# has, the first BLOCKS 4 KiB blocks are identical on the three nodes
same_when_applied() {
	local t a1 s1 s2 s3
	a1=$(applied 1)
	for t in $(seq 1 60); do
		[ "$(applied 2)" -ge "$a1" ] && [ "$(applied 3)" -ge "$a1" ] && break
		sleep 0.5
	done
	s1=$(repl_sum 1 "$1") s2=$(repl_sum 2 "$1") s3=$(repl_sum 3 "$1")
	echo "node 1 applied $a1, nodes 2 and 3 $(applied 2) and $(applied 3); sums $s1 $s2 $s3"
	[ -n "$s1" ] && [ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] || fail "replicas differ"
}

setup() {
	repl_up $N
	vm 1 'test "$(cat /sys/block/prbd0/queue/discard_max_bytes)" -gt 0 &&
		test "$(cat /sys/block/prbd0/queue/write_zeroes_max_bytes)" -gt 0'
}

# 8 s of fio random writes (4-64 KiB, queue depth 8) over the first 8 MiB,
# and at the same time random write-zeroes and discards over the same range.
mixed_same_everywhere() {
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=1M count=8 oflag=direct 2>/dev/null'
	vm 1 'fio --name=w --filename=/dev/prbd0 --direct=1 --ioengine=libaio \
			--rw=randwrite --bsrange=4k-64k --iodepth=8 --size=8M \
			--time_based --runtime=8 --output=/tmp/fio.out &
		end=$((SECONDS + 8)) n=0
		while [ $SECONDS -lt $end ]; do
			o=$((RANDOM % 2048)) l=$((1 + RANDOM % 256))
			[ $((o + l)) -le 2048 ] || l=$((2048 - o))
			if [ $((n % 2)) = 0 ]; then z=-z; else z=; fi
			blkdiscard $z -o $((o * 4096)) -l $((l * 4096)) /dev/prbd0 || exit 1
			n=$((n + 1))
		done
		wait $! || { cat /tmp/fio.out; exit 1; }
		echo "$n write-zeroes and discards during the writes"
		test $n -gt 10'
	same_when_applied 2048
}

follower_catches_up() {
	rig_crash 3
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=1M seek=2 count=4 oflag=direct 2>/dev/null &&
		blkdiscard -z -o $((3 << 20)) -l $((1 << 20)) /dev/prbd0 &&
		blkdiscard -o $((5 << 20)) -l $((512 << 10)) /dev/prbd0'
	rig_boot 3 && rig_wait 3 || fail "node 3 did not reboot"
	repl_write_res 3 $N
	vm 3 'modprobe prbd && prbdctl up r0'
	same_when_applied 2048
}

zeroes_then_failover() {
	vm 1 'dd if=/dev/urandom of=/tmp/pat bs=1M count=2 2>/dev/null &&
		dd if=/tmp/pat of=/dev/prbd0 bs=1M seek=32 oflag=direct 2>/dev/null &&
		blkdiscard -z -o $((32 << 20)) -l $((1 << 20)) /dev/prbd0'
	vm 1 'tail -c $((1 << 20)) /tmp/pat > /mnt/share/pat2'
	vm 1 'prbdctl secondary r0'
	repl_promote 2
	vm 2 'head -c $((1 << 20)) /dev/zero > /tmp/want && cat /mnt/share/pat2 >> /tmp/want &&
		dd if=/dev/prbd0 bs=1M skip=32 count=2 iflag=direct 2>/dev/null | cmp - /tmp/want'
}

no_warnings() {
	local i
	for i in 1 2 3; do
		rig_dmesg_check "$i" || fail "vm$i: kernel warnings"
	done
	for i in 1 2 3; do
		! rig_exec "$i" 'dmesg' | grep -E 'cannot apply|log write failed|bad message' ||
			fail "vm$i: apply, log or message errors"
	done
}

ktap_run "3 nodes up, node 1 primary; discard and write zeroes advertised" setup
ktap_run "concurrent writes, write zeroes and discards: replicas identical" mixed_same_everywhere
ktap_run "a follower down during write zeroes and discards catches up" follower_catches_up
ktap_run "write zeroes on node 1 read as zeroes on node 2 after promotion" zeroes_then_failover
ktap_run "no kernel warnings, apply or log errors" no_warnings
rig_stop
ktap_finish
