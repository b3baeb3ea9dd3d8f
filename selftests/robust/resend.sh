#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A dropped DATA payload is sent again (review defect 6 of issue 14).
# A follower that finds no memory for a received DATA frame drops it
# (fi/prbd_fi.ko fails prbd_pl_alloc()); the accept that names it then
# cannot be logged.  Before, nothing ever sent it again: the follower's
# persist batch retried for ever, it stopped acknowledging and applying
# (its match index on the leader froze) while the other two went on, and
# its replica fell behind for good.  Now it asks the leader for the
# payload (PRBD_MSG_PLREQ) and the leader sends it again.  One 3-node
# group, node 1 writing without pause (auto-promoted by a read-write open):
#
# - node 2 drops RS_DROP (4) payloads; within 20 s its applied index and
#   its match index on the leader pass the leader's commit index of the
#   moment the drops were done, and the leader's writes still complete;
# - the same with node 3, a larger burst (RS_DROP * 4);
# - replicas agree; no BUG, WARNING, oops or hung task.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-120}
N=3
DROP=${RS_DROP:-4}
REPL_HUNG_TASK_SECS=20

ktap_plan 5
build_fi
rig_start $N || ktap_bail "rig did not boot"

# match I P: peer P's match index in node I's status
match() {
	rig_exec "$1" 'prbdctl status' 2>/dev/null |
		sed -n "s/^  peer $2 .* match \([0-9]*\) .*/\1/p"
}

setup() {
	repl_start $N
	repl_debugfs $(seq 1 $N)
	repl_wait_quorum 1 true
	# node 1 writes 1 MiB at a time, at one of its first 256 64 KiB blocks,
	# without pause until repl_holder_stop
	repl_holder 1 rw 256
	vm 1 'prbdctl status'
}

# drop I COUNT: node I drops COUNT received payloads; it must get them again
drop() {
	local i=$1 count=$2 t failed c0 a m w0 w1
	failed=$(fi_drop_payloads "$i" "$count") || exit 1
	sleep 1
	c0=$(repl_field 1 commit_index)
	echo "node $i dropped $failed payloads; leader commit index then: $c0"
	for t in $(seq 1 20); do
		a=$(repl_field "$i" applied_index)
		m=$(match 1 "$i")
		[ "${a:-0}" -gt "$c0" ] && [ "${m:-0}" -gt "$c0" ] && break
		sleep 1
	done
	echo "after ${t} s: node $i applied $a, its match index on the leader $m, leader commit $(repl_field 1 commit_index)"
	rig_exec "$i" 'dmesg | grep -E "not here yet|asked node" | tail -n 3' || true
	echo "node $i asked again for $(repl_payloads "$i" asked) payloads, node 1 resent $(repl_payloads 1 resent)"
	vm "$i" 'rmmod prbd_fi'
	[ "${a:-0}" -gt "$c0" ] || fail "node $i applies nothing past slot $a: the dropped payload never came back"
	[ "${m:-0}" -gt "$c0" ] || fail "node $i's match index on the leader is stuck at $m"
	# and the leader's writes still complete
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

ktap_run "setup: 3 nodes up, node 1 writes without pause" setup
ktap_run "node 2 drops $DROP payloads: it gets them again and acknowledges" drop 2 "$DROP"
ktap_run "node 3 drops $((DROP * 4)) payloads: it gets them again and acknowledges" drop 3 $((DROP * 4))
ktap_run "replicas agree" replicas
ktap_run "no BUG, WARNING, oops or hung task in any guest" no_warnings
rig_stop
ktap_finish
