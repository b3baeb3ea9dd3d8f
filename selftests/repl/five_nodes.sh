#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Five nodes: with two followers down a majority of three still completes
# every write; with a third down writes block (on-no-quorum block) and the
# leader reports no quorum; when one node returns they resume by
# themselves, and the two that were away catch up: all five replicas end
# identical with every completed write intact.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-240}
# the two nodes away miss about 13 MiB of log records (two 4 MiB zero fills
# and the writers): a 64 MiB log keeps them as history (half the ring), so
# they catch up from the log rather than needing a resync
REPL_MD_OPTS="--log-size 64M"

ktap_plan 6
rig_start 5 || ktap_bail "rig did not boot"

BLOCKS=1024		# 4 MiB checked region

# completed writes of node 1's background writer
done1() { rig_exec 1 'grep -c "^ok " /tmp/w.log' 2>/dev/null || true; }

setup() {
	repl_up 5
	vm 1 "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$((BLOCKS / 256)) oflag=direct 2>/dev/null"
	repl_same $BLOCKS 1 2 3 4 5
}

two_down() {
	rig_crash 4
	rig_crash 5
	vm 1 "prbd-blkcheck write /dev/prbd0 $BLOCKS 200 21 > /tmp/w21.log"
	vm 1 'grep -c "^ok " /tmp/w21.log'
	vm 1 "prbd-blkcheck check /dev/prbd0 $BLOCKS 21 < /tmp/w21.log"
	[ "$(repl_field 1 quorum)" = true ] || fail "node 1 reports no quorum"
}

three_down() {
	# a clean region for this writer's check (seed 21's blocks are foreign to it)
	vm 1 "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$((BLOCKS / 256)) oflag=direct 2>/dev/null"
	rig_exec_bg 1 "prbd-blkcheck write /dev/prbd0 $BLOCKS 1000000 22 > /tmp/w.log 2>&1" >/dev/null
	sleep 3
	[ "$(done1)" -gt 0 ] || fail "the writer does not run"
	rig_crash 3
	repl_no_completions 1 /tmp/w.log 1
	vm 1 'prbdctl status'
}

resume() {
	local c1 c2 t
	c1=$(done1)
	rig_boot 3 && rig_wait 3 || fail "node 3 did not reboot"
	repl_write_res 3 5
	vm 3 'modprobe prbd && prbdctl up r0'
	for t in $(seq 1 60); do
		c2=$(done1)
		[ "$c2" -gt $((c1 + 20)) ] && break
		sleep 1
	done
	echo "completed: $c1 before node 3 returned, $c2 after"
	[ "$c2" -gt $((c1 + 20)) ] || fail "writes did not resume"
	vm 1 'kill $(pidof prbd-blkcheck); sleep 1; ! pidof prbd-blkcheck'
	vm 1 'prbdctl status | head -n 5; dmesg | grep -E "quorum|leadership|transfer" | tail -n 6'
	vm 1 'prbdctl status | grep -q "paxos leader"'
}

all_identical() {
	local i
	for i in 4 5; do
		rig_boot "$i" && rig_wait "$i" || fail "node $i did not reboot"
		repl_write_res "$i" 5
		vm "$i" 'modprobe prbd && prbdctl up r0'
	done
	repl_same $BLOCKS 1 2 3 4 5
	vm 1 'grep "^ok " /tmp/w.log > /tmp/w22.log; prbd-blkcheck check /dev/prbd0 '$BLOCKS' 22 < /tmp/w22.log'
	vm 4 'prbdctl status | grep -E "disk attached"'
}

no_warnings() { repl_no_warnings 1 2 3 4 5; }

ktap_run "5 nodes up, node 1 primary" setup
ktap_run "two followers down: writes complete on a majority of three" two_down
ktap_run "three down: writes block, the leader reports no quorum" three_down
ktap_run "one returns: the blocked writes resume by themselves" resume
ktap_run "the two away catch up: five identical replicas, completed writes intact" all_identical
ktap_run "no kernel warnings" no_warnings
rig_stop
ktap_finish
