#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Reads from a peer (issue 17): a node whose copy is not whole (a wiped
# disk being resynced) serves reads from the leader.  A random pattern
# covering the whole device is written on node 1; node 3 gets a new disk
# (metadata re-created, the start of its data area overwritten with other
# random bytes) and a full resync capped at 1 MiB/s; while it copies,
# every block of node 3's device is read (O_DIRECT) and compared with the
# pattern, then reads of 4 KiB to 4 MiB run four at a time.  With no
# leader reachable (node 3 cut off) a read fails within a bounded time and
# nothing hangs.  After the heal the resync completes, node 3's own copy
# equals the pattern, the replicas agree and no kernel warning was logged.
# (Before this feature every read on a resyncing node failed with EIO.)
RIG_DISK_SIZE=${RIG_DISK_SIZE:-96M}
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-300}
REPL_MD_OPTS="--log-size 4M"
N=3
PAT=/mnt/share/pattern	# in every guest; $RIG_DIR/share/pattern here

# bytes of /dev/prbd0 (each case runs in a subshell: kept in a file)
size() { cat "$RIG_DIR/size"; }

ktap_plan 7
rig_start $N || ktap_bail "rig did not boot"


# still_resyncing I: node I's copy is still being written (else the reads
# before did not test reading from a peer)
still_resyncing() {
	local st
	st=$(repl_field "$1" disk_state)
	echo "node $1 disk $st, resync $(repl_field "$1" resync_done) of $(repl_field "$1" resync_total) bytes"
	[ "$st" = inconsistent ] || fail "node $1 is $st: the resync ended before the reads, nothing tested (slow it down)"
}

# read_all I: read every 4 KiB block of node I's device and compare it with
# the pattern; prints the counts, fails on any difference or read error
read_all() {
	local out SIZE
	SIZE=$(size)
	out=$(rig_exec "$1" "t0=\$SECONDS
		dd if=/dev/prbd0 bs=256k iflag=direct 2>/tmp/dd.err |
			cmp -l - $PAT 2>/tmp/cmp.err |
			awk '{ print int((\$1 - 1) / 4096) }' | uniq > /tmp/cmp.out
		rc=(\${PIPESTATUS[@]})
		echo \"dd rc \${rc[0]} cmp rc \${rc[1]}: \$(wc -l < /tmp/cmp.out) of $((SIZE / 4096)) blocks differ, \$((SECONDS - t0)) s\"
		tail -n 2 /tmp/dd.err; head -n 2 /tmp/cmp.err") || true
	echo "$out"
	echo "$out" | grep -q '^dd rc 0 cmp rc 0: 0 of [0-9]* blocks differ' ||
		fail "node $1: reads differ from what node 1 wrote, or failed"
}

setup() {
	local SIZE
	repl_up $N
	SIZE=$(rig_exec 1 'blockdev --getsize64 /dev/prbd0')
	[ -n "$SIZE" ] && [ "$SIZE" -gt 0 ] || fail "no device size"
	echo "$SIZE" > "$RIG_DIR/size"
	head -c "$SIZE" /dev/urandom > "$RIG_DIR/share/pattern"
	vm 1 "dd if=$PAT of=/dev/prbd0 bs=1M oflag=direct 2>/dev/null"
	echo "$SIZE bytes of random pattern written on node 1"
	repl_same $((SIZE / 4096)) 1 2 3
}

resync_starts() {
	local t
	mark 3
	vm 3 'prbdctl down r0'
	repl_node_wipe 3
	repl_write_res 3 $N "" "" "resync-rate = 1M"
	vm 3 'modprobe prbd && prbdctl up r0'
	for t in $(seq 1 60); do
		[ "$(repl_field 3 disk_state)" = inconsistent ] &&
			[ "$(repl_field 3 resync_total)" -gt 0 ] 2>/dev/null && break
		sleep 1
	done
	still_resyncing 3
}

read_every_block() {
	read_all 3
	still_resyncing 3
}

# several sizes at once: 4 KiB, 64 KiB, 1 MiB (4 requests) and 4 MiB
# (16 requests), each from its own offset, four processes in flight
read_sizes() {
	local out SIZE
	SIZE=$(size)
	out=$(rig_exec 3 "chk() {
			dd if=/dev/prbd0 of=/tmp/c\$1 bs=\$1 skip=\$2 count=\$3 iflag=direct 2>/tmp/e\$1 ||
				{ echo \"bs \$1: read failed: \$(tail -n 1 /tmp/e\$1)\"; return 1; }
			dd if=$PAT bs=\$1 skip=\$2 count=\$3 2>/dev/null | cmp - /tmp/c\$1 ||
				{ echo \"bs \$1: differs\"; return 1; }
			echo \"bs \$1 x \$3 at block \$2: ok\"
		}
		chk 4096 $((SIZE / 4096 / 3 + 1)) 1024 & p1=\$!
		chk 65536 $((SIZE / 65536 / 2 + 1)) 96 & p2=\$!
		chk 1048576 3 8 & p3=\$!
		chk 4194304 $((SIZE / 4194304 - 3)) 2 & p4=\$!
		rc=0
		for p in \$p1 \$p2 \$p3 \$p4; do wait \$p || rc=1; done
		exit \$rc") || { echo "$out"; fail "a concurrent read failed or differs"; }
	echo "$out"
	still_resyncing 3
}

no_leader() {
	local t0 secs rc=0 out
	rig_isolate 3
	t0=$SECONDS
	out=$(quick 3 120 'dd if=/dev/prbd0 of=/dev/null bs=4k count=1 skip=77 iflag=direct 2>&1') || rc=$?
	secs=$((SECONDS - t0))
	echo "$out"
	echo "node 3 cut off: the read returned $rc after $secs s"
	rig_rejoin 3
	[ $rc != 0 ] || fail "a read with no leader reachable succeeded"
	[ $secs -le 60 ] || fail "the read took $secs s to fail"
}

healed() {
	local t st SIZE
	SIZE=$(size)
	for t in $(seq 1 300); do
		st=$(repl_field 3 disk_state)
		[ "$st" = attached ] && break
		[ $((t % 30)) = 0 ] && { rig_exec 3 'prbdctl status' | grep -i resync || true; }
		sleep 1
	done
	[ "$st" = attached ] || fail "node 3 still $st after 300 s"
	read_all 3
	repl_same $((SIZE / 4096)) 1 2 3
}

mark() { rig_exec "$1" 'echo "prbd-test: mark" > /dev/kmsg' >/dev/null; }

no_warnings() { repl_no_warnings 1 2 3; }

ktap_run "3 nodes up, a random pattern written over the whole device on node 1" setup
ktap_run "node 3 gets a new disk: a full resync starts (capped)" resync_starts
ktap_run "every block read on node 3 while it resyncs equals what node 1 wrote" read_every_block
ktap_run "reads of 4 KiB to 4 MiB, four in flight, while it resyncs" read_sizes
ktap_run "with no leader reachable a read fails within 60 s (no hang)" no_leader
ktap_run "after the heal the resync completes; node 3's own copy is the pattern" healed
ktap_run "no kernel warnings" no_warnings

ktap_finish
