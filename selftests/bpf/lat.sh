#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# eBPF latency histograms (bpf/prbd_lat.bpf.c, prbd-lat) on a 3-node group:
# after exactly N 4k O_DIRECT writes on the leader, the end-to-end write
# histogram counts N, propose->commit counts the slots the commit index
# advanced by, commit->apply likewise, each peer's accept histogram is
# non-empty; N reads count N; bpftool prints the pinned maps field by
# field; a second attach reuses the pins; detach leaves no program or pin.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}

NW=${LAT_WRITES:-200} # writes of the write run
NR=${LAT_READS:-150}  # reads of the read run
NPROGS=13             # programs in prbd_lat.bpf.o

ktap_plan 9
rig_start 3 || ktap_bail "rig did not boot"
JSON=$(mktemp /tmp/prbd-lat-test.XXXXXX)
trap 'rm -f "$JSON"; rig_stop' EXIT

setup() {
	repl_up 3
	vm 1 'test -d /sys/fs/bpf && test -e /sys/kernel/btf/prbd'
}

# nprogs: prbd programs loaded in guest 1 (names start with prbd_)
nprogs() { rig_exec 1 'bpftool prog show' | grep -c ' name prbd_' || true; }

attach() {
	vm 1 'prbd-lat attach'
	local n
	n=$(nprogs)
	echo "$n prbd programs loaded"
	[ "$n" -eq "$NPROGS" ] || fail "expected $NPROGS programs, found $n"
	vm 1 'test -e /sys/fs/bpf/prbd/prbd_hist && test -e /sys/fs/bpf/prbd/prbd_cnt'
	n=$(rig_exec 1 'ls /sys/fs/bpf/prbd | grep -c "^link_"' || true)
	[ "$n" -eq "$NPROGS" ] || fail "expected $NPROGS pinned links, found $n"
}

attach_twice() {
	local out n
	out=$(rig_exec 1 'prbd-lat attach') || fail "second attach failed: $out"
	echo "$out"
	echo "$out" | grep -q 'already attached' || fail "second attach did not report the pins"
	n=$(nprogs)
	[ "$n" -eq "$NPROGS" ] || fail "second attach: $n programs instead of $NPROGS"
}

commit_index() {
	rig_exec 1 'prbdctl status --json' |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["commit_index"])'
}

# show: prbd-lat show --json --per-peer of guest 1 into $JSON
show() { rig_exec 1 'prbd-lat show --json --per-peer' > "$JSON" || fail "prbd-lat show failed"; }

# count STAGE [PEER]: events in a histogram of $JSON (0 if absent)
count() {
	python3 - "$JSON" "$1" "${2:-0}" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(h["count"] for h in d["hists"]
	  if h["minor"] == 0 and h["stage"] == sys.argv[2] and h["peer"] == int(sys.argv[3])))
EOF
}

# fio_n RW N: exactly N 4 KiB O_DIRECT requests, one at a time (no merging)
fio_n() {
	vm 1 "fio --name=lat --filename=/dev/prbd0 --direct=1 --ioengine=psync --rw=$1 \
		--bs=4k --size=256M --number_ios=$2 --randrepeat=0 --output-format=terse \
		--output=/tmp/fio.out >/tmp/fio.err 2>&1 || { cat /tmp/fio.err; exit 1; }"
}

writes() {
	local c0 c1 slots w p a p2 p3
	vm 1 'prbd-lat reset'
	c0=$(commit_index)
	fio_n randwrite "$NW"
	sleep 1 # the drive work publishes the commit index after completing
	c1=$(commit_index)
	show
	slots=$((c1 - c0))
	w=$(count write) p=$(count propose_commit) a=$(count commit_apply)
	p2=$(count accept 2) p3=$(count accept 3)
	echo "$NW writes: write $w, commit index $c0 -> $c1 ($slots slots), propose_commit $p, commit_apply $a, accept peer2 $p2 peer3 $p3"
	[ "$w" -eq "$NW" ] || fail "write histogram counts $w, not $NW"
	if [ "$slots" -le 0 ] || [ "$slots" -gt "$NW" ]; then
		fail "implausible slot count $slots"
	fi
	[ "$p" -eq "$slots" ] || fail "propose_commit counts $p, not the $slots slots used"
	[ "$a" -eq "$slots" ] || fail "commit_apply counts $a, not the $slots slots used"
	[ "$p2" -gt 0 ] || fail "no accept round trip to peer 2"
	[ "$p3" -gt 0 ] || fail "no accept round trip to peer 3"
	[ "$(count log_persist)" -gt 0 ] || fail "no local log persist"
	rig_exec 1 'prbd-lat show' | sed -n '1,12p'
}

reads() {
	local r
	vm 1 'prbd-lat reset'
	fio_n randread "$NR"
	show
	r=$(count read)
	echo "$NR reads: read histogram $r, writes $(count write)"
	[ "$r" -eq "$NR" ] || fail "read histogram counts $r, not $NR"
	[ "$(count write)" -eq 0 ] || fail "reads counted as writes"
}

bpftool_dump() {
	local out
	out=$(rig_exec 1 'bpftool map dump pinned /sys/fs/bpf/prbd/prbd_hist') ||
		fail "bpftool map dump failed"
	echo "$out" | head -n 14
	for f in '"minor"' '"stage"' '"peer"' '"slots"' '"sum_us"' 'PRBD_LAT_READ'; do
		echo "$out" | grep -q "$f" || fail "bpftool output lacks $f"
	done
	rig_exec 1 'bpftool map dump pinned /sys/fs/bpf/prbd/prbd_cnt' | grep -q 'PRBD_CNT_READ_LOCAL' ||
		fail "counters not printed by name"
}

interval() {
	local out n
	rig_exec 1 "fio --name=bg --filename=/dev/prbd0 --direct=1 --ioengine=psync --rw=randwrite \
		--bs=4k --size=256M --time_based --runtime=4 --output=/dev/null" >/dev/null &
	out=$(rig_exec 1 'sleep 0.5; prbd-lat show -i 1 -c 2 --json')
	wait
	echo "$out" | cut -c1-160
	n=$(echo "$out" | grep -c '"interval_s"' || true)
	[ "$n" -eq 2 ] || fail "expected 2 interval reports, got $n"
	echo "$out" | tail -n 1 > "$JSON"
	[ "$(count write)" -gt 0 ] || fail "no writes counted in the last interval"
}

detach() {
	local n _
	vm 1 'prbd-lat detach'
	for _ in $(seq 1 10); do
		n=$(nprogs)
		[ "$n" -eq 0 ] && break
		sleep 0.5
	done
	[ "$n" -eq 0 ] || fail "$n prbd programs left after detach"
	vm 1 '! test -e /sys/fs/bpf/prbd'
	vm 1 'prbd-lat detach | grep -q "not attached"'
	vm 1 '! prbd-lat show 2>/dev/null'
	# and it attaches again after a detach
	vm 1 'prbd-lat attach >/dev/null && prbd-lat detach >/dev/null && ! test -e /sys/fs/bpf/prbd'
}

no_warnings() {
	local i
	for i in 1 2 3; do
		rig_dmesg_check "$i" || fail "vm$i: kernel warnings"
	done
}

ktap_run "3 nodes up, node 1 primary, bpffs and module BTF present" setup
ktap_run "prbd-lat attach: $NPROGS programs, maps and links pinned" attach
ktap_run "a second attach reuses the pins, loads nothing" attach_twice
ktap_run "$NW writes: write = $NW, propose_commit = commit_apply = slots, accepts per peer" writes
ktap_run "$NR reads: read histogram counts $NR" reads
ktap_run "bpftool map dump pinned prints key and value fields by name" bpftool_dump
ktap_run "interval mode: one report a second" interval
ktap_run "detach leaves no program and no pin" detach
ktap_run "no kernel warnings" no_warnings
rig_stop
ktap_finish
