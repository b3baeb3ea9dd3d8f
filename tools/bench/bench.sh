#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2317 # the tgt_* functions are called by tgt()
#
# prbd benchmarks (make bench): fio against the raw disk of a guest, prbd and
# in-tree DRBD 8.4 protocol C, all in ONE run on the same VMs of the rig.
#
#   4k randwrite qd1   IOPS, p50 and p99 completion latency
#   4k randwrite qd32  IOPS
#   1M write qd4       MB/s (sequential)
#
# fio: direct=1, ioengine=libaio, time based (BENCH_RUNTIME s after
# BENCH_RAMP s of ramp), on the first BENCH_SIZE of each device.
#
# One run: boot as many guests as the largest available target needs (2
# today), fill every guest's disk once (no job pays for the host file system
# allocating the sparse disk file), then each target in turn on the same
# guests: setup, the five jobs, dmesg check, teardown.
#
# Targets (one function each, tgt_NAME, see below; run in this order):
#   raw    /dev/vda of guest 1 (virtio-blk on a raw file, cache=none,aio=native)
#   prbd1  /dev/prbd0, one-node group on guest 1's /dev/vda (majority of one),
#          set up exactly as selftests/device/single_node.sh
#   prbd1f the same with durability = flush (module parameter
#          experimental_flush=1; not in the default list)
#   drbd   /dev/drbd0, in-tree DRBD 8.4.11 protocol C, guest 1 primary and
#          guest 2 secondary, each on its own whole /dev/vda with internal meta
#          data (guest 1's disk is reused after prbd1 is torn down)
#   prbd3, prbd5  replicated prbd on guests 1-3 / 1-5, each on its whole
#          /dev/vda (log ring 1/16 of the disk, the default), guest 1 primary
#          (any prbdN, N > 1: one target, tgt_prbdn; prbdNnr without relay,
#          prbdNf with durability = flush)
# Adding a target is one tgt_NAME function and its name in BENCH_TARGETS.
#
# Other VMs on this 2-core host distort every figure: the run waits for them
# to end first, and any fio job during which one ran is marked with a dagger
# in the table.
#
# Output: a markdown table on stdout and in build/bench/results-STAMP.md
# (ratios prbd/raw and prbd/DRBD), raw fio JSON in build/bench/raw-STAMP/,
# a bar plot results-STAMP.png when gnuplot is installed.
#
# Settings (environment): BENCH_TARGETS ("raw prbd1 drbd prbd3 prbd5"; also
# prbd3nr and prbd5nr: without payload relay, prbd1f, prbd3f: durability
# flush),
# BENCH_RUNTIME (20), BENCH_RAMP (3), BENCH_SIZE (256M), BENCH_OUT
# (build/bench), BENCH_IDLE_WAIT (900: seconds to wait for other VMs to end).
# Needs root (the rig) and 'make initramfs' (run when the image is missing).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=$TOP/tools/bench
. "$TOP/selftests/lib.sh"	# the rig and the resource files

BENCH_TARGETS=${BENCH_TARGETS:-raw prbd1 drbd prbd3 prbd5}
BENCH_RUNTIME=${BENCH_RUNTIME:-20}
BENCH_RAMP=${BENCH_RAMP:-3}
BENCH_SIZE=${BENCH_SIZE:-256M}
BENCH_OUT=${BENCH_OUT:-$TOP/build/bench}
BENCH_IDLE_WAIT=${BENCH_IDLE_WAIT:-900}
BENCH_TESTS=(rw4k_qd1 rw4k_qd32 seq1m_qd4 rr4k_qd32 mix4k_qd16)
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-300}

STAMP='' RAW='' STATUS='' # set when the run starts (after waiting for other VMs)

log() { echo "# bench: $*" >&2; }

# gx I CMD: run CMD in guest I; on failure print its output and return 1.
gx() {
	local out rc=0
	out=$(rig_exec "$@") || rc=$?
	if [ $rc -ne 0 ]; then
		log "vm$1: '${*:2}' exited $rc: $out"
		return 1
	fi
	[ -n "$out" ] && printf '%s\n' "$out" >&2
	return 0
}

# --- the fio jobs ----------------------------------------------------------

fio_args() { # fio_args TEST: the job-specific options
	case $1 in
	rw4k_qd1) echo "--rw=randwrite --bs=4k --iodepth=1" ;;
	rw4k_qd32) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
	seq1m_qd4) echo "--rw=write --bs=1M --iodepth=4" ;;
	rr4k_qd32) echo "--rw=randread --bs=4k --iodepth=32" ;;
	mix4k_qd16) echo "--rw=randrw --rwmixread=70 --bs=4k --iodepth=16" ;;
	esac
}

# run_fio TARGET VM DEV: the five jobs; JSON into $RAW/TARGET-TEST.json.
run_fio() {
	local tgt=$1 i=$2 dev=$3 t sampler rc
	for t in "${BENCH_TESTS[@]}"; do
		log "$tgt: $t on vm$i:$dev (${BENCH_RAMP}+${BENCH_RUNTIME} s)"
		# note any other VM that runs on the host during the job
		(while kill -0 $$ 2>/dev/null; do other_vms; sleep 1; done) > "$RAW/$tgt-$t.others" &
		sampler=$!
		gx "$i" "fio --name=$t --filename=$dev --direct=1 --ioengine=libaio \
			--time_based --runtime=$BENCH_RUNTIME --ramp_time=$BENCH_RAMP \
			--size=$BENCH_SIZE --norandommap --randrepeat=0 $(fio_args "$t") \
			--output-format=json --output=/tmp/$t.json >/tmp/$t.err 2>&1 ||
			{ cat /tmp/$t.err; exit 1; }
			cp /tmp/$t.json /mnt/share/$tgt-$t.json"
		rc=$?
		kill "$sampler" 2>/dev/null
		wait "$sampler" 2>/dev/null
		if [ -s "$RAW/$tgt-$t.others" ]; then
			printf '%s\tdisturbed\t%s\n' "$tgt" "$t" >> "$STATUS"
			log "$tgt: $t ran alongside other VMs: $(tr ' ' '\n' < "$RAW/$tgt-$t.others" | sort -u | xargs)"
		fi
		rm -f "$RAW/$tgt-$t.others"
		[ $rc -eq 0 ] || return 1
		mv "$RIG_DIR/share/$tgt-$t.json" "$RAW/$tgt-$t.json" || return 1
	done
}

# --- the targets -------------------------------------------------------------
# tgt_NAME nodes     guests the target needs
# tgt_NAME label     its name in the table
# tgt_NAME available returns 1, printing why, when it cannot run yet
# tgt_NAME setup     bring it up; sets TGT_VM and TGT_DEV (where fio runs)
# tgt_NAME teardown  leave every guest's /dev/vda free for the next target

tgt_raw() {
	case $1 in
	nodes) echo 1 ;;
	label) echo "raw disk (/dev/vda)" ;;
	setup) TGT_VM=1 TGT_DEV=/dev/vda ;;
	available | teardown) ;;
	esac
}

tgt_prbd1() { # exactly as selftests/device/single_node.sh
	case $1 in
	nodes) echo 1 ;;
	label) echo "prbd, 1 node" ;;
	available) ;;
	setup)
		gx 1 "$(res_install_cmd "$(bench_res 1)")" || return 1
		gx 1 'prbdctl create-md r0' || return 1
		gx 1 'modprobe prbd && prbdctl up r0 && prbdctl primary r0 && test -b /dev/prbd0' || return 1
		gx 1 'prbdctl status | grep -q "role primary"' || return 1
		TGT_VM=1 TGT_DEV=/dev/prbd0
		;;
	teardown) gx 1 'prbdctl secondary r0 && prbdctl down r0 && rmmod prbd' ;;
	esac
}

# prbd1 with durability = flush (experimental: fio's direct writes carry no
# FUA, so no log record is flushed; the checkpoints still flush)
tgt_prbd1f() {
	case $1 in
	nodes) echo 1 ;;
	label) echo "prbd, 1 node, durability flush" ;;
	available) ;;
	setup)
		gx 1 "$(res_install_cmd "$(bench_res 1 |
			sed 's/^node-id = 1$/&\ndurability = flush/')")" || return 1
		gx 1 'prbdctl create-md --force r0' || return 1	# after prbd1
		gx 1 'modprobe prbd experimental_flush=1 && prbdctl up r0 && prbdctl primary r0 && test -b /dev/prbd0' || return 1
		gx 1 'prbdctl status | grep -q "durability flush"' || return 1
		TGT_VM=1 TGT_DEV=/dev/prbd0
		;;
	teardown) gx 1 'prbdctl secondary r0 && prbdctl down r0 && rmmod prbd' ;;
	esac
}

# In-tree DRBD 8.4.11 (its userspace /lib/drbd/drbdsetup-84), protocol C,
# internal meta data on each guest's /dev/vda, initial sync skipped; default
# DRBD settings otherwise.  The usermode helper must not be drbdadm (no config).
drbd_up() { # drbd_up I PEER
	local i=$1 p=$2
	gx "$i" "modprobe drbd usermode_helper=/bin/true && mkdir -p /var/lock &&
		dd if=/dev/zero of=/dev/vda bs=1M count=16 oflag=direct 2>/dev/null &&
		drbdmeta --force 0 v08 /dev/vda internal create-md >/tmp/drbdmeta.log 2>&1 ||
			{ cat /tmp/drbdmeta.log; exit 1; }
		S=/lib/drbd/drbdsetup-84
		\$S new-resource r0 && \$S new-minor r0 0 0 &&
		\$S attach 0 /dev/vda /dev/vda internal &&
		\$S connect r0 ipv4:$(rig_ip "$i"):7789 ipv4:$(rig_ip "$p"):7789 --protocol=C"
}

tgt_drbd() {
	case $1 in
	nodes) echo 2 ;;
	label) echo "DRBD 8.4 prot. C, 2 nodes" ;;
	available) ;;
	setup)
		drbd_up 1 2 && drbd_up 2 1 || return 1
		gx 1 'for n in $(seq 1 60); do grep -q "cs:Connected" /proc/drbd && exit 0; sleep 0.5; done
			cat /proc/drbd; exit 1' || return 1
		gx 1 '/lib/drbd/drbdsetup-84 new-current-uuid 0 --clear-bitmap &&
			/lib/drbd/drbdsetup-84 primary 0' || return 1
		gx 1 'for n in $(seq 1 20); do grep -q "ds:UpToDate/UpToDate" /proc/drbd && exit 0; sleep 0.5; done
			cat /proc/drbd; exit 1' || return 1
		rig_exec 1 'cat /proc/drbd' | sed 's/^/# drbd: /' >&2
		TGT_VM=1 TGT_DEV=/dev/drbd0
		;;
	teardown)
		gx 1 '/lib/drbd/drbdsetup-84 secondary 0; /lib/drbd/drbdsetup-84 down r0 && rmmod drbd'
		gx 2 '/lib/drbd/drbdsetup-84 down r0 && rmmod drbd'
		;;
	esac
}

# bench_res N: the resource file (selftests/lib.sh): single_res for one
# node, else N nodes with the bench's secret and cluster UUID
bench_res() {
	if [ "$1" = 1 ]; then
		single_res
	else
		repl_res "$1" bench-secret 8a1e5c3d-2f4b-4c6a-9e7d-1b0f3a5c7e9d
	fi
}

# Replicated prbd on N guests: every node in one resource file, create-md
# (--force: the disks may hold the DRBD target's meta data) and up on each,
# guest 1 primary; fio runs on guest 1, the leader.
prbdn_setup() { # prbdn_setup N
	local i
	for i in $(seq 1 "$1"); do
		gx "$i" "$(res_install_cmd "$(bench_res "$1" |
			sed "s/^name = r0\$/&${PRBD_EXTRA:+\\n$PRBD_EXTRA}/")")
modprobe prbd ${PRBD_MODPARAMS:-} && prbdctl create-md --force r0 >/dev/null && prbdctl up r0" || return 1
	done
	gx 1 'for n in $(seq 1 30); do prbdctl primary r0 2>/dev/null && break; sleep 1; done
		prbdctl status | grep -q "role primary"' || return 1
	rig_exec 1 'prbdctl status' | sed 's/^/# prbd: /' >&2
	TGT_VM=1 TGT_DEV=/dev/prbd0
}

prbdn_teardown() { # prbdn_teardown N
	local i
	gx 1 'prbdctl secondary r0'
	for i in $(seq 1 "$1"); do
		gx "$i" 'prbdctl down r0 && rmmod prbd'
	done
}

# prbdN: prbd on N nodes; prbdNnr: the same without payload relay (module
# parameter relay=0: the leader sends every payload to every follower);
# prbdNf: with durability = flush (experimental_flush=1).
# Called as tgt_prbdn N NR F ACTION by tgt() for prbd3, prbd5, prbd3nr...
tgt_prbdn() {
	local n=$1 params="" extra="" label=""
	[ -n "$2" ] && params="relay=0" label=", no relay"
	[ -n "$3" ] && params="$params experimental_flush=1" \
		extra="durability = flush" label="$label, durability flush"
	case $4 in
	nodes) echo "$n" ;;
	label) echo "prbd, $n nodes$label" ;;
	available) ;;
	setup) PRBD_MODPARAMS=$params PRBD_EXTRA=$extra prbdn_setup "$n" ;;
	teardown) prbdn_teardown "$n" ;;
	esac
}

# tgt NAME ACTION: run ACTION of target NAME (tgt_NAME, or tgt_prbdn)
tgt() {
	local t=$1
	shift
	if declare -F "tgt_$t" >/dev/null; then
		tgt_"$t" "$@"
	elif [[ $t =~ ^prbd([0-9]+)(nr)?(f)?$ ]] && [ "${BASH_REMATCH[1]}" -gt 1 ]; then
		tgt_prbdn "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "$@"
	else
		echo "bench: no target $t" >&2
		return 1
	fi
}

other_vms() { # pids of qemu processes not of this rig
	local p mine=" "
	for p in "${RIG_DIR:-/nonexistent}"/vm*.pid; do
		[ -f "$p" ] && mine+="$(cat "$p") "
	done
	for p in $(pgrep -f '^qemu-system'); do
		[[ $mine == *" $p "* ]] || printf '%s ' "$p"
	done
}

# --- the run -----------------------------------------------------------------

# Root, a guest kernel and initramfs, and no other VM on this 2-core host
# (they would distort every figure): wait up to BENCH_IDLE_WAIT for them.
bench_prepare() {
	local others t0=$SECONDS
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: needs root (the VM rig)" >&2
		exit 1
	fi
	if [ ! -f "$RIG_KERNEL" ] || [ ! -f "$RIG_INITRD" ]; then
		log "no guest kernel or initramfs: make initramfs"
		make -C "$TOP" -s initramfs || exit 1
	fi
	if others=$(other_vms) && [ -n "$others" ]; then
		log "waiting up to ${BENCH_IDLE_WAIT} s for other VMs to end: $others"
		while [ $((SECONDS - t0)) -lt "$BENCH_IDLE_WAIT" ] && [ -n "$(other_vms)" ]; do
			sleep 5
		done
	fi
}

main() {
	local t i why others n=1 t0=$SECONDS
	bench_prepare
	STAMP=$(date -u +%Y%m%d-%H%M%S)
	RAW=$BENCH_OUT/raw-$STAMP
	STATUS=$RAW/status # NAME<TAB>ok|unavailable|failed|disturbed|warning<TAB>text
	mkdir -p "$RAW"
	: > "$STATUS"

	# as many guests as the largest available target needs
	for t in $BENCH_TARGETS; do
		tgt "$t" nodes >/dev/null || exit 1
		tgt "$t" available >/dev/null && [ "$(tgt "$t" nodes)" -gt "$n" ] && n=$(tgt "$t" nodes)
	done
	log "targets: $BENCH_TARGETS; $n guest(s); ${BENCH_RAMP}+${BENCH_RUNTIME} s a job"
	# not /tmp/prbd-rig.*: that is where the tests' rig_reap looks
	RIG_DIR=$(mktemp -d /tmp/prbd-bench.XXXXXX)
	rig_start "$n" || { log "rig did not boot"; exit 1; }
	# Allocate the sparse disk files first, so no job pays for the host file
	# system filling holes.
	for i in $(seq 1 "$n"); do
		gx "$i" 'dd if=/dev/zero of=/dev/vda bs=1M oflag=direct 2>/dev/null; true' || exit 1
	done
	{
		echo "guest kernel: $(rig_exec 1 'uname -r'), $(rig_exec 1 'fio --version')"
		echo "host: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), qemu $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') -accel tcg, 1 vCPU and ${RIG_MEM} MiB a guest"
		echo "other VMs on the host at the start: $(other_vms | wc -w)"
		echo "tree: $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)$(git -C "$TOP" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
	} > "$RAW/env"

	for t in $BENCH_TARGETS; do
		TGT_VM="" TGT_DEV=""
		if ! why=$(tgt "$t" available); then
			printf '%s\tunavailable\t%s\n' "$t" "$why" >> "$STATUS"
			log "$t: $why"
			continue
		fi
		log "$t: setup"
		if ! tgt "$t" setup; then
			printf '%s\tfailed\tsetup failed\n' "$t" >> "$STATUS"
			tgt "$t" teardown
			continue
		fi
		if run_fio "$t" "$TGT_VM" "$TGT_DEV"; then
			printf '%s\tok\t%s\n' "$t" "vm$TGT_VM:$TGT_DEV" >> "$STATUS"
		else
			printf '%s\tfailed\tfio failed\n' "$t" >> "$STATUS"
		fi
		for i in $(seq 1 "$n"); do
			rig_dmesg_check "$i" 2>"$RAW/$t-vm$i.dmesg" ||
				printf '%s\twarning\tkernel warnings on vm%s (raw-%s/%s-vm%s.dmesg)\n' \
					"$t" "$i" "$STAMP" "$t" "$i" >> "$STATUS"
			[ -s "$RAW/$t-vm$i.dmesg" ] || rm -f "$RAW/$t-vm$i.dmesg"
		done
		tgt "$t" teardown || log "$t: teardown failed"
	done
	echo "other VMs on the host at the end: $(other_vms | wc -w)" >> "$RAW/env"
	rig_stop

	local labels=()
	for t in $BENCH_TARGETS; do labels+=("$t=$(tgt "$t" label)"); done
	python3 "$BENCH_DIR/report.py" "$RAW" "$BENCH_OUT/results-$STAMP" \
		"runtime=$BENCH_RUNTIME ramp=$BENCH_RAMP size=$BENCH_SIZE" "${labels[@]}" || exit 1
	if command -v gnuplot >/dev/null; then
		gnuplot -e "dat='$BENCH_OUT/results-$STAMP.dat'; out='$BENCH_OUT/results-$STAMP.png'" \
			"$BENCH_DIR/plot.gp" && log "plot: $BENCH_OUT/results-$STAMP.png"
	fi
	cat "$BENCH_OUT/results-$STAMP.md"
	log "done in $((SECONDS - t0)) s: $BENCH_OUT/results-$STAMP.md, raw fio JSON in $RAW"
	! grep -q "$(printf '\tfailed\t')" "$STATUS" # a target that failed fails the run
}

# --- BENCH=bpf: the cost of the eBPF probes (make bench-bpf) ------------------
# prbd on a 3-node group (guest 1 primary; BENCH_BPF_NODES=1: a one-node
# group, set up as the prbd1 target), 4k randwrite qd32 (BENCH_BPF_QD), alternately
# without and with prbd-lat attached on every node (every tracepoint of prbd.ko then runs
# a program), BENCH_BPF_ROUNDS (2) rounds of both, in one run on the same
# guests.  Prints each job's IOPS, the means and the cost of the probes, and
# the histograms prbd-lat collected on each node during the last probed job.  Output in
# build/bench/bpf-STAMP.md, fio JSON in build/bench/raw-bpf-STAMP/.

bpf_iops() { # bpf_iops FIO_JSON
	python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"]))' "$1"
}

bpf_main() {
	local i r mode t0=$SECONDS others out iops mark md
	local rounds=${BENCH_BPF_ROUNDS:-2} nodes=${BENCH_BPF_NODES:-3} off=() on=() res
	local qd=${BENCH_BPF_QD:-32}
	bench_prepare
	STAMP=$(date -u +%Y%m%d-%H%M%S)
	RAW=$BENCH_OUT/raw-bpf-$STAMP
	md=$BENCH_OUT/bpf-$STAMP.md
	mkdir -p "$RAW"
	RIG_DIR=$(mktemp -d /tmp/prbd-bench.XXXXXX)
	case $nodes in
	1 | 3) res=$(bench_res "$nodes") ;;
	*) echo "bench: BENCH_BPF_NODES must be 1 or 3" >&2; exit 1 ;;
	esac
	rig_start "$nodes" || { log "rig did not boot"; exit 1; }
	for i in $(seq 1 "$nodes"); do
		gx "$i" 'dd if=/dev/zero of=/dev/vda bs=1M oflag=direct 2>/dev/null; true' || exit 1
		gx "$i" "$(res_install_cmd "$res")
modprobe prbd && prbdctl create-md r0 >/dev/null && prbdctl up r0" || exit 1
	done
	gx 1 'prbdctl primary r0 && prbdctl status | grep -q "role primary"' || exit 1
	for r in $(seq 1 "$rounds"); do
		for mode in off on; do
			for i in $(seq 1 "$nodes"); do
				if [ $mode = on ]; then
					gx "$i" 'prbd-lat attach >/dev/null && prbd-lat reset >/dev/null' || exit 1
				else
					gx "$i" 'prbd-lat detach >/dev/null' || exit 1
				fi
			done
			log "round $r, probes $mode: 4k randwrite qd$qd (${BENCH_RAMP}+${BENCH_RUNTIME} s)"
			others=$(other_vms)
			gx 1 "fio --name=bpf --filename=/dev/prbd0 --direct=1 --ioengine=libaio \
				--time_based --runtime=$BENCH_RUNTIME --ramp_time=$BENCH_RAMP \
				--size=$BENCH_SIZE --norandommap --randrepeat=0 --rw=randwrite --bs=4k \
				--iodepth=$qd --output-format=json --output=/tmp/bpf.json >/tmp/bpf.err 2>&1 ||
				{ cat /tmp/bpf.err; exit 1; }
				cp /tmp/bpf.json /mnt/share/bpf-$r-$mode.json" || exit 1
			mv "$RIG_DIR/share/bpf-$r-$mode.json" "$RAW/" || exit 1
			mark=''
			[ -n "$others$(other_vms)" ] && mark='†'
			iops=$(bpf_iops "$RAW/bpf-$r-$mode.json") || exit 1
			log "round $r, probes $mode: $iops IOPS$mark"
			if [ $mode = on ]; then on+=("$iops$mark"); else off+=("$iops$mark"); fi
		done
	done
	out=''
	for i in $(seq 1 "$nodes"); do
		out+="node $i:"$'\n'"$(rig_exec "$i" 'prbd-lat show --per-peer')"$'\n'
		gx "$i" 'prbd-lat detach >/dev/null'
		rig_dmesg_check "$i" || log "kernel warnings on vm$i"
	done
	rig_stop
	{
		echo "## prbd, $nodes node(s): 4k randwrite qd$qd IOPS without / with prbd-lat attached ($STAMP UTC)"
		echo
		echo "fio libaio direct, ${BENCH_RAMP}+${BENCH_RUNTIME} s a job, first $BENCH_SIZE of the device; tree $(git -C "$TOP" rev-parse --short HEAD)$(git -C "$TOP" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes'); † = another VM ran on the host during the job"
		echo
		echo "| round | probes off | probes on |"
		echo "|---|---:|---:|"
		for r in $(seq 1 "$rounds"); do
			echo "| $r | ${off[r - 1]} | ${on[r - 1]} |"
		done
		python3 -c '
import sys
a = sys.argv[1:]
k = a.index("--")
off = [float(x) for x in a[:k]]
on = [float(x) for x in a[k + 1:]]
mo, mn = sum(off) / len(off), sum(on) / len(on)
print(f"| mean | {mo:.0f} | {mn:.0f} |")
print()
print(f"cost of the probes: {100 * (1 - mn / mo):+.1f}% IOPS (negative: more IOPS with them)")
' "${off[@]//†/}" -- "${on[@]//†/}"
		echo
		echo "prbd-lat show --per-peer on every node after the last probed job:"
		echo
		echo '```'
		echo "$out"
		echo '```'
	} > "$md"
	cat "$md"
	log "done in $((SECONDS - t0)) s: $md, fio JSON in $RAW"
}

if [ "${BENCH:-}" = bpf ]; then
	bpf_main
else
	main "$@"
fi
exit # never read past this line if the file changes while it runs
