#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Membership changes from prbdctl, decided by Paxos configuration entries.
# Four VMs: nodes 1-3 are the voters, node 4 is listed in every resource
# file with "role = none" and waits outside the group.  learner-add, then
# node-add (promotion) under a checked writer; a learner is never counted
# in a majority; every refusal prints its message and changes nothing;
# leader-transfer (the longest write stall is printed); node-del of the
# leader; verify is clean at the end.  prbdctl events runs on the leader,
# two followers (one with --json) and the learner across node-add: each
# prints the promotion's configuration entry chosen, then applied, once.
#
# MEMBER_DISK_SIZE (256M) sizes the disks (MEMBER_DISK_SIZE=1G: the 1 GiB
# learner of the issue, several minutes more); MEMBER_WRITES (3000) the
# checked writer's length.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_DISK_SIZE=${MEMBER_DISK_SIZE:-256M}
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}
WRITES=${MEMBER_WRITES:-3000}
# a small log: node 4 joins behind its truncation point and gets a resync
REPL_MD_OPTS="--log-size 4M"
BLOCKS=4096
# node 4 waits outside the group
REPL_OUTSIDE=4

N=4
ktap_plan 12
rig_start $N || ktap_bail "rig did not boot"

setup() {
	repl_up $N
	# zeros where the checked writers write, more beyond: past the 4M log
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=16 oflag=direct 2>/dev/null &&
		dd if=/dev/urandom of=/dev/prbd0 bs=1M count=16 seek=16 oflag=direct 2>/dev/null'
	repl_wait_cfg 1 1,2,3 -
	repl_wait_cfg 4 1,2,3 -
	vm 1 'prbdctl status'
	vm 4 'prbdctl status'
}

refusals_before() {
	repl_refuse 1 'prbdctl node-add r0 9' 'neither the local node nor a peer'
	repl_refuse 1 'prbdctl node-add r0 2' 'node 2 is already a voter'
	repl_refuse 1 'prbdctl learner-add r0 3' 'node 3 is already a voter'
	repl_refuse 1 'prbdctl node-del r0 4' 'node 4 is not a member'
	repl_refuse 1 'prbdctl leader-transfer r0 4' 'node 4 is not a voter'
	repl_refuse 2 'prbdctl learner-add r0 4' 'run learner-add on node 1, the leader'
}

WLOG=/tmp/member-w.log
WLOG2=/tmp/member-w2.log

learner_add() {
	local t0 t1 t
	vm 1 "prbd-blkcheck write /dev/prbd0 $BLOCKS $WRITES 11 4 > $WLOG 2>&1 &"
	sleep 3
	t0=$(date +%s%N)
	echo "$t0" > "$RIG_DIR/t_learner"
	vm 1 'prbdctl learner-add r0 4'
	repl_wait_cfg 1 1,2,3 4 30
	repl_wait_cfg 4 1,2,3 4 60
	# whole: the leader sees it up to date (after a bulk resync)
	for t in $(seq 1 300); do
		rig_exec 1 'prbdctl status' 2>/dev/null | grep 'peer 4 .*up-to-date' >/dev/null && break
		sleep 1
	done
	rig_exec 1 'prbdctl status' | grep 'peer 4 .*up-to-date' ||
		fail "learner 4 not up to date: $(rig_exec 1 'prbdctl status')"
	t1=$(date +%s%N)
	echo "learner 4 whole $(( (t1 - t0) / 1000000 )) ms after learner-add ($RIG_DISK_SIZE disk)"
	vm 4 'dmesg | grep -E "resync|removed|learner" | tail -5 || true'
}

learner_no_vote() {
	local c1 c2 t
	# the first writer ends and is checked; a second one runs on
	for t in $(seq 1 240); do
		rig_exec 1 "pidof prbd-blkcheck >/dev/null" || break
		sleep 1
	done
	rig_exec 1 "prbd-blkcheck check /dev/prbd0 $BLOCKS 11 4 < $WLOG" ||
		fail "completed writes damaged"
	echo "first writer: $(rig_exec 1 "grep -c '^ok ' $WLOG") writes completed and intact"
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=16 oflag=direct 2>/dev/null'
	vm 1 "prbd-blkcheck write /dev/prbd0 $BLOCKS 100000000 13 1 > $WLOG2 2>&1 &"
	sleep 4
	# 3 voters + 1 learner, two voters stopped: no majority, writes stop
	rig_pause 2
	rig_pause 3
	sleep 2
	c1=$(rig_exec 1 "grep -c '^ok ' $WLOG2" 2>/dev/null || true)
	sleep 6
	c2=$(rig_exec 1 "grep -c '^ok ' $WLOG2" 2>/dev/null || true)
	echo "voters 2, 3 stopped (learner 4 up): $c1 then $c2 writes completed 6 s later"
	rig_resume 2
	rig_resume 3
	[ "$c1" -gt 0 ] || fail "the writer completed nothing before"
	[ $((c2 - c1)) -le 1 ] || fail "writes complete with 1 voter of 3 and a learner"
	sleep 8
	c1=$(rig_exec 1 "grep -c '^ok ' $WLOG2" 2>/dev/null || true)
	echo "voters back: $c1 writes completed"
	[ "$c1" -gt "$c2" ] || fail "writes did not resume"
}

refusal_quorum() {
	# 3 voters, node 3 stopped: removing live voter 2 would leave {1,3}
	# with one of them alive
	rig_pause 3
	sleep 2
	repl_refuse 1 'prbdctl node-del r0 2' 'without a majority'
	rig_resume 3
	sleep 2
}

# config-ntf listeners across node-add: the leader (1), followers 2 and
# 3 (--json) and the learner being promoted (4)
EVLOG=/tmp/cfgev.log
EVNODES="1 2 3 4"

events_start() {
	local i json
	for i in $EVNODES; do
		json=""
		[ "$i" = 3 ] && json="--json"
		vm "$i" "prbdctl $json events --timeout 900 > $EVLOG 2>&1 & echo \$! > $EVLOG.pid"
	done
	sleep 1
}

promote() {
	local t1
	events_start
	# node 4 paused: the promotion waits for it, in flight
	rig_pause 4
	sleep 1
	vm 1 'prbdctl node-add r0 4'
	vm 1 'prbdctl status | grep config'
	repl_refuse 1 'prbdctl node-del r0 3' 'membership change is in flight (node-add of node 4)'
	repl_refuse 1 'prbdctl node-del r0 2' 'in flight'
	rig_resume 4
	repl_wait_cfg 1 1,2,3,4 - 120
	t1=$(date +%s%N)
	echo "node 4 a voter $(( (t1 - $(cat "$RIG_DIR/t_learner")) / 1000000 )) ms after learner-add (incl. ~1 s paused)"
	repl_wait_cfg 4 1,2,3,4 - 30
	vm 1 'dmesg | grep -E "configuration|node 4" | tail -6'
}

# cfg_ev_lines I EVENT EPOCH: node I's config-ntf lines of that event
# and epoch with the 4 voters (text; node 3: JSON)
cfg_ev_lines() {
	local re
	if [ "$1" = 3 ]; then
		re="\"type\":\"config\",\"event\":\"$2\",\"resource\":\"r0\",\"epoch\":$3,\"voters\":\[1,2,3,4\],\"learners\":\[\]"
	else
		re=" config r0 $2 epoch $3 voters 1,2,3,4 learners - change "
	fi
	rig_exec "$1" "cat $EVLOG" 2>/dev/null | grep -n -- "$re" || true
}

# every listener printed the promotion's entry chosen, then applied, once
config_events() {
	local e i t c a nc na bad=""
	e=$(repl_cfg 1 | sed -n 's/^epoch \([0-9]*\) .*/\1/p')
	[ -n "$e" ] && [ "$e" -gt 0 ] || fail "no epoch in node 1's status: '$(repl_cfg 1)'"
	echo "node-add of node 4 chose configuration epoch $e"
	for i in $EVNODES; do
		for t in $(seq 1 20); do
			[ -n "$(cfg_ev_lines "$i" applied "$e")" ] && break
			sleep 1
		done
		echo "node $i:"
		rig_exec "$i" "grep -E ' config r0 |\"type\":\"config\"' $EVLOG" 2>/dev/null | sed 's/^/  /' || true
		c=$(cfg_ev_lines "$i" chosen "$e")
		a=$(cfg_ev_lines "$i" applied "$e")
		# grep -c exits 1 on no line: the assignment would end the case
		nc=$(echo "$c" | grep -c . || true)
		na=$(echo "$a" | grep -c . || true)
		[ "$nc" = 1 ] ||
			bad="$bad; node $i: $nc chosen lines for epoch $e"
		[ "$na" = 1 ] ||
			bad="$bad; node $i: $na applied lines for epoch $e"
		[ -z "$c" ] || [ -z "$a" ] || [ "${c%%:*}" -lt "${a%%:*}" ] ||
			bad="$bad; node $i: applied before chosen"
	done
	# the leader ran the command: it names it
	cfg_ev_lines 1 chosen "$e" | grep -- 'change node-add node 4$' >/dev/null ||
		bad="$bad; node 1: chosen line does not name node-add of node 4"
	cfg_ev_lines 2 chosen "$e" | grep -- 'change -$' >/dev/null ||
		bad="$bad; node 2: a follower names a change"
	for i in $EVNODES; do
		rig_exec "$i" "kill \$(cat $EVLOG.pid)" 2>/dev/null || true
	done
	[ -z "$bad" ] || fail "config-ntf${bad}"
}

stop_writer() {
	rig_exec 1 'kill $(pidof prbd-blkcheck); sleep 1; kill $(pidof prbd-blkcheck) 2>/dev/null' || true
	sleep 2
	rig_exec 1 "prbd-blkcheck check /dev/prbd0 $BLOCKS 13 1 < $WLOG2" ||
		fail "completed writes damaged"
	echo "second writer: $(rig_exec 1 "grep -c '^ok ' $WLOG2") writes completed and intact"
}

transfer() {
	local leader gaps
	repl_refuse 1 "sh -c 'prbd-blkcheck write /dev/prbd0 $BLOCKS 300 12 > /dev/null & sleep 0.5; prbdctl leader-transfer r0 2; r=\$?; wait; exit \$r'" \
		'open read-write on this node'
	# writes keep coming from node 1, one open each (auto-promote); the
	# transfer slips in between two of them and the next open takes the
	# leadership back
	vm 1 "rm -f /tmp/ts; (for i in \$(seq 1 150); do dd if=/dev/urandom of=/dev/prbd0 bs=4k count=1 seek=\$((i % 1000)) oflag=direct 2>/dev/null && cut -d\" \" -f1 /proc/uptime >> /tmp/ts; sleep 0.05; done) > /dev/null 2>&1 &"
	sleep 3
	vm 1 'for t in $(seq 1 100); do prbdctl leader-transfer r0 2 2>/dev/null && { echo accepted; break; }; sleep 0.05; done'
	sleep 1
	for t in $(seq 1 60); do
		[ "$(rig_exec 1 'wc -l < /tmp/ts')" -ge 150 ] && break
		sleep 1
	done
	sleep 2
	vm 1 'dmesg | grep -E "leadership (handed|transfer)" | tail -3'
	rig_exec 1 'dmesg' | grep 'leadership handed to node 2' >/dev/null ||
		fail "node 2 never took over"
	gaps=$(rig_exec 1 'awk "NR > 1 { d = (\$1 - p) * 1000; if (d > m) m = d } { p = \$1 } END { printf \"%d %d\", m, NR }" /tmp/ts')
	echo "writes from node 1 across leader-transfer to node 2 (and auto-promote back): longest gap between completions ${gaps% *} ms over ${gaps#* } writes (50 ms pause between writes)"
	[ "${gaps#* }" -ge 100 ] || fail "writes failed during the transfer"
	[ "${gaps% *}" -lt 10000 ] || fail "write stall of ${gaps% *} ms"
}

del_leader() {
	local l other t
	for t in $(seq 1 20); do
		l=$(repl_field 1 leader_id)
		[ -n "$l" ] && [ "$l" != 0 ] && break
		sleep 1
	done
	echo "leader: node $l"
	other=$(( l % 4 + 1 ))
	vm "$l" "prbdctl node-del r0 $l"
	local want
	want=$(echo 1 2 3 4 | tr ' ' '\n' | grep -v "^$l\$" | paste -sd,)
	repl_wait_cfg "$other" "$want" - 60
	for t in $(seq 1 20); do
		rig_exec "$l" 'prbdctl status' | grep 'removed from the group at slot' >/dev/null && break
		sleep 1
	done
	vm "$l" 'prbdctl status'
	rig_exec "$l" 'prbdctl status' | grep 'removed from the group at slot' >/dev/null ||
		fail "node $l does not report its removal"
	local NEWL
	for t in $(seq 1 20); do
		NEWL=$(repl_field "$other" leader_id)
		[ -n "$NEWL" ] && [ "$NEWL" != 0 ] && [ "$NEWL" != "$l" ] && break
		sleep 1
	done
	echo "$NEWL" > "$RIG_DIR/newl"
	echo "new leader: node $NEWL; config on node $other: $(repl_cfg "$other")"
	repl_refuse "$NEWL" "prbdctl node-del r0 $l" "node $l is not a member"
	echo "$want" | tr , ' ' > "$RIG_DIR/rest"
	echo "$l" > "$RIG_DIR/removed"
}

# Every check of removed_restart runs: a miss is noted in $RIG_DIR/bad
# and the case fails at its end, so the log shows them all
miss() {
	echo "MISS: $*"
	echo "$*" >> "$RIG_DIR/bad"
}

# removed_now I SLOT WHEN: right after its up, node I says it was removed
# at SLOT and refuses primary and a read-write open with EPERM
removed_now() {
	local i=$1 s=$2 out rc
	vm "$i" 'prbdctl status | head -n 5'
	rig_exec "$i" 'prbdctl status' | grep "removed from the group at slot $s" >/dev/null ||
		miss "$3: node $i does not say at once it was removed at slot $s"
	rc=0
	out=$(rig_exec "$i" 'prbdctl primary r0' 2>&1) || rc=$?
	echo "$3: node $i: prbdctl primary r0 -> exit $rc: $out"
	[ $rc -ne 0 ] && echo "$out" | grep 'this node was removed from the group' >/dev/null ||
		miss "$3: node $i: primary not refused as removed (exit $rc)"
	rc=0
	out=$(rig_exec "$i" 'dd if=/dev/zero of=/dev/prbd0 bs=4k count=1 oflag=direct 2>&1') || rc=$?
	echo "$3: node $i: read-write open -> exit $rc: $out"
	[ $rc -ne 0 ] && echo "$out" | grep 'Operation not permitted' >/dev/null ||
		miss "$3: node $i: read-write open not refused with EPERM (exit $rc)"
	rig_exec "$i" 'prbdctl status' | grep -q 'role primary' &&
		miss "$3: node $i is primary"
	return 0
}

# removed_quiet I LEADER C0 WHEN: node I does not campaign: LEADER logged
# C0 "node I campaigns" lines before node I's up, and no more 8 s (16
# election timeouts) after it
removed_quiet() {
	local c
	sleep 8
	c=$(dmesg_count "$2" "node $1 campaigns")
	echo "$4: leader $2 logged $c 'node $1 campaigns' lines ($3 before)"
	[ "$c" = "$3" ] ||
		miss "$4: node $1 campaigned: $(rig_exec "$2" "dmesg | grep 'node $1 campaigns' | tail -n 1")"
	rig_exec "$1" 'prbdctl status' | grep 'removed from the group at slot' >/dev/null ||
		miss "$4: node $1 does not say it was removed 8 s later"
	return 0
}

# The removed node restarts: down and up, then its VM is killed and
# booted again.  Its acceptor state holds removed_at (issue 15): at once,
# with no word from the leader, it says it was removed, refuses primary and
# a read-write open, and never campaigns.
removed_restart() {
	local l NEWL s c0
	l=$(cat "$RIG_DIR/removed")
	NEWL=$(cat "$RIG_DIR/newl")
	rm -f "$RIG_DIR/bad"
	s=$(rig_exec "$l" 'prbdctl status' | sed -n 's/.*removed from the group at slot \([0-9]*\).*/\1/p')
	[ -n "$s" ] || fail "node $l does not report its removal before the restart"
	echo "node $l removed at slot $s; leader node $NEWL"
	c0=$(dmesg_count "$NEWL" "node $l campaigns")
	# down: the disk is free; its metadata says so (the page cache of
	# /dev/vda may hold what create-md wrote, before the module's writes)
	vm "$l" 'prbdctl down r0 && echo 3 > /proc/sys/vm/drop_caches && prbdctl show-md /dev/vda | grep -E "acceptor slot|removed" || true'
	rig_exec "$l" 'prbdctl show-md /dev/vda' | grep "removed from the group at slot $s" >/dev/null ||
		miss "node $l's metadata does not hold its removal at slot $s"
	vm "$l" 'prbdctl up r0'
	removed_now "$l" "$s" "down/up"
	removed_quiet "$l" "$NEWL" "$c0" "down/up"
	c0=$(dmesg_count "$NEWL" "node $l campaigns")
	rig_crash "$l"
	rig_boot "$l" && rig_wait "$l" || fail "node $l did not reboot"
	repl_write_res "$l" $N
	vm "$l" 'modprobe prbd && prbdctl up r0'
	removed_now "$l" "$s" "VM killed and rebooted"
	removed_quiet "$l" "$NEWL" "$c0" "VM killed and rebooted"
	[ ! -s "$RIG_DIR/bad" ] || fail "$(wc -l < "$RIG_DIR/bad") checks missed: $(paste -sd';' "$RIG_DIR/bad")"
}

final() {
	local NEWL
	NEWL=$(cat "$RIG_DIR/newl")
	vm "$NEWL" 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=64 seek=7 oflag=direct 2>/dev/null'
	# shellcheck disable=SC2046
	repl_same $BLOCKS $(cat "$RIG_DIR/rest")
	vm "$NEWL" 'prbdctl verify r0'
	repl_no_warnings 1 2 3 4
}

ktap_run "setup: 3 voters, node 4 waiting outside the group" setup
ktap_run "refusals: unknown, duplicate, not a member, not a voter, not the leader" refusals_before
ktap_run "learner-add under a checked writer: log tail and bulk resync" learner_add
ktap_run "first writer intact; a learner is not counted in a majority" learner_no_vote
ktap_run "a change leaving the live voters without a majority is refused" refusal_quorum
ktap_run "node-add promotes the learner; changes in flight refused" promote
ktap_run "prbdctl events on 4 nodes: the entry chosen, then applied, once each" config_events
ktap_run "every completed write intact" stop_writer
ktap_run "leader-transfer under writes: refused while open here, stall measured" transfer
ktap_run "node-del of the leader hands over first; verify clean" del_leader
ktap_run "the removed node restarted (down/up, VM killed): still removed at once, refuses primary, never campaigns" removed_restart
ktap_run "replicas identical, verify clean, no kernel warnings" final
ktap_finish
