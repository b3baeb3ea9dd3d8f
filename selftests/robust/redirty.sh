#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A write whose pages change while it is in flight (review defect 3 of
# issue 14).  redirty.c writes /dev/prbd0 with O_DIRECT from buffers a
# second thread keeps modifying, as a page redirtied during writeback is.
# The review found the checksum, the DATA frames, the leader's log record
# and its apply each reading the live pages (a wrong crc flaps the
# connection, a log record fails its checksum on replay, replicas
# differ).  Just before the copy at queue time (commit 57a0865) the tree
# still applied the leader's own writes from the live pages while peers
# and log got a copy: this group fails there on "replicas agree".  Now
# the request is copied once and everything uses the copy.  On one 3-node
# group, node 1 auto-promoted by the writer's open:
#
# - RD_SECONDS (20) of such writes complete; no node logs a crc mismatch
#   nor a peer disconnecting;
# - node 1 is killed (power cut) during a second run, with checkpoints
#   held back (checkpoint_ms) so its log holds the last writes; it comes
#   back and replays its log: no torn record but the one write in flight
#   at the cut, no failed replay;
# - replicas agree; no BUG, WARNING, oops or hung task.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-120}
HERE=$SELFTESTS_DIR/robust
N=3
SECS=${RD_SECONDS:-20}
REPL_HUNG_TASK_SECS=20
# checkpoints held back: node 1's log holds the last writes at its cut
REPL_MOD_OPTS="checkpoint_ms=600000"
BIN=$(mktemp -d /tmp/prbd-redirty.XXXXXX)
trap 'rm -rf "$BIN"' EXIT

ktap_plan 5
if ! gcc -O2 -Wall -Wextra -Werror -pthread -o "$BIN/redirty" "$HERE/redirty.c" 2>"$BIN/cc.log"; then
	sed 's/^/# /' "$BIN/cc.log"
	ktap_bail "redirty.c did not build"
fi
rig_start $N || ktap_bail "rig did not boot"

BAD='crc mismatch|disconnected'

setup() {
	local i
	for i in $(seq 1 $N); do
		rig_put "$i" "$BIN/redirty" /root/redirty
	done
	repl_start $N
	repl_wait_quorum 1 true
	repl_wait_quorum 2 true
	repl_wait_quorum 3 true
	vm 1 'prbdctl status | head -n 4'
}

# the writes complete, and nothing on the wire disagrees with its checksum
redirty() {
	local i n before=() bad=0
	for i in $(seq 1 $N); do before[i]=$(dmesg_count "$i" "$BAD"); done
	# a node just up may not get leadership at once (EAGAIN): retry
	for n in $(seq 1 10); do
		rig_exec 1 "/root/redirty /dev/prbd0 $SECS" && break
		sleep 1
	done
	[ "$n" -lt 10 ] || fail "the writer failed"
	for i in $(seq 1 $N); do
		n=$(dmesg_count "$i" "$BAD")
		if [ "$n" -gt "${before[i]}" ]; then
			echo "vm$i: $((n - before[i])) lines:"
			rig_exec "$i" "dmesg | grep -E '$BAD' | tail -n 5"
			bad=1
		fi
	done
	[ $bad -eq 0 ] || fail "payload checksum mismatches or connection drops during the writes"
}

# node 1's log replays cleanly after a power cut in the middle of writes
replay() {
	local t torn
	rig_exec_bg 1 "/root/redirty /dev/prbd0 $((SECS * 3)) > /tmp/rd.out 2>&1" >/dev/null
	sleep $((SECS / 2 + 2))
	rig_crash 1
	echo "node 1 killed during the writes"
	rig_boot 1 && rig_wait 1 || fail "node 1 does not boot again"
	repl_write_res 1 $N
	vm 1 'modprobe prbd && prbdctl up r0'
	vm 1 "dmesg | grep -E 'log:|torn|replay' | head -n 8"
	# the writer has one write in flight: at most its record is torn by
	# the cut; a record whose payload changed after its checksum is too
	torn=$(dmesg_count 1 'is torn; ignored')
	echo "torn records: $torn"
	[ "$torn" -le 1 ] || fail "node 1's log does not replay cleanly: $torn torn records"
	[ "$(dmesg_count 1 'replay of slot .* failed')" -eq 0 ] ||
		fail "node 1's log replay failed"
	for t in $(seq 1 30); do
		[ "$(repl_field 1 quorum)" = true ] && break
		sleep 1
	done
}

replicas() {
	local i
	# node 1 is a follower now: whoever leads, everyone applies it all
	repl_same 4096 1 2 3
}

no_warnings() { repl_no_warnings $(seq 1 $N); }

ktap_run "setup: 3 nodes up" setup
ktap_run "$SECS s of O_DIRECT writes from buffers modified in flight: no crc mismatch, no disconnect" redirty
ktap_run "node 1 killed during such writes replays its log cleanly" replay
ktap_run "replicas agree" replicas
ktap_run "no BUG, WARNING, oops or hung task in any guest" no_warnings
rig_stop
ktap_finish
