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
