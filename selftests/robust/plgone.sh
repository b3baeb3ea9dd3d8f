#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A payload the leader no longer has (PRBD_MSG_PLGONE).  A follower that
# dropped a DATA frame asks the leader for it again (robust/resend); if the
# leader's log released the slot meanwhile (the follower lagged past the
# retained log), the leader has it nowhere.  Before, it answered nothing:
# the follower asked every 200 ms for ever, its persist batch and every
# apply behind it stuck (issue 15: a learner's resync sat at 99%).  Now the
# leader answers PLGONE and the follower resyncs: the install takes it past
# the slot, the batch skips the records below it.  One 3-node group with a
# 1 MiB log, node 1 writing 1 MiB at a time without pause:
#
# - node 3 drops DROP (16) payloads (fi/prbd_fi.ko); the leader says some
#   are gone, node 3 resyncs, and within 120 s its applied index passes the
#   leader's commit index of the moment the drops were done;
# - the leader's writes go on all the while;
# - replicas agree; no BUG, WARNING, oops or hung task.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-120}
N=3
DROP=${PLGONE_DROP:-16}
# the smallest log: it wraps within the 500 ms a follower waits to ask
REPL_MD_OPTS="--log-size 1M"
REPL_HUNG_TASK_SECS=20

ktap_plan 4
build_fi
rig_start $N || ktap_bail "rig did not boot"

setup() {
	repl_start $N
	repl_debugfs $(seq 1 $N)
	repl_wait_quorum 1 true
	repl_holder 1 rw 256
	vm 1 'prbdctl status'
}

gone() {
	local i=3 t failed c0 a g w0 w1
	failed=$(fi_drop_payloads "$i" "$DROP") || exit 1
	vm "$i" 'rmmod prbd_fi'
	c0=$(repl_field 1 commit_index)
	echo "node $i dropped $failed payloads; leader commit index then: $c0"
	for t in $(seq 1 120); do
		a=$(repl_field "$i" applied_index)
		[ "${a:-0}" -gt "$c0" ] && [ "$(repl_field "$i" disk_state)" != inconsistent ] && break
		sleep 1
	done
	g=$(repl_payloads "$i" gone_seen)
	echo "after ${t} s: node $i applied $a (disk $(repl_field "$i" disk_state)), leader commit $(repl_field 1 commit_index)"
	echo "node $i asked again for $(repl_payloads "$i" asked) payloads; node 1 resent $(repl_payloads 1 resent), said gone for $(repl_payloads 1 gone_sent); node $i heard gone $g times"
	rig_exec "$i" 'dmesg | grep -E "no longer has|resync|not logged" | tail -n 8' || true
	[ "${g:-0}" -gt 0 ] || fail "the leader never said a payload was gone: its log did not release the slots node $i asked for (the case did not happen)"
	[ "${a:-0}" -gt "$c0" ] || fail "node $i applies nothing past slot $a: stuck on a payload gone at the leader"
	w0=$(repl_field 1 commit_index)
	sleep 3
	w1=$(repl_field 1 commit_index)
	echo "leader commit index $w0 -> $w1 in 3 s"
	[ "$w1" -gt "$w0" ] || fail "the leader's writes stopped"
}

replicas() {
	repl_holder_stop 1
	repl_same 4096 1 2 3
}

no_warnings() { repl_no_warnings $(seq 1 $N); }

ktap_run "setup: 3 nodes up, 1 MiB logs, node 1 writes without pause" setup
ktap_run "node 3 drops $DROP payloads the leader's log releases: told they are gone, it resyncs and applies again" gone
ktap_run "replicas agree" replicas
ktap_run "no BUG, WARNING, oops or hung task in any guest" no_warnings
rig_stop
ktap_finish
