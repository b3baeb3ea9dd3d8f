#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The leader cut off into a minority: its writes stop completing (no split
# brain); the majority elects a leader, is made primary and goes on
# writing; after the heal the old leader's blocked writes fail (the other
# node is primary now), it rejoins as a follower and catches up from the
# new leader's log history, and all replicas hold the same bytes.  Then a
# node with the wrong secret, and one of another cluster, are refused, and
# the on-no-quorum io-error policy fails writes at once without quorum.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}

ktap_plan 8
rig_start 3 || ktap_bail "rig did not boot"

BLOCKS=2048		# region of node 1's checked writes (8 MiB)
SEEK2=4096		# node 2 writes 4 KiB blocks from here (16 MiB on)
COUNT2=600		# ... this many: far more than the core's 64-slot window
LOG1=$RIG_DIR/blkcheck1.log

setup() {
	repl_up 3
	vm 1 "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$(((SEEK2 + COUNT2) / 256 + 1)) oflag=direct 2>/dev/null"
	repl_same $((SEEK2 + COUNT2)) 1 2 3
}

# completed writes of node 1's writer so far
done1() { rig_exec 1 'grep -c "^ok " /tmp/w1.log' 2>/dev/null || true; }

minority_stalls() {
	local c1
	vm 1 "rm -f /tmp/w1.log"
	rig_exec_bg 1 "prbd-blkcheck write /dev/prbd0 $BLOCKS 1000000 11 4 > /tmp/w1.log 2>&1; echo exit \$? >> /tmp/w1.log" > "$RIG_DIR/bg1.pid"
	sleep 6
	c1=$(done1)
	[ "$c1" -gt 10 ] || fail "too few writes before the cut: $c1"
	rig_isolate 1
	echo "node 1 cut off after $c1 completed writes"
	# it notices within two election timeouts (check-quorum); then at most
	# the 4 writes in flight, chosen before the cut, may complete late
	repl_no_completions 1 /tmp/w1.log 4
}

majority_continues() {
	repl_promote 2
	vm 2 'prbdctl status'
	vm 2 "dd if=/dev/urandom of=/dev/prbd0 bs=4k count=$COUNT2 seek=$SEEK2 oflag=direct 2>/dev/null"
	# node 1's completed writes survived the change of leader
	rig_exec 1 'grep "^ok " /tmp/w1.log' > "$LOG1" || true
	rig_put 2 "$LOG1" /tmp/blkcheck1.log
	vm 2 "prbd-blkcheck check /dev/prbd0 $BLOCKS 11 4 < /tmp/blkcheck1.log"
}

old_leader_rejoins() {
	local t
	rig_rejoin 1
	for t in $(seq 1 60); do
		rig_exec 1 'grep -q "^exit" /tmp/w1.log' 2>/dev/null && break
		sleep 1
	done
	vm 1 'tail -n 2 /tmp/w1.log'
	vm 1 'grep -q "^exit" /tmp/w1.log' || fail "node 1's writer still blocked 60 s after the heal"
	vm 1 'dmesg | grep -E "leadership ended|failing I/O|refused|catches up" | tail -n 8 || true'
	vm 2 'dmesg | grep -E "refused|catches up from history" | tail -n 4'
	vm 1 'prbdctl secondary r0 && prbdctl status'
	[ "$(repl_field 1 paxos_role)" = follower ] || fail "node 1 is $(repl_field 1 paxos_role)"
	[ "$(repl_field 1 leader_id)" = 2 ] || fail "node 1 follows $(repl_field 1 leader_id)"
}

replicas_identical() {
	repl_same $((SEEK2 + COUNT2)) 1 2 3
	# and the catch-up came from the history, not a resync
	[ "$(repl_field 1 disk_state)" = attached ] || fail "node 1 disk is $(repl_field 1 disk_state)"
}

# down node 3, bring it back with FILE ARGS, expect the peers to refuse it
refused() {
	local what=$1 t
	shift
	vm 3 'prbdctl down r0'
	repl_write_res 3 3 "$@"
	vm 3 'prbdctl create-md --force r0 >/dev/null && prbdctl up r0'
	sleep 4
	vm 2 "dmesg | grep -iE 'node 3|handshake' | tail -n 3 || true"
	for t in 1 2 3; do
		rig_exec 3 'prbdctl status' | grep -q ' connected ' &&
			fail "node 3 with $what got connected"
		sleep 1
	done
	# the group goes on without it
	vm 2 'dd if=/dev/urandom of=/dev/prbd0 bs=4k count=50 seek=8000 oflag=direct 2>/dev/null'
}

wrong_secret() { refused "a wrong secret" not-the-secret; }
wrong_cluster() { refused "another cluster's uuid" "" 11111111-2222-4333-8444-555555555555; }
wrong_ids() { wrong_secret; wrong_cluster; }

# on-no-quorum io-error: the primary cut off fails writes at once; after
# the heal it leads again (the other node is not primary) and writes work
io_error_policy() {
	local out
	vm 2 'prbdctl set r0 --on-no-quorum io-error && prbdctl status | grep -q "on-no-quorum io-error"'
	rig_isolate 2
	repl_wait_quorum 2 false
	out=$(rig_exec 2 'timeout 20 dd if=/dev/urandom of=/dev/prbd0 bs=4k count=1 seek=9000 oflag=direct 2>&1') &&
		fail "a write completed without quorum"
	echo "without quorum: $out"
	echo "$out" | grep -q "Input/output error" || fail "not an I/O error"
	rig_rejoin 2
	repl_wait_quorum 2 true
	vm 2 'dd if=/dev/urandom of=/dev/prbd0 bs=4k count=20 seek=9000 oflag=direct 2>/dev/null'
	vm 2 'prbdctl status | grep -E "paxos|role"'
}

no_warnings() { repl_no_warnings 1 2 3; }

ktap_run "3 nodes up, node 1 primary" setup
ktap_run "leader cut off into a minority stops completing writes, reports no quorum" minority_stalls
ktap_run "majority elects a leader, node 2 primary writes on; node 1's completed writes intact" majority_continues
ktap_run "after the heal the old leader's writes fail and it rejoins as follower" old_leader_rejoins
ktap_run "all three replicas identical, old leader caught up from log history" replicas_identical
ktap_run "a node with a wrong secret is refused; a node of another cluster too" wrong_ids
ktap_run "on-no-quorum io-error: a primary without quorum fails writes; leads again after the heal" io_error_policy
ktap_run "no kernel warnings" no_warnings
rig_stop
ktap_finish
