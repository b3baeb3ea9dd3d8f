#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# node-replace, and a removed node that comes back under its old identity.
# Four VMs: nodes 1-3 are the voters, node 4 waits outside the group
# ("role = none").  Node 3's VM is killed under a checked writer and
# replaced by node 4 (learner, resync, voter, then node 3 removed: two
# voter entries, the core changes one voter per entry); prbdctl prints the
# quorum arithmetic first.  Every completed write is intact, the
# replicas agree, verify is clean and status says the resource file no
# longer matches the configuration.  Node 3 then boots with its old
# metadata: the leader refuses it (it campaigns outside the configuration)
# and it reports "removed from the group at slot S" until it is re-created
# with create-md; re-created as node 5 on another port it is added again
# with node-add and its address on the command line (addresses in use,
# this node's own, a malformed one and a known node's other address are
# refused first).
#
# REPLACE_DISK_SIZE (64M) sizes the disks; REPLACE_WRITES (1500) the
# checked writer's length.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_DISK_SIZE=${REPLACE_DISK_SIZE:-64M}
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}
WRITES=${REPLACE_WRITES:-1500}
REPL_MD_OPTS="--log-size 4M"
BLOCKS=2048
WLOG=/tmp/replace-w.log
# node 4 waits outside the group
REPL_OUTSIDE=4

N=4
ktap_plan 6
rig_start $N || ktap_bail "rig did not boot"

setup() {
	repl_up $N
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=8 oflag=direct 2>/dev/null &&
		dd if=/dev/urandom of=/dev/prbd0 bs=1M count=16 seek=8 oflag=direct 2>/dev/null'
	repl_wait_cfg 1 1,2,3 -
	repl_wait_cfg 4 1,2,3 -
}

refusals() {
	repl_refuse 1 'prbdctl node-replace r0 1 4' 'node 1 leads'
	repl_refuse 1 'prbdctl node-replace r0 3 2' 'node 2 is already a voter'
	repl_refuse 1 'prbdctl node-replace r0 4 3' 'node 4 is not a voter'
	repl_refuse 1 'prbdctl node-replace r0 3 3' 'equals the replaced'
	repl_refuse 1 'prbdctl node-replace r0 3 9' 'not a peer'
	repl_refuse 2 'prbdctl node-replace r0 3 4' 'run node-replace on node 1, the leader'
}

replace() {
	local out t0 t1
	[ "$(repl_field 1 paxos_role)" = leader ] || fail "node 1 does not lead: $(repl_cfg 1)"
	vm 1 "prbd-blkcheck write /dev/prbd0 $BLOCKS $WRITES 21 4 > $WLOG 2>&1 &"
	sleep 2
	rig_crash 3
	sleep 2
	t0=$(date +%s%N)
	out=$(rig_exec 1 'prbdctl node-replace r0 3 4' 2>&1) ||
		fail "node-replace refused: $out"
	echo "$out"
	echo "$out" | grep '3 voters, 2 alive: replacing 3 by 4 keeps a majority at every step: 3 of 4 voters alive (3 needed), then 3 of 3 (2 needed)' >/dev/null ||
		fail "no quorum arithmetic in '$out'"
	vm 1 'prbdctl status | grep config'
	repl_wait_cfg 1 1,2,4 - 180
	t1=$(date +%s%N)
	echo "node 3 replaced by node 4 in $(( (t1 - t0) / 1000000 )) ms (learner, resync of a $RIG_DISK_SIZE disk, voter, removal) under writes"
	repl_wait_cfg 4 1,2,4 - 30
	vm 1 'dmesg | grep -E "node-replace|configuration epoch" | tail -6'
	rig_exec 1 'dmesg' | grep -E 'voters 0x1e learners 0x0 \(node-replace of node 4' >/dev/null ||
		fail "no configuration with voters 1,2,3,4 on the way"
	rig_exec 1 'dmesg' | grep -E 'voters 0x16 learners 0x0 \(node-replace of node 4' >/dev/null ||
		fail "no configuration with voters 1,2,4"
}

intact() {
	local t
	for t in $(seq 1 180); do
		rig_exec 1 "pidof prbd-blkcheck >/dev/null" || break
		sleep 1
	done
	rig_exec 1 "prbd-blkcheck check /dev/prbd0 $BLOCKS 21 4 < $WLOG" ||
		fail "completed writes damaged"
	echo "writer: $(rig_exec 1 "grep -c '^ok ' $WLOG") of $WRITES writes completed and intact"
	[ "$(rig_exec 1 "grep -c '^ok ' $WLOG")" -eq "$WRITES" ] ||
		fail "the writer did not complete: $(rig_exec 1 "tail -n 3 $WLOG")"
	repl_same $BLOCKS 1 2 4
	vm 1 'prbdctl verify r0'
	vm 1 'prbdctl status'
	rig_exec 1 'prbdctl status' | grep 'resource file .* disagrees with the configuration' >/dev/null ||
		fail "status does not say the resource file is out of date"
}

comes_back() {
	local out t slot
	rig_boot 3 && rig_wait 3 || fail "node 3 did not reboot"
	repl_write_res 3 $N
	vm 3 'modprobe prbd && prbdctl up r0'
	for t in $(seq 1 30); do
		rig_exec 3 'prbdctl status' 2>/dev/null | grep 'removed from the group at slot' >/dev/null && break
		sleep 1
	done
	vm 3 'prbdctl status'
	slot=$(rig_exec 3 'prbdctl status' | sed -n 's/.*removed from the group at slot \([0-9]*\).*/\1/p')
	[ -n "$slot" ] || fail "node 3 does not report its removal"
	vm 3 'dmesg | grep "removed from the group" | tail -2'
	vm 1 'dmesg | grep "not in the configuration" | tail -2'
	rig_exec 1 'dmesg' | grep 'node 3 campaigns but is not in the configuration' >/dev/null ||
		fail "the leader did not refuse node 3"
	repl_refuse 3 'prbdctl learner-add r0 3' 'this node was removed from the group'
	# the group goes on without it
	sleep 3
	[ "$(repl_voters 1)" = 1,2,4 ] || fail "configuration changed: $(repl_cfg 1)"
	[ "$(repl_field 1 paxos_role)" = leader ] || fail "node 1 lost leadership: $(repl_cfg 1)"
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=16 seek=3 oflag=direct 2>/dev/null'
	vm 3 'prbdctl down r0'
}

# node 3's machine re-created as node 5, at 10.77.0.3:7791, known to the
# group only through the address given to node-add
recreate() {
	vm 3 "cat > /etc/prbd.d/r0.res <<'EOF'
[resource]
name = r0
minor = 0
cluster-uuid = $REPL_UUID
secret = $REPL_SECRET
node-id = 5
[node 1]
address = 10.77.0.1:7790
disk = /dev/vda
[node 2]
address = 10.77.0.2:7790
disk = /dev/vda
[node 4]
address = 10.77.0.4:7790
disk = /dev/vda
[node 5]
address = 10.77.0.3:7791
disk = /dev/vda
role = none
EOF
chmod 600 /etc/prbd.d/r0.res"
	vm 3 "prbdctl create-md --force $REPL_MD_OPTS r0 >/dev/null 2>&1 && prbdctl up r0"
	sleep 3
	vm 3 'prbdctl status'
	rig_exec 3 'prbdctl status' | grep 'removed from the group' &&
		fail "re-created node still refused"
	repl_refuse 1 'prbdctl node-add r0 5 10.77.0.3:7790' '10.77.0.3:7790 is the address of node 3'
	repl_refuse 1 'prbdctl node-add r0 5 10.77.0.1' "10.77.0.1:7790 is this node's own address"
	repl_refuse 1 'prbdctl node-add r0 5 10.77.0.300:7791' 'invalid address'
	repl_refuse 1 'prbdctl learner-add r0 2 10.77.0.9' 'node 2 is known at 10.77.0.2:7790'
	rig_exec 1 'prbdctl status' | grep 'peer 5 ' && fail "a refused node-add left peer 5"
	vm 1 'prbdctl node-add r0 5 10.77.0.3:7791'
	repl_wait_cfg 1 1,2,4,5 - 120
	repl_wait_cfg 3 1,2,4,5 - 30
	vm 1 'prbdctl status'
	repl_same $BLOCKS 1 2 3 4
	vm 1 'prbdctl verify r0'
	repl_no_warnings 1 2 3 4
}

ktap_run "setup: 3 voters, node 4 waiting outside the group" setup
ktap_run "node-replace refusals change nothing" refusals
ktap_run "node 3 killed under a checked writer, node-replace 3 by 4" replace
ktap_run "every completed write intact, replicas agree, verify clean, status flags the resource file" intact
ktap_run "node 3 back with its old metadata: refused by the leader, status says removed" comes_back
ktap_run "node 3 re-created with create-md as node 5: node-add with an address (bad ones refused)" recreate
rig_stop
ktap_finish
