#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Replication on three nodes: every write is chosen by a majority through
# Multi-Paxos over the kernel transport.  The primary's writes reach every
# replica; a follower that was down for a burst of writes catches up from
# the leader's log; killing the leader mid-write loses no completed write
# once another node is made primary; opening the device read-write on a
# secondary auto-promotes it unless another node is primary.  The leader
# sends each payload once: one follower forwards it to the other, and with
# the link between the followers cut the payloads still reach both.  (See
# partition.sh, failover.sh and five_nodes.sh for the rest.)
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}
# a follower killed under 12 s of fio misses ~1,000 writes (12 KiB of log
# records each): a 64 MiB log keeps them as history for its catch-up
REPL_MD_OPTS="--log-size 64M"

N=3
ktap_plan 8
rig_start $N || ktap_bail "rig did not boot"

write_res() { repl_write_res "$1" $N; }

wait_same() { repl_same "$1" 1 2 3; }

setup() {
	repl_up $N
	vm 1 'prbdctl status'
}

replicate() {
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=16 oflag=direct 2>/dev/null &&
		dd if=/dev/urandom of=/dev/prbd0 bs=64k count=64 seek=3 oflag=direct 2>/dev/null'
	wait_same 4096
	# the leader's status shows how far each peer has applied
	local t st applied m2 m3
	for t in $(seq 1 10); do
		st=$(rig_exec 1 'prbdctl status' || true)
		applied=$(echo "$st" | sed -n 's/.* applied \([0-9]*\)$/\1/p')
		m2=$(echo "$st" | sed -n 's/.*peer 2 .* match \([0-9]*\).*/\1/p')
		m3=$(echo "$st" | sed -n 's/.*peer 3 .* match \([0-9]*\).*/\1/p')
		[ -n "$applied" ] && [ "$m2" = "$applied" ] && [ "$m3" = "$applied" ] && break
		sleep 1
	done
	echo "leader applied $applied; peers report 2: $m2, 3: $m3"
	[ -n "$applied" ] && [ "$applied" -gt 0 ] && [ "$m2" = "$applied" ] && [ "$m3" = "$applied" ] ||
		fail "peer match index not the leader's applied index"
}

# pl FIELD I: a counter of node I's debugfs payloads file
pl() {
	local v
	v=$(repl_payloads "$2" "$1")
	echo "${v:-0}"
}

relay() {
	local s0 r0 f0 a0 s1 r1 f1 a1 fail0 fail1
	repl_debugfs 1 2 3
	s0=$(pl data_sent 1) r0=$(pl data_relayed 1)
	f0=$(($(pl forwarded 2) + $(pl forwarded 3)))
	fail0=$(($(pl forward_failed 2) + $(pl forward_failed 3)))
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=128 seek=32 oflag=direct 2>/dev/null'
	wait_same 4096
	s1=$(pl data_sent 1) r1=$(pl data_relayed 1)
	f1=$(($(pl forwarded 2) + $(pl forwarded 3)))
	fail1=$(($(pl forward_failed 2) + $(pl forward_failed 3)))
	echo "leader sent $((s1 - s0)) payloads, $((r1 - r0)) with a relay; the followers forwarded $((f1 - f0)), failed $((fail1 - fail0))"
	[ $((s1 - s0)) -ge 128 ] || fail "fewer payload frames than writes"
	# one follower gets each payload and forwards it to the other
	[ $((r1 - r0)) -ge $(((s1 - s0) * 9 / 10)) ] || fail "payloads not relayed"
	[ $((f1 - f0)) -ge $(((r1 - r0) * 9 / 10)) ] || fail "the followers did not forward"
	# the followers cut off from each other: what is not forwarded is
	# asked for again and then sent straight
	a0=$(($(pl asked 2) + $(pl asked 3)))
	vm 2 'ip route add blackhole 10.77.0.3/32'
	vm 3 'ip route add blackhole 10.77.0.2/32'
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=64 seek=160 oflag=direct 2>/dev/null'
	wait_same 4096
	a1=$(($(pl asked 2) + $(pl asked 3)))
	echo "link 2-3 cut: $((a1 - a0)) payloads asked for again"
	vm 2 'ip route del blackhole 10.77.0.3/32'
	vm 3 'ip route del blackhole 10.77.0.2/32'
	[ $((a1 - a0)) -gt 0 ] || fail "no payload was missing with the link cut"
}

failover() {
	local log=$RIG_DIR/blkcheck.log lines t
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=16 oflag=direct 2>/dev/null'
	rig_exec 1 'prbd-blkcheck write /dev/prbd0 4096 1000000 7' > "$log" 2>&1 &
	sleep 10
	rig_crash 1
	wait || true
	lines=$(grep -c '^ok ' "$log" || true)
	echo "$lines writes completed on node 1 before it died"
	[ "$lines" -gt 10 ] || fail "too few writes: $(tail -3 "$log")"
	for t in $(seq 1 20); do
		rig_exec 2 'prbdctl primary r0' >/dev/null && break
		sleep 1
	done
	vm 2 'prbdctl status'
	vm 2 'prbdctl status | grep -q "role primary"'
	rig_put 2 "$log" /tmp/blkcheck.log
	vm 2 'prbd-blkcheck check /dev/prbd0 4096 7 < /tmp/blkcheck.log'
}

writes_continue() {
	vm 2 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=32 seek=200 oflag=direct 2>/dev/null'
}

# Writes run while a follower is killed: per 500 ms window of fio's IOPS
# log, none after the kill may fall below a quarter of the median before
# it (a stall would show as a window near zero).  The follower then comes
# back and catches up.
follower_catches_up() {
	local before after min med t
	rig_exec_bg 1 'cd /tmp && fio --name=w --filename=/dev/prbd0 --rw=randwrite --bs=4k --size=16m --offset=0 --direct=1 --iodepth=1 --time_based --runtime=12 --write_iops_log=w --log_avg_msec=500 > /tmp/fio.out 2>&1; echo done >> /tmp/fio.out' >/dev/null
	sleep 5
	rig_crash 3
	for t in $(seq 1 60); do
		rig_exec 1 'grep -q "^done" /tmp/fio.out' 2>/dev/null && break
		sleep 1
	done
	vm 1 'grep -q "^done" /tmp/fio.out'
	# columns: msec, iops, ...; the kill happened about 5 s in
	before=$(rig_exec 1 'awk -F, "\$1 > 1000 && \$1 <= 4500 {print \$2+0}" /tmp/w_iops.1.log' | sort -n | tr '\n' ' ')
	after=$(rig_exec 1 'awk -F, "\$1 > 5000 && \$1 <= 11500 {print \$2+0}" /tmp/w_iops.1.log' | sort -n | tr '\n' ' ')
	echo "IOPS per 500 ms before the kill: $before"
	echo "IOPS per 500 ms after the kill:  $after"
	med=$(echo "$before" | awk '{ m = int(NF / 2) + 1; print $m }')
	min=$(echo "$after" | awk '{ print $1 }')
	[ -n "$med" ] && [ -n "$min" ] || fail "no IOPS log"
	[ "$min" -ge $((med / 4)) ] || fail "writes stalled after the follower died: $min < $med / 4"
	rig_boot 3 && rig_wait 3 || fail "node 3 did not reboot"
	write_res 3
	# the killed node's clean-shutdown mark: not clean, said again at up
	vm 3 'prbdctl show-md /dev/vda | grep -qx "shutdown: not clean.*"'
	vm 3 'modprobe prbd && prbdctl up r0'
	vm 3 'dmesg | grep -q "r0: the last run ended without a clean down"'
	wait_same 4096
}

# Opening the device read-write on a secondary moves leadership there,
# unless another node is primary; the last close makes it secondary again.
auto_promote() {
	local out
	out=$(rig_exec 3 'dd if=/dev/zero of=/dev/prbd0 bs=4k count=1 oflag=direct 2>&1') &&
		fail "node 3 opened the device read-write while node 2 is primary"
	echo "$out" | grep -q 'busy' || fail "unexpected error: $out"
	vm 2 'prbdctl secondary r0'
	vm 3 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=16 seek=300 oflag=direct 2>/dev/null'
	vm 3 'prbdctl status'
	[ "$(repl_field 3 paxos_role)" = leader ] || fail "node 3 is $(repl_field 3 paxos_role)"
	[ "$(repl_field 3 role)" = secondary ] || fail "node 3 stayed $(repl_field 3 role) after the close"
	repl_same 4096 2 3
}

no_warnings() { repl_no_warnings 2 3; }

ktap_run "3 nodes up, node 1 primary" setup
ktap_run "writes on the primary reach every replica" replicate
ktap_run "payloads relayed by a follower; with the followers cut off from each other they still arrive" relay
ktap_run "a follower killed under writes: no stall; it returns (its metadata: not shut down cleanly) and catches up; replicas identical" follower_catches_up
ktap_run "leader killed mid-write; node 2 promoted; every completed write intact" failover
ktap_run "writes continue on two nodes" writes_continue
ktap_run "read-write open on a secondary: EBUSY while another node is primary, else auto-promote" auto_promote
ktap_run "no kernel warnings on the survivors" no_warnings
rig_stop
ktap_finish
