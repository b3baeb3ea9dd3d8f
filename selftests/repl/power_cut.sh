#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# durability = flush: a power cut of every node at once (issue 13; prbd
# loaded with experimental_flush=1).  Every node restarts without its
# clean-shutdown mark, a suspect; one wins a lossy election and starts an
# epoch; the others reset to it: each copies the whole data area from a
# node of that epoch, leading or not (the lossy leader cannot keep leading
# until another node is whole again), and drops the log of the epoch
# before durably (a log floor in the acceptor state).
#  - a checked writer runs on node 1 with O_DSYNC (each write is FUA: it
#    completes once durable on a majority); all three guests are killed
#    at once;
#  - all three come back up: within RESET_WAIT seconds one leads and every
#    node is whole (no resync, nothing inconsistent or outdated), and at
#    least one node logged a durable reset;
#  - every completed write reads back on a primary; the replicas agree;
#    a reset node's metadata has no reset flag left and a log floor;
#  - a second power cut at once recovers the same way.
# Before the reset took its source by epoch, the first restart livelocked:
# the reset nodes knew no leader (their core drops the new epoch's
# heartbeats until the install) and the module's resync asked the leader
# only ("no source reachable"); the lossy leader stepped down every ~2 s.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}
RIG_DISK_SIZE=${POWER_CUT_DISK_SIZE:-256M}	# a reset copies all of it
REPL_MOD_OPTS="experimental_flush=1"
REPL_MD_OPTS="--log-size 16M"
RESET_WAIT=${RESET_WAIT:-300}

N=3
BLOCKS=4096
WSEED=77
ktap_plan 6
rig_start $N || ktap_bail "rig did not boot"

# zero_dev: node 1 primary; the checked blocks zeroed (the check takes a
# block of another run's seed for foreign data)
zero_dev() {
	repl_promote 1
	vm 1 "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$((BLOCKS / 256)) oflag=direct 2>/dev/null"
}

setup() {
	repl_up $N "durability = flush"
	vm 1 'prbdctl status | grep -q "durability flush"'
	zero_dev
}

# write CUT: a checked writer on node 1 for a while, then every guest
# killed at once; its log in $RIG_DIR/cut-CUT.log
cut() {
	local log=$RIG_DIR/cut-$1.log i
	rig_exec 1 "prbd-blkcheck write /dev/prbd0 $BLOCKS 1000000 $((WSEED + $1)) 4" > "$log" 2>&1 &
	sleep 12
	for i in 1 2 3; do rig_crash "$i" & done
	wait || true
	echo "$(repl_ok_lines "$log") writes completed on node 1 before the power cut"
	[ "$(repl_ok_lines "$log")" -gt 20 ] || fail "too few writes: $(tail -3 "$log")"
}

# the state of node I: role, leader, disk, resync (one line)
node_state() {
	rig_exec "$1" 'prbdctl status --json' 2>/dev/null |
		sed -n 's/.*"disk_state":"\([^"]*\)".*/disk \1/p' | head -n 1
}

# restart CUT: boot and up every node; wait until every node is whole
restart() {
	local i t whole resets=0 n
	for i in 1 2 3; do rig_boot "$i"; done
	for i in 1 2 3; do rig_wait "$i" || fail "node $i did not reboot"; done
	for i in 1 2 3; do
		repl_write_res "$i" $N "" "" "durability = flush"
		vm "$i" "modprobe prbd $REPL_MOD_OPTS && prbdctl up r0"
	done
	for t in $(seq 1 "$RESET_WAIT"); do
		whole=1
		for i in 1 2 3; do
			rig_exec "$i" 'prbdctl status' 2>/dev/null |
				grep -qE 'inconsistent|outdated|resyncing|needs-resync|catching-up' && whole=0
			[ -n "$(repl_field "$i" leader_id | grep -v '^0$')" ] || whole=0
		done
		[ $whole = 1 ] && break
		sleep 1
	done
	for i in 1 2 3; do
		n=$(dmesg_count "$i" 'reset durable')
		resets=$((resets + ${n:-0}))
		echo "node $i: $(node_state "$i"), leader $(repl_field "$i" leader_id), resets $n"
		rig_exec "$i" 'dmesg | grep -E "reset|resync|lossy|epoch" | tail -n 6' | sed "s/^/vm$i: /"
	done
	[ $whole = 1 ] || fail "the group did not recover within $RESET_WAIT s"
	echo "recovered after $t s; $resets reset(s) made durable"
	[ $resets -ge 1 ] || fail "no node reset (no lossy election after a power cut of every node?)"
}

# check CUT: every write completed before the cut reads back; replicas agree
check() {
	local i prim=0
	for i in 1 2 3; do
		rig_exec "$i" 'prbdctl primary r0' >/dev/null 2>&1 && { prim=$i; break; }
	done
	[ $prim != 0 ] || { repl_promote 1; prim=1; }
	rig_put "$prim" "$RIG_DIR/cut-$1.log" /tmp/cut.log
	vm "$prim" "prbd-blkcheck check /dev/prbd0 $BLOCKS $((WSEED + $1)) 4 < /tmp/cut.log"
	repl_same $BLOCKS 1 2 3
	vm "$prim" 'prbdctl secondary r0'
}

# a node that reset: the flag is gone once whole, the floor stays
metadata() {
	local i out found=0
	for i in 1 2 3; do
		[ "$(dmesg_count "$i" 'reset durable')" -ge 1 ] || continue
		# prbd wrote the metadata with bios: drop what the page cache holds
		out=$(rig_exec "$i" 'blockdev --flushbufs /dev/vda; prbdctl show-md /dev/vda' 2>&1) ||
			fail "show-md on node $i: $out"
		echo "$out" | grep -E '^ *(reset|resync:) ' | sed "s/^/node $i: /" || true
		echo "$out" | grep -qE '^ *reset no  log_floor [1-9]' ||
			fail "node $i: reset flag left or no log floor: $out"
		found=1
	done
	[ $found = 1 ] || fail "no node to look at"
}

second() {
	zero_dev
	cut 2
	restart 2
	check 2
	repl_no_warnings 1 2 3
}

ktap_run "3 nodes up with durability flush, node 1 primary" setup
ktap_run "power cut of every node under a checked O_DSYNC writer" cut 0
ktap_run "every node restarts; the group leads again and every node is whole (reset from a node of the new epoch)" restart 0
ktap_run "every completed write reads back; replicas agree" check 0
ktap_run "the reset node's metadata: flag cleared, log floor kept" metadata
ktap_run "a second power cut of every node recovers the same way; no kernel warnings" second
ktap_finish
