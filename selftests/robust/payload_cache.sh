#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The follower payload cache is bounded (review defect 7 of issue 14).
# A follower keeps each DATA payload the leader sends until its slot is
# applied; payloads never chosen (a deposed leader's, or an authenticated
# peer's junk) used to stay for good, so a peer could grow the cache at
# will.  Here the leader (node 1, fi/prbd_fi.ko junk=N) sends N payloads of
# 256 KiB under ids no write has, while it writes:
#
# - each follower's cache (debugfs prbd/r0/payloads) stays within 32 MiB of
#   unneeded payloads (+ 8 MiB for those in use) instead of growing by the
#   junk's size, and writes still complete;
# - a leader change (node 2 made primary) empties the caches of the junk;
# - replicas agree; no BUG, WARNING, oops or hung task.
#
# PC_JUNK (400 frames: 100 MiB per follower).
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-120}
HERE=$SELFTESTS_DIR/robust
N=3
JUNK=${PC_JUNK:-400}
MiB=$((1 << 20))

ktap_plan 5
build_fi
rig_start $N || ktap_bail "rig did not boot"

show() {
	local i
	for i in "$@"; do
		echo "node $i cache: $(repl_payloads "$i" count) payloads, $(( $(repl_payloads "$i" bytes) / 1024 )) KiB," \
			"evicted $(repl_payloads "$i" evicted)"
	done
}

setup() {
	local i
	repl_up $N
	repl_debugfs $(seq 1 $N)
	for i in $(seq 1 $N); do
		vm "$i" 'test -r /sys/kernel/debug/prbd/r0/payloads'
	done
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=32 oflag=direct 2>/dev/null'
	show 2 3
}

junk() {
	local t sent=-1 now peak2=0 peak3=0 b
	rig_put 1 "$HERE/fi/prbd_fi.ko" /root/prbd_fi.ko
	vm 1 "insmod /root/prbd_fi.ko junk=$JUNK"
	# writes keep going meanwhile (the leader's sends arm the junk)
	for t in $(seq 1 180); do
		vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=4 seek=$((RANDOM % 1000)) oflag=direct 2>/dev/null' ||
			fail "a write failed during the junk"
		b=$(repl_payloads 2 bytes); [ "${b:-0}" -gt $peak2 ] && peak2=$b
		b=$(repl_payloads 3 bytes); [ "${b:-0}" -gt $peak3 ] && peak3=$b
		now=$(rig_exec 1 'cat /sys/module/prbd_fi/parameters/junk_sent')
		[ "$now" -ge $((2 * JUNK)) ] && break
		[ "$now" = "$sent" ] && [ $t -gt 20 ] && break
		sent=$now
		sleep 1
	done
	sleep 2
	for i in 2 3; do
		b=$(repl_payloads $i bytes)
		[ "$i" = 2 ] && [ "$b" -gt $peak2 ] && peak2=$b
		[ "$i" = 3 ] && [ "$b" -gt $peak3 ] && peak3=$b
	done
	echo "junk frames sent by node 1: $now ($((now / 4)) MiB in all)"
	show 2 3
	echo "peak cache bytes: node 2 $((peak2 / MiB)) MiB, node 3 $((peak3 / MiB)) MiB"
	[ "$now" -ge $((JUNK)) ] || fail "node 1 sent only $now junk frames"
	vm 1 'rmmod prbd_fi'
	[ $peak2 -le $((40 * MiB)) ] || fail "node 2's payload cache grew to $((peak2 / MiB)) MiB"
	[ $peak3 -le $((40 * MiB)) ] || fail "node 3's payload cache grew to $((peak3 / MiB)) MiB"
}

leader_change() {
	local t b2 b3
	vm 1 'prbdctl secondary r0'
	repl_promote 2
	vm 2 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=32 oflag=direct 2>/dev/null'
	for t in $(seq 1 15); do
		b2=$(repl_payloads 2 bytes) b3=$(repl_payloads 3 bytes)
		[ "$b2" -le $MiB ] && [ "$b3" -le $MiB ] && break
		sleep 1
	done
	show 1 2 3
	[ "$b2" -le $MiB ] || fail "node 2 still caches $((b2 / 1024)) KiB after it took over"
	[ "$b3" -le $MiB ] || fail "node 3 still caches $((b3 / 1024)) KiB after the leader changed"
}

replicas() {
	repl_same 4096 1 2 3
}

no_warnings() { repl_no_warnings $(seq 1 $N); }

ktap_run "setup: 3 nodes up, node 1 primary, debugfs" setup
ktap_run "junk payloads from the leader: each follower's cache stays bounded, writes complete" junk
ktap_run "a leader change empties the caches of the junk" leader_change
ktap_run "replicas agree" replicas
ktap_run "no BUG, WARNING, oops or hung task in any guest" no_warnings
rig_stop
ktap_finish
