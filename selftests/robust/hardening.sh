#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Smaller items of issue 14, one case each, on one 3-node group (node 1
# leads, writes go on):
#
# - a write descriptor whose sector wraps the byte offset ((sector << 9)
#   + len checked after the shift: 2^55 << 9 is 0 modulo 2^64) is refused
#   by the follower (the whole message: "bad message"); before, it was
#   accepted and its apply went 2^64 bytes past the data area (an I/O
#   error beyond the end of the device: the follower's disk failed).  The
#   leader alters one descriptor on its way to node 2 (fi/prbd_fi.ko
#   wrap_to=2);
# - status without CAP_NET_ADMIN (as nobody) works but shows neither the
#   cluster UUID nor the backing device's path, which root sees; joining
#   the events group is refused;
# - up of a group of several nodes without a secret is refused with a
#   message, and changes nothing; with allow-no-secret = yes it comes up;
# - replicas agree; no BUG, WARNING, oops or hung task.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-120}
HERE=$SELFTESTS_DIR/robust
N=3

ktap_plan 6
build_fi
rig_start $N || ktap_bail "rig did not boot"

setup() {
	repl_up $N
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=32 oflag=direct 2>/dev/null'
	vm 1 'prbdctl status | head -n 5'
}

# (sector << 9) + len wrapped past U64_MAX
wrap_sector() {
	local t w bad0 bad
	bad0=$(dmesg_count 2 'bad message type 65 from node 1')
	rig_put 1 "$HERE/fi/prbd_fi.ko" /root/prbd_fi.ko
	vm 1 'insmod /root/prbd_fi.ko && echo 2 > /sys/module/prbd_fi/parameters/wrap_to'
	for t in $(seq 1 20); do
		rig_exec 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=4 seek=$((RANDOM % 256)) oflag=direct 2>/dev/null' || true
		w=$(rig_exec 1 'cat /sys/module/prbd_fi/parameters/wrapped')
		[ "$w" -ge 1 ] && break
	done
	vm 1 'dmesg | grep prbd_fi | tail -n 1; rmmod prbd_fi'
	[ "$w" -ge 1 ] || fail "no descriptor was altered (no writes?)"
	# more writes: node 2 applies whatever it accepted
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=64 oflag=direct 2>/dev/null'
	sleep 3
	rig_exec 2 "dmesg | grep -E 'bad message|beyond end|I/O error|disk failed|detach' | tail -n 4" || true
	bad=$(dmesg_count 2 'bad message type 65 from node 1')
	[ "$(dmesg_count 2 'beyond end of device|attempt to access beyond')" -eq 0 ] ||
		fail "node 2 accepted the wrapped sector and wrote past the device"
	vm 2 'prbdctl status | head -n 2'
	rig_exec 2 'prbdctl status' | grep -q ' disk failed' &&
		fail "node 2's disk failed"
	[ "$bad" -gt "$bad0" ] || fail "node 2 did not refuse the message"
	repl_same 4096 1 2 3
}

# status and events without CAP_NET_ADMIN
unprivileged() {
	local uuid out rc=0
	vm 1 'grep -q ^nobody: /etc/passwd || echo "nobody:x:65534:65534:nobody:/:/bin/sh" >> /etc/passwd
		grep -q ^nogroup: /etc/group || echo "nogroup:x:65534:" >> /etc/group'
	uuid=$(repl_field 1 cluster_uuid)
	[ "$uuid" = "$REPL_UUID" ] || fail "root does not see the cluster UUID ($uuid)"
	rig_exec 1 'prbdctl status' | grep -q '/dev/vda' || fail "root does not see the backing device"
	out=$(rig_exec 1 'su -s /bin/sh nobody -c "id -u; prbdctl status --json"') ||
		fail "status as nobody failed: $out"
	echo "$out" | head -c 600
	echo
	[ "$(head -n 1 <<< "$out")" = 65534 ] || fail "not run as nobody"
	grep -q '"node_id":1' <<< "$out" || fail "no status as nobody"
	! grep -q "$REPL_UUID" <<< "$out" || fail "an unprivileged caller sees the cluster UUID"
	! grep -q '/dev/vda' <<< "$out" || fail "an unprivileged caller sees the backing device path"
	out=$(rig_exec 1 'su -s /bin/sh nobody -c "prbdctl events --count 1 --timeout 3" 2>&1') || rc=$?
	echo "events as nobody: exit $rc: $out"
	[ $rc -ne 0 ] || fail "an unprivileged caller joined the events group"
}

# up of several nodes without a secret; then with allow-no-secret
no_secret() {
	local out rc=0
	vm 1 'modprobe loop 2>/dev/null; truncate -s 64M /tmp/r1.img &&
		d=$(losetup -f) && losetup "$d" /tmp/r1.img && echo "$d" > /tmp/r1.loop &&
		cat /tmp/r1.loop'
	vm 1 "cat > /etc/prbd.d/r1.res <<EOF
[resource]
name = r1
minor = 1
cluster-uuid = 3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99
[node 1]
address = 10.77.0.1:7791
disk = \$(cat /tmp/r1.loop)
[node 2]
address = 10.77.0.2:7791
[node 3]
address = 10.77.0.3:7791
EOF
prbdctl create-md --force r1 >/dev/null"
	out=$(rig_exec 1 'prbdctl up r1 2>&1') || rc=$?
	echo "up without a secret: exit $rc: $out"
	[ $rc -ne 0 ] || { rig_exec 1 'prbdctl down r1' || true;
		fail "a 3-node group came up without a secret"; }
	grep -q 'needs a secret' <<< "$out" || fail "no message naming the missing secret"
	! rig_exec 1 'prbdctl status r1' >/dev/null 2>&1 || fail "the refused up left resource r1 behind"
	vm 1 "sed -i 's/^minor = 1/minor = 1\nallow-no-secret = yes/' /etc/prbd.d/r1.res && prbdctl up r1"
	vm 1 'prbdctl status r1 | head -n 1'
	vm 1 'prbdctl down r1'
	# a one-node group needs none
	vm 1 "cat > /etc/prbd.d/r1.res <<EOF
[resource]
name = r1
minor = 1
cluster-uuid = 3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a99
[node 1]
address = 10.77.0.1:7791
disk = \$(cat /tmp/r1.loop)
EOF
prbdctl create-md --force r1 >/dev/null && prbdctl up r1 && prbdctl down r1"
}

no_warnings() { repl_no_warnings $(seq 1 $N); }

replicas() {
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=64k count=32 oflag=direct 2>/dev/null'
	repl_same 4096 1 2 3
}

ktap_run "setup: 3 nodes up, node 1 primary" setup
ktap_run "a descriptor whose sector wraps (sector << 9) is refused" wrap_sector
ktap_run "status without CAP_NET_ADMIN hides the UUID and disk path; events refused" unprivileged
ktap_run "several nodes without a secret: up refused unless allow-no-secret" no_secret
ktap_run "replicas agree" replicas
ktap_run "no BUG, WARNING, oops or hung task in any guest" no_warnings
rig_stop
ktap_finish
