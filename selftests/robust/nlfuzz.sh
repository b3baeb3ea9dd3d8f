#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Netlink fuzzing (issue 14): prbd-nlfuzz (tools/guest/prbd-nlfuzz.c) sends
# randomized requests to the prbd generic netlink family on one VM — every
# command id, missing/mistyped/truncated/oversized/unknown attributes,
# nested garbage, odd flags, NLM_F_DUMP on do-only ops, mutations of real
# requests — and checks after each one that a failed request left the
# status dump byte-identical (state unchanged on error), that only a
# state-changing command that succeeded changed it (res-new, attach, up
# and peer-add are undone at once), and, as nobody, that every
# state-changing command is refused with EPERM.  Cases:
#
# - fuzz with no resource (module loaded, create-md done), with r0 created
#   (new-resource), attached (/dev/vda), and up (a one-node group, primary,
#   ext4 mounted on /dev/prbd0: the file system still checks clean after);
# - fuzz as nobody while up;
# - the module unloads (rmmod prbd: no leaked reference) and loads again;
# - kmemleak finds nothing (skipped: the Debian kernel has no kmemleak);
# - no BUG, WARNING, oops, slub_debug report or hung task in the kernel log.
#
# The guest boots with slub_debug=P (a use after free faults instead of
# reading stale data) and a 20 s hung-task timeout.
#
# NLFUZZ_ROUNDS: rounds per fuzz case (default 20000: 5 cases, 100,000
#   requests in all, the issue's long run, the group in about 1 min under
#   TCG); NLFUZZ_ROUNDS=100000 runs 500,000.
# NLFUZZ_SEED: the seed (default random, printed); case k uses SEED + k.
. "$(dirname "$0")/../lib.sh"
need_rig
ROUNDS=${NLFUZZ_ROUNDS:-20000}
SEED=${NLFUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
# a fuzz case's time limit: generous, TCG is slow
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-$((300 + ROUNDS / 5))}
RIG_APPEND="${RIG_APPEND:-} slub_debug=P"
UUID=6f1c2a34-9d55-4e1b-8a77-0c2f3d4e5f60	# single_res's

ktap_plan 9
ktap_diag "NLFUZZ_SEED=$SEED NLFUZZ_ROUNDS=$ROUNDS"
rig_start 1 || ktap_bail "rig did not boot"

# fuzz K STATE [ARGS]: ROUNDS rounds with seed SEED + K; the counts shown
fuzz() {
	local k=$1 st=$2 out rc=0
	shift 2
	out=$(quick 1 "$RIG_EXEC_TIMEOUT" \
		"prbd-nlfuzz -s $((SEED + k)) -n $ROUNDS -S $st $* 2>&1") || rc=$?
	# the first violations (with their requests), then the counts
	printf '%s\n' "$out" | grep -v '^rounds \|^errors:\|^per command:' | head -n 30
	printf '%s\n' "$out" | grep '^rounds \|^errors:\|^per command:' || true
	[ $rc -eq 0 ] || fail "prbd-nlfuzz -S $st $*: exit $rc (seed $((SEED + k)))"
	grep -q '^rounds .* violations 0 ' <<< "$out" || fail "no summary"
	# the module still answers
	vm 1 'prbdctl status >/dev/null'
}

setup() {
	vm 1 'echo 20 > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null || true'
	vm 1 "$(res_install_cmd "$(single_res)")"
	vm 1 'modprobe prbd && prbdctl create-md r0 >/dev/null && prbdctl status'
}

fuzz_none() { fuzz 0 none; }

fuzz_created() {
	vm 1 "prbdctl new-resource r0 --minor 0 --node-id 1 --cluster-uuid $UUID"
	fuzz 1 created
	vm 1 'prbdctl status r0 | head -n 2'
}

fuzz_attached() {
	vm 1 'prbdctl attach r0 /dev/vda'
	fuzz 2 attached
	vm 1 'prbdctl status r0 | head -n 2'
}

fuzz_up() {
	vm 1 'prbdctl start r0 && prbdctl primary r0 && test -b /dev/prbd0'
	# a quiet file system (no lazy init, no atime): the status must not
	# change on its own while the fuzzer compares it
	vm 1 'mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 /dev/prbd0 &&
		mkdir -p /mnt/p && mount -t ext4 -o noatime /dev/prbd0 /mnt/p &&
		dd if=/dev/urandom of=/mnt/p/f bs=64k count=16 2>/dev/null &&
		sha256sum /mnt/p/f > /tmp/sum && sync && sleep 6 && sync'
	fuzz 3 up
	vm 1 'sha256sum -c --quiet /tmp/sum && prbdctl status r0 | head -n 2'
}

fuzz_nobody() {
	fuzz 4 up -u
	vm 1 'sha256sum -c --quiet /tmp/sum'
}

unload() {
	vm 1 'umount /mnt/p && e2fsck -fn /dev/prbd0 >/dev/null'
	vm 1 'prbdctl secondary r0 && prbdctl down r0 && ! test -b /dev/prbd0'
	vm 1 'cat /sys/module/prbd/refcnt; rmmod prbd && ! grep -q "^prbd " /proc/modules'
	# and it loads again, with nothing left behind
	vm 1 'modprobe prbd && test -z "$(prbdctl status)" && rmmod prbd'
}

kmemleak() {
	local out
	if ! rig_exec 1 'test -w /sys/kernel/debug/kmemleak'; then
		echo "no kmemleak in the guest kernel (CONFIG_DEBUG_KMEMLEAK not set)"
		exit $KSFT_SKIP
	fi
	vm 1 'echo scan > /sys/kernel/debug/kmemleak; sleep 5; echo scan > /sys/kernel/debug/kmemleak'
	out=$(rig_exec 1 'cat /sys/kernel/debug/kmemleak')
	[ -z "$out" ] || { head -n 40 <<< "$out"; fail "kmemleak reports leaks"; }
}

no_warnings() { rig_dmesg_check 1; }

ktap_run "setup: prbd loaded, create-md of r0" setup
ktap_run "fuzz, no resource" fuzz_none
ktap_run "fuzz, r0 created (no disk)" fuzz_created
ktap_run "fuzz, r0 attached" fuzz_attached
ktap_run "fuzz, r0 up, primary, ext4 mounted; file intact" fuzz_up
ktap_run "fuzz as nobody: every state change refused with EPERM" fuzz_nobody
ktap_run "rmmod prbd works after down (no leaked reference)" unload
ktap_run "kmemleak reports nothing" kmemleak
ktap_run "no BUG, WARNING, oops or hung task" no_warnings
rig_stop
ktap_finish
