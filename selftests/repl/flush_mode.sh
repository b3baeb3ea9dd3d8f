#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# durability = flush on three nodes (issue 13; prbd loaded with
# experimental_flush=1): DRBD's contract, a write completes once chosen
# by a majority that wrote its record (no cache flush), a flush completes
# once every write completed before it is durable on a majority.
#  - O_DIRECT 4k writes on the primary cost the followers' backing disks
#    far fewer cache flushes than writes (strict mode: one each, the FUA
#    of the log record), and every replica gets them;
#  - a crash of a minority loses nothing that completed: the leader is
#    killed under a checked writer, node 2 is promoted, every completed
#    write reads back; the killed node returns without its clean-shutdown
#    mark (suspect) and catches up;
#  - an fsync on ext4 is a barrier: FLUSH crosses the wire and the leader
#    and at least one follower flush their disks before it returns; the
#    leader is then killed and node 3 reads every synced file back;
#  - a clean down leaves the clean-shutdown mark in the metadata.
# The flush counts are field 16 of /sys/block/vda/stat (flush requests
# completed); checkpoints, which flush too, are held off while counting.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}
REPL_MOD_OPTS="experimental_flush=1"
REPL_MD_OPTS="--log-size 64M"

N=3
FM_WRITES=${FM_WRITES:-300}
ktap_plan 6
rig_start $N || ktap_bail "rig did not boot"

# vda_flushes I: flush requests node I's backing disk completed so far
vda_flushes() { rig_exec "$1" 'cat /sys/block/vda/stat' | awk '{ print $16 }'; }

# ckpt_ms MS: the checkpoint interval on every node
ckpt_ms() {
	local i
	for i in 1 2 3; do
		vm "$i" "echo $1 > /sys/module/prbd/parameters/checkpoint_ms" >/dev/null
	done
}

setup() {
	repl_up $N "durability = flush"
	local i
	for i in 1 2 3; do
		vm "$i" 'prbdctl status | grep -q "durability flush"'
	done
	vm 1 'prbdctl status'
}

no_fua() {
	local a2 a3 b2 b3
	ckpt_ms 600000
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=4k count=16 oflag=direct 2>/dev/null'
	sleep 2
	a2=$(vda_flushes 2) a3=$(vda_flushes 3)
	vm 1 "dd if=/dev/urandom of=/dev/prbd0 bs=4k count=$FM_WRITES seek=8192 oflag=direct 2>/dev/null"
	b2=$(vda_flushes 2) b3=$(vda_flushes 3)
	ckpt_ms 1000
	echo "$FM_WRITES O_DIRECT 4k writes: node 2 flushed $((b2 - a2)) times, node 3 $((b3 - a3))"
	[ $((b2 - a2)) -le $((FM_WRITES / 10)) ] && [ $((b3 - a3)) -le $((FM_WRITES / 10)) ] ||
		fail "the followers flushed about once a write (records still FUA?)"
	repl_same 12288 1 2 3
}

failover() {
	local log=$RIG_DIR/blkcheck.log lines
	# blkcheck takes a block no completed write covers for zeros
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=16 oflag=direct 2>/dev/null'
	rig_exec 1 'prbd-blkcheck write /dev/prbd0 4096 1000000 9' > "$log" 2>&1 &
	sleep 10
	rig_crash 1
	wait || true
	lines=$(repl_ok_lines "$log")
	echo "$lines writes completed on node 1 before it died"
	[ "$lines" -gt 10 ] || fail "too few writes: $(tail -3 "$log")"
	repl_promote 2
	rig_put 2 "$log" /tmp/blkcheck.log
	vm 2 'prbd-blkcheck check /dev/prbd0 4096 9 < /tmp/blkcheck.log'
}

# node 1 stopped without its clean-shutdown mark: it comes back suspect
# (its unflushed records may be gone) and catches up
rejoin() {
	rig_boot 1 && rig_wait 1 || fail "node 1 did not reboot"
	repl_write_res 1 $N "" "" "durability = flush"
	vm 1 'prbdctl show-md /dev/vda | grep "^shutdown: not clean"'
	vm 1 "modprobe prbd $REPL_MOD_OPTS && prbdctl up r0"
	vm 1 'dmesg | grep -i suspect || true'
	repl_same 4096 1 2 3
}

# an fsync is a barrier: the leader (node 2 now) and a follower flush;
# then the leader is killed and node 3 reads every synced file back
fsync_barrier() {
	local a2 a1 a3 b2 b1 b3
	vm 2 'mkfs.ext4 -q -F /dev/prbd0 && mkdir -p /mnt/p && mount -t ext4 /dev/prbd0 /mnt/p'
	ckpt_ms 600000
	vm 2 'dd if=/dev/urandom of=/mnt/p/warm bs=4k count=4 conv=fsync 2>/dev/null'
	sleep 2
	a1=$(vda_flushes 1) a2=$(vda_flushes 2) a3=$(vda_flushes 3)
	quick 2 60 'dd if=/dev/urandom of=/mnt/p/synced bs=64k count=16 conv=fsync 2>/dev/null' ||
		fail "fsync failed"
	b1=$(vda_flushes 1) b2=$(vda_flushes 2) b3=$(vda_flushes 3)
	ckpt_ms 1000
	echo "an fsync of 1 MiB: the backing disks flushed 1: $((b1 - a1)), 2 (leader): $((b2 - a2)), 3: $((b3 - a3))"
	[ $((b2 - a2)) -ge 1 ] || fail "the leader did not flush for the fsync"
	[ $((b1 - a1)) -ge 1 ] || [ $((b3 - a3)) -ge 1 ] ||
		fail "no follower flushed: the barrier completed without a majority"
	vm 2 'for i in 1 2 3 4 5 6; do head -c $((i * 96 * 1024)) /dev/urandom > /mnt/p/f$i; done
		sync && cd /mnt/p && sha256sum f* synced > /tmp/sums'
	rig_exec 2 'cat /tmp/sums' > "$RIG_DIR/fm_sums"
	rig_crash 2
	repl_promote 3
	rig_put 3 "$RIG_DIR/fm_sums" /tmp/sums
	vm 3 'mkdir -p /mnt/p && mount -t ext4 /dev/prbd0 /mnt/p && cd /mnt/p && sha256sum -c --quiet /tmp/sums'
	vm 3 'umount /mnt/p'
}

clean_mark() {
	local out
	vm 3 'prbdctl secondary r0'
	vm 1 'prbdctl down r0'
	# prbd wrote the metadata with bios: drop what the page cache holds
	out=$(rig_exec 1 'blockdev --flushbufs /dev/vda; prbdctl show-md /dev/vda' 2>&1) ||
		fail "show-md failed: $out"
	echo "$out" | grep '^shutdown:'
	echo "$out" | grep -q '^shutdown: clean' ||
		fail "no clean-shutdown mark after a clean down"
	repl_no_warnings 1 3
}

ktap_run "3 nodes up with durability flush, node 1 primary" setup
ktap_run "O_DIRECT writes: the followers flush far less than once a write; replicas agree" no_fua
ktap_run "leader killed under a checked writer; node 2 promoted; every completed write intact" failover
ktap_run "the killed node returns (suspect) and catches up; replicas agree" rejoin
ktap_run "fsync is a barrier (leader and a follower flush); leader killed, node 3 reads every synced file" fsync_barrier
ktap_run "a clean down leaves the clean-shutdown mark; no kernel warnings" clean_mark
ktap_finish
