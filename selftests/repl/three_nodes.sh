#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Replication on three nodes: every write is chosen by a majority through
# Multi-Paxos over the kernel transport.  The primary's writes reach every
# replica; a follower that was down for a burst of writes catches up from
# the leader's log; killing the leader mid-write loses no completed write
# once another node is made primary.  (The old leader's return after a
# long failover needs the resync machinery of the next issue.)
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}

N=3
ktap_plan 6
rig_start $N || ktap_bail "rig did not boot"

RES='[resource]
name = r0
minor = 0
cluster-uuid = 0b6f4c1e-5d2a-4f7e-9a3b-2c1d0e9f8a7b
secret = repl-test-secret
[node 1]
address = 10.77.0.1:7790
disk = /dev/vda
[node 2]
address = 10.77.0.2:7790
disk = /dev/vda
[node 3]
address = 10.77.0.3:7790
disk = /dev/vda'

write_res() {
	vm "$1" "mkdir -p /etc/prbd.d && cat > /etc/prbd.d/r0.res <<'EOF'
$RES
EOF
chmod 600 /etc/prbd.d/r0.res"
}

# sum I BLOCKS: checksum of the first BLOCKS 4 KiB blocks of node I's device
sum() { rig_exec "$1" "prbd-blkcheck sum /dev/prbd0 $2"; }

# wait_applied_equal BLOCKS: every node shows the same data (bounded wait)
wait_same() {
	local t s1 s2 s3
	for t in $(seq 1 30); do
		s1=$(sum 1 "$1") s2=$(sum 2 "$1") s3=$(sum 3 "$1")
		[ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] && { echo "replicas agree: $s1"; return 0; }
		sleep 1
	done
	fail "replicas differ: $s1 $s2 $s3"
}

setup() {
	local i
	for i in 1 2 3; do
		write_res "$i"
		vm "$i" 'modprobe prbd && prbdctl create-md r0 >/dev/null && prbdctl up r0'
	done
	vm 1 'prbdctl primary r0'
	vm 1 'prbdctl status'
	vm 1 'prbdctl status | grep -q "role primary"'
}

replicate() {
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=16 oflag=direct 2>/dev/null &&
		dd if=/dev/urandom of=/dev/prbd0 bs=64k count=64 seek=3 oflag=direct 2>/dev/null'
	wait_same 4096
}

failover() {
	local log=$RIG_DIR/blkcheck.log lines t
	vm 1 'dd if=/dev/zero of=/dev/prbd0 bs=1M count=16 oflag=direct 2>/dev/null'
	rig_exec 1 'prbd-blkcheck write /dev/prbd0 4096 1000000 7' > "$log" 2>&1 &
	sleep 10
	rig_crash 1
	wait || true
	lines=$(grep -c '^ok ' "$log" || true)
	echo "$lines writes completed on node 1 before it died"
	[ "$lines" -gt 10 ] || fail "too few writes: $(tail -3 "$log")"
	for t in $(seq 1 20); do
		rig_exec 2 'prbdctl primary r0' >/dev/null && break
		sleep 1
	done
	vm 2 'prbdctl status'
	vm 2 'prbdctl status | grep -q "role primary"'
	rig_put 2 "$log" /tmp/blkcheck.log
	vm 2 'prbd-blkcheck check /dev/prbd0 4096 7 < /tmp/blkcheck.log'
}

writes_continue() {
	vm 2 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=32 seek=200 oflag=direct 2>/dev/null'
}

follower_catches_up() {
	rig_crash 3
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=24 seek=100 oflag=direct 2>/dev/null'
	rig_boot 3 && rig_wait 3 || fail "node 3 did not reboot"
	write_res 3
	vm 3 'modprobe prbd && prbdctl up r0'
	wait_same 4096
}

no_warnings() {
	local i
	for i in 2 3; do
		rig_dmesg_check "$i" || fail "vm$i: kernel warnings"
	done
}

ktap_run "3 nodes up, node 1 primary" setup
ktap_run "writes on the primary reach every replica" replicate
ktap_run "a follower down for a burst of writes catches up; replicas identical" follower_catches_up
ktap_run "leader killed mid-write; node 2 promoted; every completed write intact" failover
ktap_run "writes continue on two nodes" writes_continue
ktap_run "no kernel warnings on the survivors" no_warnings
rig_stop
ktap_finish
