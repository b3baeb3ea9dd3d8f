#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kill the primary (the Paxos leader) mid-write, five times at different
# points, each time promoting the next node: every write the killed node
# had completed is read back intact on the new primary (prbd-blkcheck
# records each completion, like fio's verify state, and checks them).
# The killed node reboots and rejoins as a follower each time; at the end
# the three replicas are identical.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}
# a log large enough that a node killed for a round catches up from the
# others' log history
REPL_MD_OPTS="--log-size 128M"

ROUNDS=5
ktap_plan $((ROUNDS + 3))
rig_start 3 || ktap_bail "rig did not boot"

BLOCKS=1024	# 4 MiB checked region
QD=4
KILL_AT=(2 4 3 5 2.5)	# seconds into each round's writes
P=1		# the primary

setup() { repl_up 3; }

round() {
	local r=$1 seed=$((100 + $1)) q log lines t
	q=$((P % 3 + 1))
	log=$RIG_DIR/round$r.log
	vm "$P" "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$((BLOCKS / 256)) oflag=direct 2>/dev/null"
	rig_exec "$P" "prbd-blkcheck write /dev/prbd0 $BLOCKS 1000000 $seed $QD" > "$log" 2>&1 &
	sleep "${KILL_AT[$((r - 1))]}"
	rig_crash "$P"
	wait || true
	lines=$(repl_ok_lines "$log")
	echo "round $r: node $P killed after $lines completed writes; node $q takes over"
	[ "$lines" -gt 10 ] || fail "too few writes: $(tail -n 3 "$log")"
	repl_promote "$q"
	rig_put "$q" "$log" /tmp/round.log
	vm "$q" "prbd-blkcheck check /dev/prbd0 $BLOCKS $seed $QD < /tmp/round.log"
	# the killed node comes back as a follower
	rig_boot "$P" && rig_wait "$P" || fail "node $P did not reboot"
	repl_write_res "$P" 3
	vm "$P" 'modprobe prbd && prbdctl up r0'
	# right after up it is a follower of nobody until it reaches the
	# others (they reconnect with a backoff of up to 5 s): wait until it
	# follows the new leader, not just for the initial role
	for t in $(seq 1 30); do
		[ "$(repl_field "$P" paxos_role)" = follower ] &&
			[ "$(repl_field "$P" leader_id)" = "$q" ] && break
		sleep 1
	done
	if [ "$(repl_field "$P" paxos_role)" != follower ] ||
	   [ "$(repl_field "$P" leader_id)" != "$q" ]; then
		for t in 1 2 3; do
			echo "--- node $t"
			rig_exec "$t" 'prbdctl status; dmesg | grep prbd | tail -n 60' || true
		done
		fail "node $P is not a follower 30 s after up"
	fi
	echo "$q" > "$RIG_DIR/primary"
}

identical() {
	repl_same $BLOCKS 1 2 3
	local i
	for i in 1 2 3; do
		[ "$(repl_field "$i" disk_state)" = attached ] || fail "node $i disk $(repl_field "$i" disk_state)"
	done
}

no_warnings() { repl_no_warnings 1 2 3; }

ktap_run "3 nodes up, node 1 primary" setup
for r in $(seq 1 $ROUNDS); do
	ktap_run "round $r: primary $P killed ${KILL_AT[$((r - 1))]} s into the writes; every completed write intact" round "$r"
	[ -f "$RIG_DIR/primary" ] && P=$(cat "$RIG_DIR/primary")
done
ktap_run "the three replicas are identical" identical
ktap_run "no kernel warnings" no_warnings
rig_stop
ktap_finish
