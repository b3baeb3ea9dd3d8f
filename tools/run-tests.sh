#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: install what is missing, build everything, run every test group
# (build checks, Paxos unit tests and simulator, userspace, VM groups) and end
# with one line "N passed, N failed, N skipped".  Exits non-zero on any
# failure.  Each group prints KTAP; its top-level "ok"/"not ok" lines count.
#
#   GROUP="build rig"   run only these groups (default: all)
#   LOGDIR=dir          keep each group's output there (default build/test-logs)
#   GROUP_TIMEOUT=s     limit of each VM group (default 1200; make torture)
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
LOGDIR=${LOGDIR:-$TOP/build/test-logs}
mkdir -p "$LOGDIR"

passed=0
failed=0
skipped=0
summary=()

want() { [ -z "${GROUP:-}" ] || [[ " $GROUP " == *" $1 "* || " $GROUP " == *" ${1%%/*} "* ]]; }

# count LOG: the top-level KTAP results of a group's log: "pass fail skip".
count() {
	local p f s
	p=$(grep -Ec '^ok [0-9]+' "$1")
	s=$(grep -Ec '^ok [0-9]+.*# SKIP' "$1")
	f=$(grep -Ec '^not ok [0-9]+' "$1")
	echo "$((p - s)) $f $s"
}

# group NAME TIMEOUT COMMAND...: run one group, show its output, count it.
group() {
	local name=$1 limit=$2 rc t0=$SECONDS log res
	shift 2
	want "$name" || return 0
	log=$LOGDIR/${name//\//_}.log
	echo "### group $name: $*"
	timeout --kill-after=30 "$limit" "$@" > "$log" 2>&1
	rc=$?
	cat "$log"
	res=$(count "$log")
	set -- $res
	passed=$((passed + $1))
	failed=$((failed + $2))
	skipped=$((skipped + $3))
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$2" -eq 0 ]; then
		# died without reporting a failure (crash, timeout): that is one
		[ "$rc" -eq 124 ] && echo "not ok - group $name timed out after $limit s" ||
			echo "not ok - group $name exited $rc"
		failed=$((failed + 1))
	fi
	summary+=("$(printf '%-8s %4d s  pass %d fail %d skip %d (exit %d)' "$name" $((SECONDS - t0)) "$1" "$2" "$3" "$rc")")
}

# The build group: dependencies, a warning-free W=1 build with module BTF,
# checkpatch --strict clean on kmod/, no call cycle among the data-path
# files of kmod/ (tools/depgraph.py).
build_group() {
	local n=0 log=$LOGDIR/build-make.log
	echo "TAP version 13"
	echo "1..6"
	if tools/deps.sh > "$LOGDIR/deps.log" 2>&1; then
		echo "ok 1 dependencies installed"
	else
		sed 's/^/# /' "$LOGDIR/deps.log" | tail -n 20
		echo "not ok 1 dependencies installed"
	fi
	make -s clean-module >/dev/null 2>&1
	if make W=1 all initramfs > "$log" 2>&1; then
		if grep -E 'warning:|Warning:' "$log" | grep -v 'Skipping BTF'; then
			echo "not ok 2 build is warning-free with W=1"
		else
			echo "ok 2 build is warning-free with W=1"
		fi
	else
		sed 's/^/# /' "$log" | tail -n 30
		echo "not ok 2 build is warning-free with W=1"
		n=1
	fi
	if [ $n -eq 0 ] && readelf -S kmod/prbd.ko | grep -q '\.BTF'; then
		echo "ok 3 prbd.ko carries module BTF"
	else
		echo "not ok 3 prbd.ko carries module BTF"
	fi
	if [ $n -eq 0 ] && [ -f "build/vm/initramfs-$(tools/kver.sh).cpio.lz4" ]; then
		echo "ok 4 guest initramfs built"
	else
		echo "not ok 4 guest initramfs built"
	fi
	if make -s checkpatch > "$LOGDIR/checkpatch.log" 2>&1 &&
		! grep -qE 'ERROR|WARNING|CHECK' "$LOGDIR/checkpatch.log"; then
		echo "ok 5 checkpatch --strict is clean on kmod/"
	else
		sed 's/^/# /' "$LOGDIR/checkpatch.log" | head -n 30
		echo "not ok 5 checkpatch --strict is clean on kmod/"
	fi
	if python3 tools/depgraph.py > "$LOGDIR/depgraph.log" 2>&1; then
		echo "ok 6 no call cycle among the data-path files of kmod/"
	else
		sed -n '/^cycle/,$s/^/# /p' "$LOGDIR/depgraph.log" | head -n 40
		echo "not ok 6 no call cycle among the data-path files of kmod/"
	fi
}

t_all=$SECONDS
# a killed earlier run may have left VMs and namespaces behind
bash -c '. tools/vm/rig.sh; rig_reap' || true

if want build; then
	export -f build_group
	export LOGDIR
	group build 1800 bash -c build_group
fi
if [ -f tools/sim/Makefile ]; then
	group paxos 600 make -s -C tools/sim test
fi
if [ -f user/Makefile ] && grep -q '^test:' user/Makefile; then
	group user 300 make -s -C user test
fi
for g in selftests/*/; do
	g=$(basename "$g")
	[ "$g" = paxos ] && continue
	ls selftests/$g/*.sh >/dev/null 2>&1 || continue
	for t in selftests/$g/*.sh; do
		group "$g/$(basename "$t" .sh)" "${GROUP_TIMEOUT:-1200}" bash "$t"
	done
done

echo
echo "### summary (wall time per group)"
printf '%s\n' "${summary[@]}"
echo "total $((SECONDS - t_all)) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
