#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Common helper of the prbd VM selftests: KTAP output and the VM rig.
# A group script sources this file, calls ktap_plan N, runs each case with
# ktap_run "description" function, and ends with ktap_finish.
# Exit codes follow kselftest: 0 pass, 1 fail, 4 skip.

SELFTESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$SELFTESTS_DIR/.." && pwd)
. "$TOP/tools/vm/rig.sh"

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

ktap_n=0
ktap_failed=0
ktap_passed=0
ktap_skipped=0

ktap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

ktap_diag() { echo "# $*"; }

# ktap_result RC DESCRIPTION
ktap_result() {
	local rc=$1
	shift
	ktap_n=$((ktap_n + 1))
	case $rc in
	0) echo "ok $ktap_n $*"; ktap_passed=$((ktap_passed + 1)) ;;
	"$KSFT_SKIP") echo "ok $ktap_n $* # SKIP"; ktap_skipped=$((ktap_skipped + 1)) ;;
	*) echo "not ok $ktap_n $*"; ktap_failed=$((ktap_failed + 1)) ;;
	esac
}

# ktap_run DESCRIPTION FUNCTION [ARGS...]: run one case in a subshell with
# errexit; its output becomes KTAP diagnostics.
ktap_run() {
	local desc=$1 rc t0=$SECONDS
	shift
	( set -eE -o pipefail; "$@" ) 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	ktap_result "$rc" "$desc ($((SECONDS - t0)) s)"
	return 0
}

# ktap_bail REASON: every remaining case fails (e.g. the rig did not boot).
ktap_bail() {
	echo "Bail out! $*"
	exit $KSFT_FAIL
}

ktap_finish() {
	echo "# totals: pass:$ktap_passed fail:$ktap_failed skip:$ktap_skipped"
	[ $ktap_failed -eq 0 ] || exit $KSFT_FAIL
	[ $ktap_passed -eq 0 ] && [ $ktap_skipped -gt 0 ] && exit $KSFT_SKIP
	exit $KSFT_PASS
}

# fail MESSAGE: end the current case with a message.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# vm I CMD...: rig_exec that fails the case when the command fails.
vm() {
	local out rc=0
	out=$(rig_exec "$@") || rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	[ $rc -eq 0 ] || fail "vm$1: '${*:2}' exited $rc"
}

# need_root_and_rig: skip the whole group when VMs cannot run here.
need_rig() {
	if [ "$(id -u)" -ne 0 ]; then
		ktap_plan 0
		echo "# SKIP: the VM rig needs root (network namespaces, taps)"
		exit $KSFT_SKIP
	fi
	if [ ! -f "$RIG_KERNEL" ] || [ ! -f "$RIG_INITRD" ]; then
		ktap_plan 0
		echo "# SKIP: no guest kernel or initramfs: run 'make initramfs'"
		exit $KSFT_SKIP
	fi
}

# --- resource files -------------------------------------------------------
# The text of /etc/prbd.d/r0.res for every group, the demo and the bench:
# nodes 1..N at $(rig_ip I):7790, each on its whole /dev/vda.

REPL_UUID=${REPL_UUID:-0b6f4c1e-5d2a-4f7e-9a3b-2c1d0e9f8a7b}
REPL_SECRET=${REPL_SECRET:-repl-test-secret}

# repl_res N [SECRET] [UUID] [EXTRA]: the text of /etc/prbd.d/r0.res; SECRET
# "none" for no secret line; EXTRA: more lines of the [resource] section;
# the nodes listed in $REPL_OUTSIDE get "role = none" (outside the group)
repl_res() {
	local n=$1 secret=${2:-$REPL_SECRET} uuid=${3:-$REPL_UUID} i
	printf '[resource]\nname = r0\nminor = 0\ncluster-uuid = %s\n' "$uuid"
	[ "$secret" = none ] || printf 'secret = %s\n' "$secret"
	[ -z "${4:-}" ] || printf '%s\n' "$4"
	for i in $(seq 1 "$n"); do
		printf '[node %d]\naddress = %s:7790\ndisk = /dev/vda\n' "$i" "$(rig_ip "$i")"
		case " ${REPL_OUTSIDE:-} " in *" $i "*) echo 'role = none' ;; esac
	done
}

# single_res: the resource file of a one-node group (a majority of one):
# node 1, no secret (selftests/device/single_node.sh, compat/k612.sh, the
# bench's prbd1 target)
single_res() {
	repl_res 1 none 6f1c2a34-9d55-4e1b-8a77-0c2f3d4e5f60 "node-id = 1"
}

# res_install_cmd TEXT: the guest command that installs TEXT as
# /etc/prbd.d/r0.res (mode 600: it may hold the secret)
res_install_cmd() {
	printf '%s' "mkdir -p /etc/prbd.d && cat > /etc/prbd.d/r0.res <<'EOF'
$1
EOF
chmod 600 /etc/prbd.d/r0.res"
}

# --- one-node groups (device/single_node, compat/k612) ----------------------

# single_up: load prbd on node 1, up r0 and make it primary
single_up() {
	vm 1 'modprobe prbd && prbdctl up r0 && prbdctl primary r0 && test -b /dev/prbd0'
}

# single_create_up: install single_res on node 1, create-md, single_up
single_create_up() {
	vm 1 "$(res_install_cmd "$(single_res)")"
	vm 1 'prbdctl create-md r0'
	single_up
}

# single_fs_down_up N KIB: ext4 on /dev/prbd0 with N files (file i of
# i * KIB KiB), down, up again: every checksum matches; left mounted on
# /mnt/p
single_fs_down_up() {
	vm 1 'mkfs.ext4 -q -F /dev/prbd0 && mkdir -p /mnt/p && mount -t ext4 /dev/prbd0 /mnt/p'
	vm 1 "for i in \$(seq 1 $1); do head -c \$((i * $2 * 1024)) /dev/urandom > /mnt/p/f\$i; done
		cd /mnt/p && sha256sum f* > /tmp/sums && cd / && umount /mnt/p"
	vm 1 'prbdctl secondary r0 && prbdctl down r0 && ! test -b /dev/prbd0'
	single_up
	vm 1 'mount -t ext4 /dev/prbd0 /mnt/p && cd /mnt/p && sha256sum -c --quiet /tmp/sums'
}

# --- replication groups (selftests/repl/) ---------------------------------
# Bringing nodes up, promoting one, and comparing replicas.

# repl_write_res I N [SECRET] [UUID] [EXTRA]: install the resource file on node I
repl_write_res() {
	local i=$1
	shift
	vm "$i" "$(res_install_cmd "$(repl_res "$@")")"
}

# repl_start N [EXTRA]: on nodes 1..N install the resource file, set the
# hung-task timeout to $REPL_HUNG_TASK_SECS (if set), modprobe prbd (with
# $REPL_MOD_OPTS), create-md (with $REPL_MD_OPTS) and up; nobody promoted
repl_start() {
	local n=$1 i hung=""
	[ -n "${REPL_HUNG_TASK_SECS:-}" ] &&
		hung="echo $REPL_HUNG_TASK_SECS > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null || true
"
	for i in $(seq 1 "$n"); do
		repl_write_res "$i" "$n" "" "" "${2:-}"
		vm "$i" "${hung}modprobe prbd ${REPL_MOD_OPTS:-} && prbdctl create-md ${REPL_MD_OPTS:-} r0 >/dev/null && prbdctl up r0"
	done
}

# repl_up N [EXTRA]: repl_start N [EXTRA], then node 1 primary
repl_up() {
	repl_start "$@"
	repl_promote 1
}

# repl_promote I: make node I primary (elections may still be running)
repl_promote() {
	local t
	for t in $(seq 1 30); do
		rig_exec "$1" 'prbdctl primary r0' >/dev/null 2>&1 && break
		sleep 1
	done
	vm "$1" 'prbdctl status | grep -q "role primary"'
}

# repl_sum I BLOCKS: checksum of the first BLOCKS 4 KiB blocks of node I
repl_sum() { rig_exec "$1" "prbd-blkcheck sum /dev/prbd0 $2" 2>/dev/null || true; }

# repl_same BLOCKS NODE...: the replicas agree within 60 s (a node that
# needs a resync gets it meanwhile; while it runs, its reads fail)
repl_same() {
	local blocks=$1 t i s first same
	shift
	for t in $(seq 1 60); do
		first="" same=1 s=""
		for i in "$@"; do
			s="$s $i:$(repl_sum "$i" "$blocks")"
			[ -z "$first" ] && first=${s##*:}
			[ "${s##*:}" = "$first" ] && [ -n "$first" ] || same=0
		done
		[ $same = 1 ] && { echo "replicas agree on $blocks blocks:$s"; return 0; }
		sleep 1
	done
	fail "replicas differ:$s"
}

# repl_field I FIELD: a field of node I's status --json ("quorum", "leader_id", ...)
repl_field() {
	rig_exec "$1" 'prbdctl status --json' 2>/dev/null |
		sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1
}

# repl_ok_lines LOG: completed writes of a prbd-blkcheck run
repl_ok_lines() { grep -c '^ok ' "$1" 2>/dev/null || true; }

# repl_wait_quorum I true|false: node I reports it within 20 s
repl_wait_quorum() {
	local t
	for t in $(seq 1 20); do
		[ "$(repl_field "$1" quorum)" = "$2" ] && return 0
		sleep 1
	done
	fail "node $1 quorum is $(repl_field "$1" quorum), not $2"
}

# repl_no_warnings NODE...: no kernel warning, BUG, oops or hung task on
# these nodes (rig_dmesg_check); every node is scanned and its lines shown
# before the case fails
repl_no_warnings() {
	local i bad=""
	for i in "$@"; do
		rig_dmesg_check "$i" 2>&1 | sed "s/^/vm$i: /"
		[ "${PIPESTATUS[0]}" = 0 ] || bad="$bad vm$i"
	done
	[ -z "$bad" ] || fail "kernel warnings on$bad"
}

# quick I LIMIT CMD: CMD in guest I must return within LIMIT seconds (else a
# hang fails the case); prints its output, returns its status
quick() {
	local i=$1 limit=$2 rc=0 out
	shift 2
	out=$(RIG_EXEC_TIMEOUT=$limit rig_exec "$i" "$@") || rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	[ $rc -eq 124 ] && fail "vm$i: '$*' did not return within $limit s (hang)"
	[ $rc -eq 255 ] && fail "vm$i: agent lost during '$*' (guest crashed?)"
	return $rc
}

# repl_no_completions I LOG MAX: node I reports no quorum, then the writer
# logging to LOG in that guest completes at most MAX more writes (those in
# flight, chosen before quorum went) in the next 6 s
repl_no_completions() {
	local c1 c2
	repl_wait_quorum "$1" false
	c1=$(rig_exec "$1" "grep -c '^ok ' $2" 2>/dev/null || true)
	sleep 6
	c2=$(rig_exec "$1" "grep -c '^ok ' $2" 2>/dev/null || true)
	echo "completed on node $1: $c1 when it reported no quorum, $c2 six seconds later"
	[ $((c2 - c1)) -le "$3" ] || fail "node $1 completes writes without a majority"
}

# repl_node_wipe I: node I gets a new disk: its metadata re-created
# (create-md --force with $REPL_MD_OPTS) and the first 16 MiB of its data
# area overwritten with random bytes.
repl_node_wipe() {
	local off
	off=$(rig_exec "$1" 'prbdctl show-md --json /dev/vda' |
		sed -n 's/.*"data_offset":\([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$off" ] || fail "no data_offset"
	vm "$1" "prbdctl create-md --force $REPL_MD_OPTS r0 >/dev/null &&
		dd if=/dev/urandom of=/dev/vda bs=1M count=16 seek=$((off / 1048576)) oflag=direct 2>/dev/null"
}

# dmesg_count I REGEX: lines of guest I's kernel log matching
dmesg_count() { rig_exec "$1" "dmesg | grep -cE '$2'" || true; }

# --- membership (configuration) -------------------------------------------

# repl_cfg I: "epoch E voters V learners L [change ...]" of node I
repl_cfg() {
	rig_exec "$1" 'prbdctl status' 2>/dev/null |
		sed -n 's/^ *config \(.*\)$/\1/p' || true
}

# repl_voters I, repl_learners I: node I's voters and learners ("1,2,3", "-")
repl_voters() { repl_cfg "$1" | sed -n 's/.* voters \([^ ]*\) .*/\1/p'; }
repl_learners() { repl_cfg "$1" | sed -n 's/.* learners \([^ ]*\).*/\1/p'; }

# repl_wait_cfg I VOTERS LEARNERS [SECONDS]: node I shows that
# configuration within SECONDS (60)
repl_wait_cfg() {
	local t
	for t in $(seq 1 "${4:-60}"); do
		[ "$(repl_voters "$1")" = "$2" ] && [ "$(repl_learners "$1")" = "$3" ] &&
			return 0
		sleep 1
	done
	fail "node $1: config '$(repl_cfg "$1")', want voters $2 learners $3"
}

# repl_refuse I CMD PATTERN: the command fails on node I, printing PATTERN,
# and node I's configuration is the same a second later
repl_refuse() {
	local before after out rc=0
	before=$(repl_cfg "$1" | sed 's/ change.*//' || true)
	out=$(rig_exec "$1" "$2" 2>&1) || rc=$?
	echo "node $1: $2 -> exit $rc: $out"
	[ $rc -ne 0 ] || fail "'$2' was accepted"
	echo "$out" | grep -- "$3" >/dev/null || fail "'$2': no '$3' in the message"
	sleep 1
	after=$(repl_cfg "$1" | sed 's/ change.*//' || true)
	[ "$before" = "$after" ] || fail "'$2' changed the configuration: '$before' -> '$after'"
}

# --- robustness groups (selftests/robust/) --------------------------------

# build_fi: build robust/fi/prbd_fi.ko for the guests' kernel, or bail out
build_fi() {
	local dir=$SELFTESTS_DIR/robust/fi
	if ! make -s -C "$dir" KDIR="/usr/src/linux-headers-$RIG_KVER" >"$dir/.build.log" 2>&1; then
		sed 's/^/# /' "$dir/.build.log"
		ktap_bail "prbd_fi.ko did not build"
	fi
}

# fi_drop_payloads I COUNT: load prbd_fi.ko on node I so that it drops the
# next COUNT received payloads (writes must be running); prints how many it
# dropped within 60 s and fails unless that is COUNT.  The module stays
# loaded (rmmod prbd_fi when done).
fi_drop_payloads() {
	local i=$1 count=$2 t failed=0
	rig_put "$i" "$SELFTESTS_DIR/robust/fi/prbd_fi.ko" /root/prbd_fi.ko >&2
	vm "$i" "insmod /root/prbd_fi.ko fail=$count" >&2
	for t in $(seq 1 60); do
		failed=$(rig_exec "$i" 'cat /sys/module/prbd_fi/parameters/failed')
		[ "$failed" -ge "$count" ] && break
		sleep 1
	done
	[ "$failed" -ge "$count" ] || fail "node $i dropped only $failed payloads (are writes running?)"
	echo "$failed"
}

# repl_debugfs NODE...: debugfs mounted on these nodes
repl_debugfs() {
	local i
	for i in "$@"; do
		vm "$i" 'grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs none /sys/kernel/debug'
	done
}

# repl_payloads I FIELD: a field of node I's debugfs prbd/r0/payloads
# (count, bytes, evicted, asked, resent, ...)
repl_payloads() {
	rig_exec "$1" 'cat /sys/kernel/debug/prbd/r0/payloads' 2>/dev/null |
		sed -n "s/^$2 //p"
}

# repl_holder I rw|ro [BLOCKS]: keep /dev/prbd0 open in guest I until
# repl_holder_stop I; rw: and write 1 MiB at one of its first BLOCKS (1000)
# 64 KiB blocks, chosen at random, without pause.  Fails unless open in 60 s
repl_holder() {
	local mode='<'
	[ "$2" = rw ] && mode='<>'
	vm "$1" 'rm -f /tmp/holder /tmp/holder.stop'
	# a node just up may not get leadership at once (EAGAIN): retry
	rig_exec_bg "$1" "for t in \$(seq 1 30); do
	exec 3$mode/dev/prbd0 && break
	sleep 1
done
[ -e /proc/self/fd/3 ] || { echo failed > /tmp/holder; exit 1; }
echo open > /tmp/holder
while [ ! -e /tmp/holder.stop ]; do
	if [ $2 = rw ]; then
		dd if=/dev/urandom of=/dev/prbd0 bs=64k count=16 seek=\$((RANDOM % ${3:-1000})) oflag=direct 2>/dev/null || sleep 0.2
	else
		sleep 0.2
	fi
done
exec 3<&-
echo closed > /tmp/holder" >/dev/null
	repl_wait_file "$1" /tmp/holder open
}

# repl_holder_stop I: end guest I's holder; fails unless closed in 60 s
repl_holder_stop() {
	vm "$1" 'touch /tmp/holder.stop'
	repl_wait_file "$1" /tmp/holder closed
}

# repl_wait_file I FILE WORD: FILE in guest I says WORD within 60 s
repl_wait_file() {
	local t
	for t in $(seq 1 60); do
		[ "$(rig_exec "$1" "cat $2 2>/dev/null")" = "$3" ] && return 0
		sleep 1
	done
	fail "vm$1: $2 is '$(rig_exec "$1" "cat $2 2>/dev/null")', not '$3'"
}
