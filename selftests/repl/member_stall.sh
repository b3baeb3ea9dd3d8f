#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A node-del whose leader dies as soon as it knows the entry chosen
# (issue 15).  Four VMs, all voters, node 1 leads and removes node 4: the
# configuration entry at slot S is accepted by every node and chosen at
# node 1, which tells node 4 REMOVED and dies before nodes 2 and 3 learn
# that S is chosen.  prbd_fi.ko (robust/fi) makes that deterministic: on
# node 1, from the configuration entry on, every Paxos frame that would
# tell S chosen goes out with commit index S - 1 and no chosen flag from S
# on (the REMOVED frame is unchanged): nodes 2 and 3 keep following node
# 1 without learning S chosen, as long as we like; then node 1's VM is
# killed.  Nodes 2, 3 and 4 are live: the next leader runs Phase
# 1 in the old configuration {1,2,3,4}, finds S and must have it accepted
# again by 3 of 4 voters, node 4 included.  A removed node that stops
# voting at once (F_NOVOTE) stalls the group for good; one that stays a
# full acceptor until S is decided lets 2 and 3 move to {1,2,3} and write.
# Node 4 must still know it was removed: it refuses primary and commands
# and never campaigns, also once it restarted (down/up: the removal is in
# its acceptor state).
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_DISK_SIZE=${RIG_DISK_SIZE:-128M}
HERE=$SELFTESTS_DIR/robust
BLOCKS=2048

N=4
ktap_plan 7
build_fi
rig_start $N || ktap_bail "rig did not boot"

FI=/sys/module/prbd_fi/parameters

setup() {
	repl_up $N
	vm 1 "dd if=/dev/urandom of=/dev/prbd0 bs=1M count=8 oflag=direct 2>/dev/null"
	repl_wait_cfg 2 1,2,3,4 -
	repl_wait_cfg 3 1,2,3,4 -
	repl_wait_cfg 4 1,2,3,4 -
	rig_put 1 "$HERE/fi/prbd_fi.ko" /root/prbd_fi.ko
	vm 1 'insmod /root/prbd_fi.ko'
	vm 1 'prbdctl status | head -n 3'
}

leader_dies() {
	local t s
	vm 1 "echo 1 > $FI/hide_chosen"
	vm 1 'prbdctl node-del r0 4'
	for t in $(seq 1 30); do
		rig_exec 4 'prbdctl status' 2>/dev/null | grep 'removed from the group at slot' >/dev/null && break
		sleep 1
	done
	sleep 2
	s=$(rig_exec 1 "cat $FI/hide_slot")
	echo "node 1: configuration entry at slot $s, $(rig_exec 1 "cat $FI/hidden") frames that would tell it chosen altered"
	vm 1 'dmesg | grep -E "node-del|configuration epoch|prbd_fi" | tail -n 4'
	vm 4 'prbdctl status | grep -E "removed|config"'
	rig_exec 4 'prbdctl status' | grep "removed from the group at slot $s" >/dev/null ||
		fail "node 4 was not told it was removed at slot $s"
	# the scenario: only node 1 knows S chosen; 2 and 3 still follow it
	echo "node 2: $(repl_cfg 2), leader $(repl_field 2 leader_id); node 3: $(repl_cfg 3), leader $(repl_field 3 leader_id)"
	[ "$(repl_voters 2)" = 1,2,3,4 ] && [ "$(repl_voters 3)" = 1,2,3,4 ] ||
		fail "node 2 or 3 learned slot $s chosen: the scenario did not happen"
	[ "$(repl_field 2 leader_id)" = 1 ] && [ "$(repl_field 3 leader_id)" = 1 ] ||
		fail "node 2 or 3 no longer follows node 1"
	rig_crash 1
	echo "node 1 killed at $(date +%T)"
}

decided_again() {
	local t
	for t in $(seq 1 60); do
		[ "$(repl_voters 2)" = 1,2,3 ] && [ "$(repl_voters 3)" = 1,2,3 ] && break
		sleep 1
	done
	vm 2 'prbdctl status'
	vm 2 'dmesg | grep -E "prbd: r0: .*(lead|configuration)" | tail -n 4'
	echo "node 2: $(repl_cfg 2); node 3: $(repl_cfg 3) ($t s after the crash)"
	[ "$(repl_voters 2)" = 1,2,3 ] && [ "$(repl_voters 3)" = 1,2,3 ] ||
		fail "the removal was not decided again without node 1: the group stalls"
}

writes_resume() {
	local l t
	for t in $(seq 1 30); do
		l=$(repl_field 2 leader_id)
		[ "$l" = 2 ] || [ "$l" = 3 ] && break
		sleep 1
	done
	[ "$l" = 2 ] || [ "$l" = 3 ] || fail "no leader among nodes 2 and 3 (node 2 says '$l')"
	echo "leader: node $l"
	echo "$l" > "$RIG_DIR/newl"
	repl_promote "$l"
	quick "$l" 30 "dd if=/dev/urandom of=/dev/prbd0 bs=1M count=4 seek=1 oflag=direct 2>&1 | tail -n 1" ||
		fail "writes on node $l fail"
	repl_same $BLOCKS 2 3
}

removed_stays_out() {
	local l
	l=$(cat "$RIG_DIR/newl")
	vm 4 'prbdctl status | head -n 4'
	rig_exec 4 'prbdctl status' | grep 'removed from the group at slot' >/dev/null ||
		fail "node 4 no longer says it was removed"
	repl_refuse 4 'prbdctl primary r0' 'removed from the group'
	repl_refuse 4 'prbdctl node-del r0 2' 'this node was removed from the group'
	if rig_exec 4 'prbdctl status' | grep 'role primary' >/dev/null; then
		fail "node 4 is primary"
	fi
	rig_exec 4 'prbdctl status' | grep 'paxos follower' >/dev/null ||
		fail "node 4 is not a follower: $(rig_exec 4 'prbdctl status' | grep paxos)"
	[ "$(dmesg_count "$l" 'node 4 campaigns')" = 0 ] ||
		fail "node 4 campaigns: $(rig_exec "$l" 'dmesg | grep "node 4 campaigns" | tail -n 2')"
	repl_refuse "$l" 'prbdctl node-del r0 4' 'node 4 is not a member'
}

# Node 4 restarts (down, up): its removal is in its acceptor state (issue
# 15), so at once, with no word from the leader, it says so and refuses
# primary, and it never campaigns.  Every check runs; misses fail the case
# at its end.
restarted() {
	local l s c0 c out rc=0 bad=""
	l=$(cat "$RIG_DIR/newl")
	s=$(rig_exec 4 'prbdctl status' | sed -n 's/.*removed from the group at slot \([0-9]*\).*/\1/p')
	[ -n "$s" ] || fail "node 4 does not say it was removed before the restart"
	c0=$(dmesg_count "$l" 'node 4 campaigns')
	vm 4 'prbdctl down r0 && prbdctl up r0'
	vm 4 'prbdctl status | head -n 5'
	rig_exec 4 'prbdctl status' | grep "removed from the group at slot $s" >/dev/null ||
		bad="$bad; node 4 does not say at once it was removed at slot $s"
	out=$(rig_exec 4 'prbdctl primary r0' 2>&1) || rc=$?
	echo "node 4: prbdctl primary r0 -> exit $rc: $out"
	[ $rc -ne 0 ] && echo "$out" | grep 'this node was removed from the group' >/dev/null ||
		bad="$bad; primary not refused as removed (exit $rc)"
	sleep 8
	c=$(dmesg_count "$l" 'node 4 campaigns')
	echo "leader $l logged $c 'node 4 campaigns' lines ($c0 before node 4's up, 8 s after it)"
	[ "$c" = "$c0" ] || bad="$bad; node 4 campaigned after its up"
	[ -z "$bad" ] || fail "${bad#; }"
}

final() {
	repl_no_warnings 2 3 4
}

ktap_run "setup: 4 voters, node 1 leads, prbd_fi.ko on node 1" setup
ktap_run "node-del of node 4 chosen at node 1 only; node 4 told; node 1 dies" leader_dies
ktap_run "nodes 2 and 3 decide the removal again with node 4's vote" decided_again
ktap_run "writes resume on the new leader; replicas agree" writes_resume
ktap_run "node 4 stays removed: refuses primary and commands, never campaigns" removed_stays_out
ktap_run "node 4 restarted (down/up): still removed at once, refuses primary, never campaigns" restarted
ktap_run "no kernel warnings" final
ktap_finish
