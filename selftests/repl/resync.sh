#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nodes that fall behind come back whole.  A follower away for a short
# burst catches up from the log; one away while the writes overrun the log
# gets a bulk resync of only the chunks written meanwhile (the slot map);
# a wiped disk gets everything.  A resync survives the death of its target
# (it resumes) and of the leader it copies from (it continues from the new
# leader), with every acknowledged write present.  Online verify finds a
# divergence planted on one node's backing disk and `resync --range`
# repairs it.  A resync rate cap keeps foreground writes going.
# a smaller disk keeps full resyncs short
RIG_DISK_SIZE=${RIG_DISK_SIZE:-384M}
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-300}
# a 4 MiB log holds ~170 writes of history: a few hundred overrun it
REPL_MD_OPTS="--log-size 4M"
N=3
REGION=8192		# 4 KiB blocks the writers use (32 MiB)

ktap_plan 9
rig_start $N || ktap_bail "rig did not boot"

# dmesg lines of node I matching PATTERN since its last mark()
klog() {
	rig_exec "$1" "dmesg | awk '/prbd-test: mark/ { b = \"\" } { b = b \$0 \"\\n\" } END { printf \"%s\", b }' | grep -E '$2'" 2>/dev/null || true
}
mark() { rig_exec "$1" 'echo "prbd-test: mark" > /dev/kmsg' >/dev/null; }

# bytes of node I's last completed resync ("... done: N bytes in ...")
done_bytes() {
	klog "$1" "$2 from node [0-9]+ done:" | tail -n 1 |
		sed -n 's/.* done: \([0-9]*\) bytes.*/\1/p'
}

# wait_whole I [SECS]: node I's resync finished: disk attached, the log says so
wait_whole() {
	local t st
	for t in $(seq 1 "${2:-180}"); do
		st=$(repl_field "$1" disk_state)
		[ "$st" = attached ] && [ -n "$(done_bytes "$1" resync)" ] && return 0
		sleep 1
	done
	vm "$1" 'prbdctl status; dmesg | tail -20'
	fail "node $1 still $st after ${2:-180} s"
}

# node I leaves (prbdctl down); repl_node_wipe (lib.sh) then gives it a
# new disk
node_down() { mark "$1"; vm "$1" 'prbdctl down r0'; }
node_up() { vm "$1" 'modprobe prbd && prbdctl up r0'; }

# prbd-blkcheck writes on node I: COUNT writes, SEED, queue depth 4
writes() { vm "$1" "prbd-blkcheck write /dev/prbd0 $REGION $2 $3 4 > /tmp/w$3.log && tail -n 1 /tmp/w$3.log"; }

verify_clean() {
	local out rc=0
	out=$(rig_exec 1 "prbdctl verify r0 $*") || rc=$?
	echo "$out"
	[ $rc = 0 ] && echo "$out" | grep -q ' 0 bytes divergent' ||
		fail "verify: rc $rc"
}

setup() {
	repl_up $N
	vm 1 "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$((REGION / 256)) oflag=direct 2>/dev/null"
	repl_same $REGION 1 2 3
}

short_outage() {
	node_down 3
	writes 1 100 21
	node_up 3
	repl_same $REGION 1 2 3
	[ -z "$(done_bytes 3 resync)" ] || fail "a resync ran for a short outage"
	verify_clean --range 0:32M
}

long_outage() {
	local size bytes
	node_down 3
	writes 1 1500 22
	node_up 3
	wait_whole 3
	size=$(rig_exec 1 'blockdev --getsize64 /dev/prbd0')
	bytes=$(done_bytes 3 resync)
	echo "resync copied $bytes of $size bytes"
	[ "$bytes" -gt 0 ] && [ "$bytes" -le $((REGION * 4096 + 1048576)) ] ||
		fail "copied $bytes bytes for writes to a $((REGION * 4096))-byte region"
	klog 3 'resync|installed'
	repl_same $((REGION * 2)) 1 2 3
	verify_clean
}

wiped_disk() {
	local size bytes
	node_down 3
	repl_node_wipe 3
	node_up 3
	wait_whole 3
	size=$(rig_exec 1 'blockdev --getsize64 /dev/prbd0')
	bytes=$(done_bytes 3 resync)
	echo "full resync copied $bytes of $size bytes"
	klog 3 'resync from node [0-9]+ done'
	[ "$bytes" -ge "$size" ] || fail "a wiped disk got only $bytes of $size bytes"
	verify_clean
}

# resync progress of node I in percent (0 if none)
progress() {
	local d t
	d=$(repl_field "$1" resync_done)
	t=$(repl_field "$1" resync_total)
	[ -n "$d" ] && [ -n "$t" ] && [ "$t" -gt 0 ] && echo $((d * 100 / t)) || echo 0
}

wait_progress() {
	local t p
	for t in $(seq 1 120); do
		p=$(progress "$1")
		[ "$p" -ge "$2" ] && { echo "node $1 resync at $p%"; return 0; }
		sleep 0.5
	done
	fail "node $1's resync did not reach $2%"
}

target_killed() {
	node_down 3
	repl_node_wipe 3
	# capped so that it runs for a while
	repl_write_res 3 $N "" "" "resync-rate = 8M"
	node_up 3
	vm 3 'prbdctl status'
	wait_progress 3 20
	rig_crash 3
	rig_boot 3 && rig_wait 3 || fail "node 3 did not reboot"
	repl_write_res 3 $N
	node_up 3
	sleep 2
	klog 3 'resync'
	[ -n "$(klog 3 'resuming from byte [1-9]')" ] || fail "node 3 did not resume its resync"
	wait_whole 3
	repl_same $REGION 1 2 3
	verify_clean
}

leader_killed() {
	local log=$RIG_DIR/w31.log lines
	node_down 3
	# most of the 32 MiB region changes: 8 s of resync at 4 MiB/s; then it
	# is zeroed for the checked writer
	writes 1 3000 30
	vm 1 "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$((REGION / 256)) oflag=direct 2>/dev/null"
	repl_write_res 3 $N "" "" "resync-rate = 4M"
	node_up 3
	rig_exec 1 "prbd-blkcheck write /dev/prbd0 $REGION 1000000 31 4" > "$log" 2>&1 &
	wait_progress 3 20
	rig_crash 1
	wait || true
	lines=$(repl_ok_lines "$log")
	echo "$lines writes completed on node 1 before it died"
	[ "$lines" -gt 10 ] || fail "too few writes: $(tail -n 3 "$log")"
	# node 2 leads with node 3's promise, but commits only once node 3 is
	# whole again: the primary's reads and writes wait for the resync
	repl_promote 2
	wait_whole 3
	klog 3 'resync|installed'
	[ -n "$(klog 3 'resync from node 2 done')" ] || fail "node 3 did not finish from node 2"
	rig_put 2 "$log" /tmp/w31.log
	vm 2 "prbd-blkcheck check /dev/prbd0 $REGION 31 4 < /tmp/w31.log"
	repl_same $REGION 2 3
	rig_put 3 "$log" /tmp/w31.log
	vm 3 "prbd-blkcheck check /dev/prbd0 $REGION 31 4 < /tmp/w31.log"
	vm 2 "dd if=/dev/urandom of=/dev/prbd0 bs=64k count=64 seek=16 oflag=direct 2>/dev/null"
	rig_boot 1 && rig_wait 1 || fail "node 1 did not reboot"
	repl_write_res 1 $N
	node_up 1
	repl_same $REGION 1 2 3
}

divergence_repaired() {
	local off out rc=0
	node_down 3
	off=$(rig_exec 3 'prbdctl show-md --json /dev/vda' |
		sed -n 's/.*"data_offset":\([0-9]*\).*/\1/p' | head -n 1)
	# 8 KiB of garbage 5 MiB into node 3's data area, behind prbd's back
	vm 3 "dd if=/dev/urandom of=/dev/vda bs=4k count=2 seek=$(((off + 5242880) / 4096)) oflag=direct 2>/dev/null"
	node_up 3
	repl_wait_quorum 3 true
	out=$(rig_exec 2 'prbdctl verify r0 --range 0:32M') || rc=$?
	echo "$out"
	[ $rc = 2 ] || fail "verify exited $rc, not 2 (divergent)"
	echo "$out" | grep -q 'node 3 bytes 5242880+8192' || fail "divergence not reported at its place"
	vm 2 'prbdctl resync r0 --peer 3 --range 5M:64K'
	for t in $(seq 1 30); do
		[ -n "$(done_bytes 3 'range repair')" ] && break
		sleep 1
	done
	[ -n "$(done_bytes 3 'range repair')" ] || fail "no repair on node 3"
	klog 3 'range repair'
	out=$(rig_exec 2 'prbdctl verify r0 --range 0:32M') || fail "still divergent: $out"
	echo "$out"
}

# Foreground 4 KiB writes (fio, queue depth 4, 8 s) on the primary alone,
# during a full resync of node 3 capped at 4 MiB/s (asserted: the cap holds
# and the writes keep at least half their IOPS), and during the rest of it
# uncapped (for comparison); the VM-to-VM link first, for reference.
throttle() {
	local base during rate link p i
	for i in 1 2; do
		[ "$(repl_field $i role)" = primary ] && p=$i
	done
	[ -n "$p" ] || fail "no primary among nodes 1 and 2"
	fio1() {
		rig_exec $p "fio --name=f --filename=/dev/prbd0 --rw=randwrite --bs=4k --size=$((REGION * 4096)) --direct=1 --iodepth=4 --ioengine=libaio --time_based --runtime=8 --output-format=terse" |
			awk -F';' '/^3;/ { print int($49) }'
	}
	# the link, idle: 128 MiB from the primary to node 3 over TCP
	rig_exec_bg 3 'socat -u TCP-LISTEN:7999,reuseaddr OPEN:/dev/null' >/dev/null
	sleep 1
	link=$(rig_exec $p "s=\${EPOCHREALTIME/./}; socat -u OPEN:/dev/zero,readbytes=134217728 TCP:$(rig_ip 3):7999; e=\${EPOCHREALTIME/./}; echo \$((134217728 * 1000000 / (e - s)))")
	echo "link node $p -> node 3 (TCP, idle): $link bytes/s"
	base=$(fio1)
	node_down 3
	repl_node_wipe 3
	repl_write_res 3 $N "" "" "resync-rate = 4M"
	node_up 3
	wait_progress 3 1
	during=$(fio1)
	rate=$(repl_field 3 resync_rate)
	vm 3 'prbdctl status'
	[ "$(repl_field 3 disk_state)" = inconsistent ] || fail "the resync ended before fio did"
	echo "foreground IOPS on node $p alone: $base; during a resync at $rate bytes/s (cap 4 MiB/s): $during"
	[ -n "$base" ] && [ -n "$during" ] && [ "$base" -gt 0 ] || fail "no fio result"
	[ "$rate" -le $((4 * 1048576 * 5 / 4)) ] || fail "resync at $rate bytes/s above its cap"
	[ $((during * 100 / base)) -ge 50 ] || fail "foreground IOPS fell to $((during * 100 / base))%"
	vm 3 'prbdctl set r0 --resync-rate 0'
	repl_write_res 3 $N
	sleep 1
	during=$(fio1)
	echo "foreground IOPS during the uncapped rest ($(repl_field 3 resync_rate) bytes/s): $during"
	wait_whole 3 300
	klog 3 'resync from node [0-9]+ done'
}

no_warnings() { repl_no_warnings 1 2 3; }

ktap_run "3 nodes up, node 1 primary" setup
ktap_run "a follower away for a short burst catches up from the log; verify finds nothing" short_outage
ktap_run "a follower away while writes overrun the log: bulk resync of only the changed chunks" long_outage
ktap_run "a wiped disk: full resync, identical, verify clean" wiped_disk
ktap_run "the resync target killed mid-resync resumes where it was" target_killed
ktap_run "the leader killed mid-resync: it continues from the new leader; acknowledged writes intact" leader_killed
ktap_run "verify finds a divergence planted on a backing disk; resync --range repairs it" divergence_repaired
ktap_run "a capped resync keeps foreground writes going" throttle
ktap_run "no kernel warnings" no_warnings
rig_stop
ktap_finish
