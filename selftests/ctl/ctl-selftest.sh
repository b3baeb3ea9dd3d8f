#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VM group for the control plane and the on-disk format (issue 4): one
# guest; malformed netlink requests, corrupted metadata, prbdctl end to
# end, clean unload.  Needs build/guest-bin/{prbd-nltest,prbdctl-smoke}
# in the initramfs (make -C user builds them from prbdctl/ here) and
# /dev/vda, which it destroys.  The control plane's tests all live here:
# this group, prbdctl/prbd-nltest.c and prbdctl/prbdctl-smoke.sh (run in the
# guest), prbdctl/host-test.sh (no module: the "user" group, make -C user
# test).
. "$(cd "$(dirname "$0")/../.." && pwd)/selftests/lib.sh"
need_rig

ktap_plan 5
rig_start 1 || ktap_bail "rig did not boot"

ktap_run "spec, UAPI header and kernel policies agree" \
	python3 "$TOP/tools/nlspec/check.py"
ktap_run "malformed netlink requests get the documented error and change nothing" \
	vm 1 'modprobe prbd && prbd-nltest netlink'
ktap_run "corrupted metadata is refused on attach, naming the field; nothing written" \
	vm 1 'prbd-nltest md /dev/vda'
ktap_run "prbdctl end to end (resource file, up, status, events, down, exit codes)" \
	vm 1 "prbdctl-smoke /dev/vda $(rig_ip 1)"
unload() {
	vm 1 'rmmod prbd'
	rig_dmesg_check 1 || fail "kernel warnings"
}
ktap_run "module unloads cleanly, no kernel warnings" unload
rig_stop
ktap_finish
