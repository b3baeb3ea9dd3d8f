#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A backing-device I/O error under one node (review defect 9 of issue 14):
# DRBD's on-io-error detach.  Every node's disk is /dev/mapper/pd, a
# device-mapper linear map over /dev/vda; a node's disk fails when its
# table becomes an "error" target.  Node 1 is primary and writes without
# pause (one 64 KiB O_DIRECT dd after another, each result logged).
#
# - a follower's disk fails (node 3): it reports "disk failed", stops
#   voting, its reads fail with EIO at once; node 1's writes go on (nodes
#   1 and 2 are a majority), none fails; down completes; with its disk
#   back (linear again) it comes up and catches up;
# - the leader's disk fails (node 1): its writes fail with EIO within
#   seconds (before: they hung for good, and node 1 kept leading); it
#   reports "disk failed" and no longer leads; nodes 2 and 3 elect a
#   leader, node 2 is made primary and writes; down completes;
# - with its disk back, node 1 comes up again and catches up: the replicas
#   agree; no BUG, WARNING, oops or hung task.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-120}
RIG_APPEND="${RIG_APPEND:-} slub_debug=P"
N=3

ktap_plan 5
rig_start $N || ktap_bail "rig did not boot"

# table I linear|error: node I's disk works or fails
table() {
	quick "$1" 30 "export DM_DISABLE_UDEV=1
		t=\"0 \$(blockdev --getsz /dev/vda) $2\"
		[ $2 = linear ] && t=\"\$t /dev/vda 0\"
		dmsetup suspend pd && dmsetup reload pd --table \"\$t\" && dmsetup resume pd" >/dev/null
}

# (no pipe into head or grep -q: under pipefail a SIGPIPE ends the case)
status() {
	local out
	out=$(quick "$1" 30 'prbdctl status') || return
	head -n 3 <<< "$out"
}

disk_failed() { grep -q 'disk failed' <<< "$(quick "$1" 30 'prbdctl status')"; }

# writer I: write without pause on node I; /tmp/w.log gets "ok|err N secs"
writer() {
	vm "$1" 'rm -f /tmp/w.log /tmp/w.stop /tmp/w.done'
	rig_exec_bg "$1" 'i=0
while [ ! -e /tmp/w.stop ]; do
	i=$((i + 1))
	if dd if=/dev/urandom of=/dev/prbd0 bs=64k count=1 seek=$((RANDOM % 2000)) oflag=direct 2>/dev/null; then
		echo "ok $i $(date +%s)"
	else
		echo "err $i $(date +%s)"; sleep 0.2
	fi >> /tmp/w.log
done
echo done > /tmp/w.done' >/dev/null
}

# writer_stop I: the writer ends within 30 s (no write hangs)
writer_stop() {
	local t
	vm "$1" 'touch /tmp/w.stop'
	for t in $(seq 1 30); do
		[ "$(rig_exec "$1" 'cat /tmp/w.done 2>/dev/null')" = done ] && return 0
		sleep 1
	done
	fail "vm$1: the writer did not end within 30 s: a write hangs (last: $(rig_exec "$1" 'tail -n 1 /tmp/w.log'))"
}

count() { rig_exec "$1" "grep -c '^$2 ' /tmp/w.log 2>/dev/null" || true; }

setup() {
	local i
	for i in $(seq 1 $N); do
		vm "$i" "modprobe dm-mod && export DM_DISABLE_UDEV=1 &&
			dmsetup create pd --table \"0 \$(blockdev --getsz /dev/vda) linear /dev/vda 0\""
		vm "$i" "mkdir -p /etc/prbd.d && cat > /etc/prbd.d/r0.res <<'EOF'
$(repl_res $N | sed 's|^disk = .*|disk = /dev/mapper/pd|')
EOF
chmod 600 /etc/prbd.d/r0.res"
		vm "$i" 'modprobe prbd && prbdctl create-md r0 >/dev/null && prbdctl up r0'
	done
	repl_promote 1
	writer 1
	sleep 3
	[ "$(count 1 ok)" -gt 0 ] || fail "node 1 completes no write"
}

follower_fails() {
	local c0 c1 e0 e1 rc=0
	e0=$(count 1 err)
	table 3 error
	# a write or two reach node 3's log: it fails them, detaches
	sleep 8
	c0=$(count 1 ok)
	sleep 8
	c1=$(count 1 ok) e1=$(count 1 err)
	echo "node 1 completed $((c1 - c0)) writes in the 8 s after node 3's disk failed; failed $((e1 - e0))"
	status 3
	disk_failed 3 || fail "node 3 does not report its disk failed"
	[ $((c1 - c0)) -ge 5 ] || fail "node 1's writes stall with node 3's disk failed"
	[ "$e1" -eq "$e0" ] || fail "node 1's writes fail with node 3's disk failed"
	quick 3 30 'dd if=/dev/prbd0 of=/dev/null bs=4k count=1 iflag=direct 2>&1' || rc=$?
	[ $rc -ne 0 ] || fail "a read on node 3 succeeded from a failed disk"
	quick 3 60 'prbdctl down r0' || fail "down on node 3 failed"
	# its disk back: it comes up and catches up (the next case needs it)
	table 3 linear
	quick 3 60 'prbdctl up r0' || fail "node 3 does not come up again"
	repl_wait_quorum 3 true
	status 3
}

leader_fails() {
	local t e0 rc=0
	e0=$(count 1 err)
	table 1 error
	for t in $(seq 1 40); do
		[ "$(count 1 err)" -gt "$e0" ] && break
		sleep 1
	done
	echo "node 1's first failed write $t s after its disk failed; $(count 1 ok) completed in all"
	rig_exec 1 'tail -n 3 /tmp/w.log'
	[ "$(count 1 err)" -gt "$e0" ] || fail "node 1's writes neither complete nor fail 40 s after its disk failed (hang)"
	writer_stop 1
	status 1
	disk_failed 1 || fail "node 1 does not report its disk failed"
	repl_wait_quorum 2 true
	[ "$(repl_field 1 paxos_role)" != leader ] || fail "node 1 still leads"
	repl_promote 2
	quick 2 60 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=64 oflag=direct 2>&1' ||
		fail "node 2 cannot write after taking over"
	echo "node 2 leads: $(repl_field 2 leader_id)"
	quick 1 30 'dd if=/dev/urandom of=/dev/prbd0 bs=4k count=1 oflag=direct 2>&1' || rc=$?
	[ $rc -ne 0 ] || fail "a write on node 1 succeeded on a failed disk"
	quick 1 60 'prbdctl secondary r0; prbdctl down r0' || fail "down on node 1 failed"
}

back() {
	table 1 linear
	quick 1 60 'prbdctl up r0' || fail "node 1 does not come up again"
	quick 2 60 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=16 oflag=direct 2>&1'
	repl_same 2048 1 2 3
}

no_warnings() {
	local i
	for i in 1 3; do
		rig_exec "$i" 'dmesg | grep -E "prbd: r0: (backing device failed|failing I/O)" | head -n 2'
	done
	repl_no_warnings $(seq 1 $N)
}

ktap_run "setup: 3 nodes on device-mapper disks, node 1 primary and writing" setup
ktap_run "a follower's disk fails: it detaches, the leader's writes go on; back with its disk" follower_fails
ktap_run "the leader's disk fails: its writes fail with EIO, never hang; another node takes over" leader_fails
ktap_run "the leader's disk back: it comes up, catches up, replicas agree" back
ktap_run "no BUG, WARNING, oops or hung task in any guest" no_warnings
rig_stop
ktap_finish
