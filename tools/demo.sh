#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: a 3-node prbd cluster in VMs.  Creates the replicated device,
# makes node 1 primary, puts an ext4 file system with files on it, kills
# node 1's VM, makes node 2 primary and checks every file, restarts node 1
# and shows it rejoining.  Narrates each step; exits non-zero on failure.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/selftests/lib.sh"	# the rig and the resource file

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\n\033[31mDEMO FAILED: %s\033[0m\n' "$*"; exit 1; }
run() { # run I CMD: show and run a command in VM I
	local out rc=0
	printf '  [node%s]# %s\n' "$1" "$2"
	out=$(rig_exec "$1" "$2") || rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
	return $rc
}

RES=$(repl_res 3 demo-shared-secret 3e1f6a52-8c0d-4b7a-9e21-5f4d3c2b1a09)

write_res() {
	rig_exec "$1" "$(res_install_cmd "$RES")" >/dev/null
}

say "Booting 3 VMs (QEMU, TCG) with Debian's kernel; each has its own disk /dev/vda"
rig_start 3 || die "the VMs did not boot"

say "Writing /etc/prbd.d/r0.res on every node: 3 nodes, one shared secret"
printf '%s\n' "$RES" | sed 's/^/    /'
for i in 1 2 3; do write_res "$i"; done

say "On each node: load prbd, format its disk (create-md), bring the resource up"
for i in 1 2 3; do
	run "$i" 'modprobe prbd && prbdctl create-md r0 && prbdctl up r0' ||
		die "node $i did not come up"
done

say "Node 1 becomes primary (it takes Paxos leadership)"
run 1 'prbdctl primary r0 && prbdctl status' || die "node 1 cannot be primary"

say "mkfs.ext4 on /dev/prbd0, mount, write 30 files and record their checksums"
run 1 'mkfs.ext4 -q /dev/prbd0 && mkdir -p /mnt/data && mount -t ext4 /dev/prbd0 /mnt/data' ||
	die "mkfs/mount failed"
run 1 'for i in $(seq 1 30); do head -c $((RANDOM * 8 + 4096)) /dev/urandom > /mnt/data/file$i; done; sync' ||
	die "writing files failed"
SUMS=$(rig_exec 1 'cd /mnt/data && sha256sum file*') || die "checksums failed"
echo "$SUMS" | head -3 | sed 's/^/    /'
echo "    ... ($(echo "$SUMS" | wc -l) files)"

say "Every write was chosen by a majority: status on node 1"
run 1 'prbdctl status'

say "Killing node 1's VM (kill -9 of its QEMU: a power cut)"
rig_crash 1

say "Node 2 becomes primary: nodes 2 and 3 still form a majority"
ok=
for t in $(seq 1 20); do
	if rig_exec 2 'prbdctl primary r0' >/dev/null 2>&1; then
		ok=1
		break
	fi
	sleep 1
done
[ -n "$ok" ] || die "node 2 could not become primary"
run 2 'prbdctl status'

say "Mounting the file system on node 2 and checking every checksum"
run 2 'mkdir -p /mnt/data && mount -t ext4 /dev/prbd0 /mnt/data' || die "mount on node 2 failed"
rig_exec 2 "cat > /tmp/sums <<'EOF'
$SUMS
EOF" >/dev/null
run 2 'cd /mnt/data && sha256sum -c /tmp/sums | tail -3 && sha256sum -c --quiet /tmp/sums && echo "all 30 files intact"' ||
	die "files differ on node 2"

say "Restarting node 1: it comes back as a follower"
rig_boot 1 && rig_wait 1 || die "node 1 did not reboot"
write_res 1
run 1 'modprobe prbd && prbdctl up r0' || die "node 1 did not come up"
sleep 3

say "prbdctl status on every node"
for i in 1 2 3; do run "$i" 'prbdctl status'; done

say "Demo passed: the data written on node 1 survived its death, served by node 2."
rig_stop
