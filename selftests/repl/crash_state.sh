#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Crash states with dm-log-writes: does prbd survive a power cut that loses
# the disks' volatile write caches?  A kill -9 of QEMU cannot tell: the host
# keeps whatever the guest wrote, flushed or not.
#
# Recording: each of 3 guests puts dm-log-writes over its blank /dev/vda,
# logging to a second disk (/dev/vdb, RIG_LOGDISK=1), and prbd runs on
# /dev/mapper/lw from create-md on.  A checked writer (prbd-blkcheck) runs
# on the primary; NMARKS times during the run the writes it has reported
# completed are saved, and only then a mark mK goes into all three logs, so
# every write completed before the mark is, as far as it reached a disk,
# in each log before the mark (or in the volatile cache at the mark).
#
# Crash points (mark, seed): prbd-logreplay rebuilds each node's disk from
# its log: everything up to the last flush before the mark and every FUA
# write; without a seed nothing of the volatile cache, with one a random
# subset of it (seed*10+node, printed) - see tools/crash/prbd-logreplay.c.
# The three guests boot on these disks, prbd comes up on all of them, a
# node is promoted (it rotates), and every write completed before the mark
# must be intact on it; then the replicas must agree and verify be clean.
#
#   CRASH_POINTS=N    crash points (default 3: the first without a seed)
#   CRASH_SEED=S      base of the seeds (default random, printed)
#   CRASH_BROKEN=1    boot the deliberately broken module of 'make
#                     crash-broken' (log records without FUA): the test
#                     must then fail ('make crash-broken-test')
#   CRASH_DURABILITY=flush  the group runs durability = flush (prbd
#                     loaded with experimental_flush=1): log records are
#                     plain writes, and only a FUA or flush makes writes
#                     durable on a majority.  The writer's O_DIRECT|O_DSYNC
#                     writes are FUA writes, so every write it reported
#                     completed must survive here too; the nodes all
#                     restart uncleanly, as suspects, and elect a leader
#                     that may drop unflushed slots.  Not in make test:
#                     it fails today (the two nodes outside the lossy
#                     leader's epoch find no reset source and the leader
#                     cannot keep leading without their votes; see
#                     Documentation/prbd-write-path.rst, "Power cut of
#                     every node")
RIG_LOGDISK=1
RIG_DISK_SIZE=${RIG_DISK_SIZE:-256M}
RIG_LOGDISK_SIZE=${RIG_LOGDISK_SIZE:-1G}
. "$(dirname "$0")/../lib.sh"
if [ "${CRASH_BROKEN:-0}" = 1 ]; then
	RIG_INITRD=$TOP/build/crash-broken/initramfs.cpio.lz4
fi
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}
REPL_MD_OPTS="--log-size 8M"
CRASH_DURABILITY=${CRASH_DURABILITY:-strict}
case $CRASH_DURABILITY in
strict) DUR_MOD="" DUR_RES="" ;;
flush) DUR_MOD="experimental_flush=1" DUR_RES="durability = flush" ;;
*) echo "CRASH_DURABILITY=$CRASH_DURABILITY: strict or flush" >&2; exit 2 ;;
esac
LOGREPLAY=$TOP/build/bin/prbd-logreplay

CRASH_POINTS=${CRASH_POINTS:-3}
CRASH_SEED=${CRASH_SEED:-$((RANDOM % 10000 + 1))}
NMARKS=$((CRASH_POINTS < 3 ? 3 : CRASH_POINTS > 6 ? 6 : CRASH_POINTS))
MARK_EVERY=3	# seconds of writes between marks
BLOCKS=2048	# 8 MiB checked region
QD=4
WSEED=4242	# the writer's seed
# checkpoints (data-area flushes) while recording: seconds apart, so the
# applies since the last one are in the volatile cache at a mark (the log
# filling up still forces one sooner)
CKPT_MS=5000

ktap_plan $((CRASH_POINTS + 3))
ktap_diag "durability $CRASH_DURABILITY, crash points $CRASH_POINTS, seed base $CRASH_SEED (CRASH_SEED=$CRASH_SEED repeats them), $NMARKS marks"

selftest() {
	[ -x "$LOGREPLAY" ] || fail "no $LOGREPLAY: run 'make'"
	python3 "$TOP/tools/crash/logreplay-selftest.py" "$LOGREPLAY" "$RIG_DIR/selftest"
}

# res DISK: the resource file of 3 nodes on DISK
write_res() {
	local i
	for i in 1 2 3; do
		vm "$i" "mkdir -p /etc/prbd.d && cat > /etc/prbd.d/r0.res <<'EOF'
$(repl_res 3 "" "" "$DUR_RES" | sed "s|^disk = .*|disk = $1|")
EOF
chmod 600 /etc/prbd.d/r0.res"
	done
}

# Marks.  "bash /tmp/mark.sh NAME" on node 1 counts the writes the writer
# has reported completed (whole lines of a copy of its log) and then has
# mark NAME put into the three logs at once, through a marker started
# before the writes: on nodes 2 and 3 a loop reading mark names from one
# TCP connection (control network, port 7200) and running dmsetup; on
# node 1 a loop holding both connections that takes the copy, sends the
# name to both, marks its own log and collects the results; the writer is
# stopped (SIGSTOP) for the count and the marks, and the marks wait until
# every peer has acknowledged the leader's commit index, so no write is in
# flight between one node's mark and another's (the marks are not simultaneous,
# and a state cut at them must still be one a power cut can give).  Each node
# flushes its disk right after its mark, still quiet: dm-log-writes logs the
# plain writes in the cache at the mark only at the next flush, and any that
# completed later would be logged with them (prbd-logreplay cannot tell
# them apart, and leaves out only the FUA writes after the mark).  No process
# starts between the count and the marks, so they follow within
# milliseconds (a round trip through the host or a rig agent takes a
# second or more on a loaded host, long enough for the nodes to flush what
# the writes left in their caches and hide a missing flush).  mark.sh
# prints "COUNT writes completed before NAME, marks placed MS ms after the
# count".
marker() {
	cat > "$RIG_DIR/share/markd.sh" <<'EOF'
while read -r m; do
	dmsetup message lw 0 mark "$m" > /dev/null 2>> /tmp/markd.err &&
		sync /dev/mapper/lw 2>> /tmp/markd.err
	echo "$? $m"
done
EOF
	cat > "$RIG_DIR/share/markc.sh" <<'EOF'
for t in $(seq 1 50); do
	exec 3<>/dev/tcp/10.78.0.2/7200 4<>/dev/tcp/10.78.0.3/7200 2>/dev/null && break
	exec 3>&- 4>&-
	sleep 0.2
done
[ -e /proc/self/fd/4 ] || { echo "no marker on nodes 2 and 3"; exit 1; }
rm -f /tmp/markq && mkfifo /tmp/markq && echo ready > /tmp/markc.ready
while :; do
	read -r m < /tmp/markq || continue
	# the writer pauses around the marks: they land on the three nodes
	# tens of ms apart, and with writes going on one node's log could
	# hold a commit hint that depends on another node's records written
	# after that node's mark (a crash state no power cut can produce)
	w=$(pidof prbd-blkcheck)
	[ -n "$w" ] && kill -STOP $w
	sleep 0.2
	# and the group is quiet: every peer has acknowledged the leader's
	# commit index, the same twice 100 ms apart (writes submitted before
	# the stop may still be on their way through the log appends: a
	# fixed pause left one in flight on a loaded host)
	prev=
	for t in $(seq 1 50); do
		s=$(prbdctl status r0 2>/dev/null | awk '
			/paxos/ { for (i = 1; i <= NF; i++) if ($i == "commit") c = $(i + 1) }
			/^ *peer .* match/ { for (i = 1; i <= NF; i++) if ($i == "match") m = m " " $(i + 1) }
			END { print c "|" m }')
		ok=1
		for x in ${s#*|}; do [ "$x" = "${s%%|*}" ] || ok=0; done
		[ $ok = 1 ] && [ "$s" = "$prev" ] && break
		prev=$s
		sleep 0.1
	done
	t0=${EPOCHREALTIME/./}
	cp /tmp/w.log /tmp/snap-$m
	echo "$m" >&3
	echo "$m" >&4
	dmsetup message lw 0 mark "$m" && sync /dev/mapper/lw
	rc=$?
	read -r r2 <&3
	read -r r3 <&4
	t1=${EPOCHREALTIME/./}
	[ -n "$w" ] && kill -CONT $w
	echo "$rc $m|$r2|$r3|$(((t1 - t0) / 1000))" > /tmp/res-$m.tmp
	mv /tmp/res-$m.tmp /tmp/res-$m
done
EOF
	cat > "$RIG_DIR/share/mark.sh" <<'EOF'
m=$1
echo "$m" > /tmp/markq
for t in $(seq 1 300); do
	[ -e /tmp/res-$m ] && break
	sleep 0.2
done
IFS='|' read -r r1 r2 r3 ms < /tmp/res-$m || { echo "mark $m: no answer from the marker"; exit 1; }
[ "$r1|$r2|$r3" = "0 $m|0 $m|0 $m" ] || { echo "mark $m failed: $r1|$r2|$r3"; exit 1; }
n=$(wc -l < /tmp/snap-$m)
head -n "$n" /tmp/snap-$m > /mnt/share/ok-$m
echo "$n writes completed before $m, marks placed $ms ms after the count"
EOF
	local i
	for i in 2 3; do
		rig_exec_bg "$i" "exec socat TCP-LISTEN:7200,reuseaddr EXEC:'bash /mnt/share/markd.sh'" >/dev/null
	done
	vm 1 'cp /mnt/share/mark.sh /tmp/mark.sh'
	rig_exec_bg 1 'exec bash /mnt/share/markc.sh' >/dev/null
	for i in $(seq 1 30); do
		rig_exec 1 'test -e /tmp/markc.ready' && return 0
		sleep 1
	done
	vm 1 'cat /tmp/bg.log'
	fail "the marker did not start"
}

record() {
	local i k n wpid t0
	for i in 1 2 3; do
		vm "$i" 'modprobe dm-log-writes && export DM_DISABLE_UDEV=1 &&
			dmsetup create lw --table "0 $(blockdev --getsz /dev/vda) log-writes /dev/vda /dev/vdb" &&
			dmsetup message lw 0 mark start && dmsetup status lw'
	done
	write_res /dev/mapper/lw
	for i in 1 2 3; do
		vm "$i" "modprobe prbd checkpoint_ms=$CKPT_MS $DUR_MOD && prbdctl create-md $REPL_MD_OPTS r0 >/dev/null && prbdctl up r0"
	done
	repl_promote 1
	marker
	wpid=$(rig_exec_bg 1 "exec prbd-blkcheck write /dev/prbd0 $BLOCKS 100000000 $WSEED $QD > /tmp/w.log")
	[ -n "$wpid" ] || fail "the writer did not start"
	t0=$SECONDS
	for k in $(seq 1 "$NMARKS"); do
		sleep "$MARK_EVERY"
		n=$(vm 1 "bash /tmp/mark.sh m$k") || fail "mark m$k: $n"
		echo "$n"
		n=${n%% *}
		[ "$(repl_ok_lines "$RIG_DIR/share/ok-m$k")" = "$n" ] || fail "mark m$k: bad copy of the writer's log"
		for i in 1 2 3; do
			rig_exec "$i" "dmsetup status lw" | grep -q logging_disabled && fail "node $i: dm-log-writes stopped logging"
		done
	done
	vm 1 "kill -- -$wpid; sleep 1; ! kill -0 $wpid 2>/dev/null"
	vm 1 'cp /tmp/w.log /mnt/share/ok-all; tail -n 2 /tmp/w.log'
	[ "$(repl_ok_lines "$RIG_DIR/share/ok-m1")" -ge 20 ] || fail "too few writes before m1"
	# end the logs cleanly: dm-log-writes' destructor logs what is unflushed
	for i in 1 2 3; do
		vm "$i" 'prbdctl secondary r0 >/dev/null 2>&1; prbdctl down r0 && export DM_DISABLE_UDEV=1 &&
			dmsetup status lw && dmsetup remove lw'
	done
	for i in 1 2 3; do
		rig_crash "$i"
		mv "$RIG_DIR/log$i.raw" "$RIG_DIR/saved-log$i.raw"
		"$LOGREPLAY" list "$RIG_DIR/saved-log$i.raw" | sed "s/^/node $i: /"
		for k in $(seq 1 "$NMARKS"); do
			"$LOGREPLAY" list "$RIG_DIR/saved-log$i.raw" | grep -q "\"m$k\"" || fail "node $i: no mark m$k"
		done
	done
	# the highest seq the writer may have issued
	sed -n 's/^ok \([0-9]*\) .*/\1/p' "$RIG_DIR/share/ok-all" | sort -n | tail -n 1 > "$RIG_DIR/maxseq"
}

# crash_point P MARK SEED|-: rebuild the disks at MARK, boot, recover, check
crash_point() {
	local p=$1 mark=$2 seed=$3 i t s sums issued prim=$((($1 - 1) % 3 + 1))
	issued=$(($(cat "$RIG_DIR/maxseq") + 2 * QD))
	[ -s "$RIG_DIR/share/ok-$mark" ] || fail "no record of $mark (the recording failed)"
	for i in 1 2 3; do
		rig_crash "$i"
		rm -f "$RIG_DIR/disk$i.raw" "$RIG_DIR/log$i.raw"
		truncate -s "$RIG_DISK_SIZE" "$RIG_DIR/disk$i.raw"
		if [ "$seed" = - ]; then
			"$LOGREPLAY" replay "$RIG_DIR/saved-log$i.raw" "$RIG_DIR/disk$i.raw" --mark "$mark"
		else
			"$LOGREPLAY" replay "$RIG_DIR/saved-log$i.raw" "$RIG_DIR/disk$i.raw" --mark "$mark" \
				--seed $((seed * 10 + i))
		fi
	done
	for i in 1 2 3; do rig_boot "$i" || fail "node $i did not start"; done
	for i in 1 2 3; do rig_wait "$i" || fail "node $i did not boot"; done
	write_res /dev/vda
	for i in 1 2 3; do
		vm "$i" "modprobe prbd $DUR_MOD && prbdctl up r0"
	done
	repl_promote "$prim"
	echo "node $prim primary; checking the $(repl_ok_lines "$RIG_DIR/share/ok-$mark") writes completed before $mark"
	vm "$prim" "prbd-blkcheck check /dev/prbd0 $BLOCKS $WSEED $QD $issued < /mnt/share/ok-$mark"
	# settled: no peer catching up or resyncing (60 s at most), then the
	# replicas must agree (10 tries: a node may still apply its last slots)
	for t in $(seq 1 60); do
		rig_exec "$prim" 'prbdctl status' | grep -qE 'resyncing|catching-up|needs-resync' || break
		sleep 1
	done
	for t in $(seq 1 10); do
		s="" sums=()
		for i in 1 2 3; do
			sums+=("$(repl_sum "$i" $BLOCKS)")
			s="$s $i:${sums[-1]}"
		done
		[ -n "${sums[0]}" ] && [ "$(printf '%s\n' "${sums[@]}" | sort -u | wc -l)" = 1 ] && break
		if [ "$t" = 10 ]; then
			for i in 1 2 3; do
				echo "--- node $i"
				rig_exec "$i" 'prbdctl status; dmesg | grep prbd | tail -n 15' || true
			done
			rig_exec "$prim" 'prbdctl verify r0' || true
			fail "replicas differ:$s"
		fi
		sleep 1
	done
	echo "replicas agree on $BLOCKS blocks:$s"
	vm "$prim" 'prbdctl verify r0'
	for i in 1 2 3; do
		[ "$(repl_field "$i" disk_state)" = attached ] || fail "node $i disk $(repl_field "$i" disk_state)"
	done
	repl_no_warnings 1 2 3
}

no_warnings() { repl_no_warnings 1 2 3; }

rig_start 3 || ktap_bail "rig did not boot"
if [ "${CRASH_BROKEN:-0}" = 1 ]; then
	ktap_diag "module under test: $(rig_exec 1 'modinfo -F prbd_test prbd')"
fi
ktap_run "prbd-logreplay: synthetic logs replayed exactly, bad logs refused" selftest
ktap_run "3 nodes on dm-log-writes, checked writer, $NMARKS marks in all three logs" record
for p in $(seq 1 "$CRASH_POINTS"); do
	k=$(((p - 1) % NMARKS + 1))
	if [ "$p" = 1 ]; then
		s=-
		d="nothing of the volatile caches written back"
	else
		s=$((CRASH_SEED + p))
		d="volatile caches written back at random, seed $((s * 10))+node"
	fi
	ktap_run "crash point $p at m$k, $d: completed writes intact, replicas identical, verify clean" \
		crash_point "$p" "m$k" "$s"
done
ktap_run "no kernel warnings" no_warnings
rig_stop
ktap_finish
