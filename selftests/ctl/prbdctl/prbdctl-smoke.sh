#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# prbdctl end to end on one guest of the VM rig, as root, with prbd.ko
# loaded: resource file, create-md, up, status (text and JSON), events,
# roles, down, and the documented exit codes.  DESTROYS the disk given as
# $1 (default /dev/vda).  Prints TAP, ends with "N passed, N failed".
#
# usage: prbdctl-smoke.sh [DISK] [LOCAL_IP]
DISK=${1:-/dev/vda}
LOCAL_IP=${2:-10.77.0.1}
P=${PRBDCTL:-prbdctl}
T=$(mktemp -d)
n=0
fail=0

ok() { # ok DESC CMD...: the command must succeed
	local d=$1
	shift
	n=$((n + 1))
	if "$@" >"$T/out" 2>"$T/err"; then
		echo "ok $n - $d"
	else
		fail=$((fail + 1))
		echo "not ok $n - $d"
		sed 's/^/#   /' "$T/err" "$T/out"
	fi
}

rc() { # rc WANT DESC CMD...: the command must exit with WANT
	local want=$1 d=$2 got
	shift 2
	n=$((n + 1))
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" = "$want" ]; then
		echo "ok $n - $d (exit $want)"
	else
		fail=$((fail + 1))
		echo "not ok $n - $d: exit $got, want $want"
		sed 's/^/#   /' "$T/err" "$T/out"
	fi
}

# has DESC PATTERN / err_has DESC PATTERN: the last command's stdout/stderr
# matches PATTERN (grep basic regex)
has() {
	n=$((n + 1))
	if grep -q -- "$2" "$T/out"; then
		echo "ok $n - $1"
	else
		fail=$((fail + 1))
		echo "not ok $n - $1: no match for '$2'"
		sed 's/^/#   /' "$T/out"
	fi
}

err_has() {
	n=$((n + 1))
	if grep -q -- "$2" "$T/err"; then
		echo "ok $n - $1"
	else
		fail=$((fail + 1))
		echo "not ok $n - $1: no match for '$2'"
		sed 's/^/#   /' "$T/err"
	fi
}

cat >"$T/r0.res" <<EOR
; prbdctl smoke test
[resource]
name = r0
minor = 7
cluster-uuid = 6f1c2a34-9d55-4e1b-8a77-0c2f3d4e5f60
secret = smoke-secret
on-no-quorum = io-error
resync-rate = 20M

[node 1]
address = $LOCAL_IP:7790
disk = $DISK

[node 2]
address = 10.77.0.202:7790
disk = /dev/vda

[node 3]
address = [fd00::3]:7790
role = learner
EOR
C="-c $T/r0.res"

ok "--version" $P --version
ok "status with no resources" $P status
ok "--json status with no resources" $P --json status
has "  is an empty JSON array" '^\[\]$'
ok "check-config picks the local node by address" $P $C check-config r0
has "  node 1 is local" 'node 1 .*(local)'

rc 1 "unknown command" $P frobnicate
rc 1 "bad resource name" $P status 'a/b'
rc 1 "option that does not apply" $P status --learner
rc 1 "node id out of range" $P peer-add r0 40 10.0.0.1
rc 1 "bad address" $P peer-add r0 2 300.1.2.3
rc 2 "missing resource file" $P -c "$T/none.res" up r0
sed 's/minor = 7/minor = 7000/' "$T/r0.res" >"$T/bad.res"
rc 2 "minor out of range in the file" $P -c "$T/bad.res" up r0
err_has "  message names file and line" "bad.res:4:"
rc 4 "status of an unknown resource" $P status r0
err_has "  extack printed verbatim" "prbd: no resource of that name"

dd if=/dev/zero of="$DISK" bs=1M count=1 conv=fsync 2>/dev/null
mkfs.ext4 -q -F "$DISK" >/dev/null 2>&1
rc 5 "create-md refuses an ext4 file system" $P $C create-md r0
err_has "  and says so" "ext2/ext3/ext4"
ok "create-md --force" $P $C create-md --force r0
rc 5 "create-md refuses existing prbd metadata" $P $C create-md r0
ok "show-md" $P show-md "$DISK"
has "  both copies valid" "superblock B: valid"

$P --json events --timeout 120 >"$T/events" 2>&1 &
evpid=$!
$P events --timeout 120 >"$T/tevents" 2>&1 &
tevpid=$!
sleep 1

ok "up" $P $C up r0
ok "status r0" $P status r0
has "  up, attached, secondary" 'r0 minor 7 node 1 role secondary state up disk attached'
has "  peer 2" 'peer 2 10.77.0.202:7790'
has "  learner 3" 'peer 3 \[fd00::3\]:7790 .* learner'
ok "--json status" $P --json status
has "  JSON fields" '"name":"r0","minor":7,"node_id":1'
has "  resync and verify keys before the peers" '"resync_rate_cap":20480,"resync_source":[0-9]*,"resync_done":[0-9]*,"resync_total":[0-9]*,"resync_rate":[0-9]*,"verify_running":[01],.*"verify_checked":[0-9]*,"verify_divergent":[0-9]*,"peers":\['
has "  per-peer sync state" '"node_id":2,.*"sync":"[a-z-]*","rs_done":[0-9]*,"rs_total":[0-9]*,"rs_rate":[0-9]*'
ok "status shows the resync rate cap" $P status r0
has "  ..." 'resync-rate 20.0 MiB/s'
has "  per-peer sync column" 'peer 2 10.77.0.202:7790 .* sync '
ok "set --resync-rate 512K" $P set r0 --resync-rate 512K
ok "status after set" $P --json status r0
has "  resync_rate_cap 512" '"resync_rate_cap":512,'
ok "set --resync-rate 0" $P set r0 --resync-rate 0
ok "status after set" $P status r0
has "  resync-rate none" 'resync-rate none'
rc 1 "verify --range unaligned: nothing sent" $P verify r0 --range 1:4096
rc 1 "verify of a range beyond the device" $P verify r0 --range 0:1T
err_has "  extack printed" "beyond the end of the device"
rc 1 "verify of an unknown resource" $P verify r9
err_has "  extack printed" "no resource of that name"
rc 1 "resync without --peer" $P resync r0
rc 4 "resync of an unknown node" $P resync r0 --peer 9
err_has "  extack printed" "neither the local node nor a peer"
rc 3 "resync of a range beyond the device" $P resync r0 --peer 2 --range 1T:4K
err_has "  extack printed" "beyond the end of the device"
rc 5 "up again: the resource exists" $P $C up r0
ok "  still up and attached" $P status r0
has "  ..." 'state up disk attached'
rc 5 "attach while attached" $P attach r0 "$DISK"
rc 5 "del-resource while up" $P del-resource r0
rc 4 "peer-del of an unknown node" $P peer-del r0 9
ok "set --on-no-quorum block" $P set r0 --on-no-quorum block
ok "status shows on-no-quorum block" $P status r0
has "  ..." 'on-no-quorum block'

$P primary r0 >"$T/prim" 2>&1
prc=$?
n=$((n + 1))
echo "ok $n - primary r0 exited $prc # $(tr '\n' ' ' <"$T/prim")"
if [ $prc = 0 ]; then
	rc 5 "down while primary" $P down r0
	ok "secondary" $P secondary r0
fi

ok "down" $P down r0
ok "show-md after up/down: still valid" $P show-md "$DISK"
has "  attach would accept" 'attach would accept'
rc 4 "status after down" $P status r0
ok "down left nothing" $P --json status
has "  ..." '^\[\]$'

sleep 1
kill -TERM $evpid $tevpid 2>/dev/null
wait $evpid $tevpid
n=$((n + 1))
if grep -q '"type":"resource","event":"create"' "$T/events" &&
   grep -q '"type":"resource","event":"destroy"' "$T/events" &&
   grep -q '"type":"peer","event":"create"' "$T/events"; then
	echo "ok $n - events: resource create/destroy and peer create seen"
else
	fail=$((fail + 1))
	echo "not ok $n - events"
	sed 's/^/#   /' "$T/events" | head -20
fi

# config-ntf: the initial configuration (epoch 0, from the resource file)
# is reported chosen, then applied, once each, at up
cfg_once() { # cfg_once DESC FILE PATTERN...: each PATTERN on one line, in order
	local d=$1 f=$2 p l prev=0 bad=""
	shift 2
	n=$((n + 1))
	for p in "$@"; do
		l=$(grep -n -- "$p" "$f" | cut -d: -f1)
		if [ "$(echo "$l" | grep -c .)" != 1 ] || [ "$l" -le "$prev" ]; then
			bad="$bad '$p' (lines: $(echo "$l" | paste -sd,))"
		else
			prev=$l
		fi
	done
	if [ -z "$bad" ]; then
		echo "ok $n - $d"
	else
		fail=$((fail + 1))
		echo "not ok $n - $d:$bad"
		grep config "$f" | sed 's/^/#   /' | head -10
	fi
}
cfg_once "events: config r0 chosen, then applied, epoch 0 at up" "$T/tevents" \
	' config r0 chosen epoch 0 voters 1,2 learners 3 change -$' \
	' config r0 applied epoch 0 voters 1,2 learners 3 change -$'
cfg_once "events --json: the same config events" "$T/events" \
	'"type":"config","event":"chosen","resource":"r0","epoch":0,"voters":\[1,2\],"learners":\[3\],"change":null}' \
	'"type":"config","event":"applied","resource":"r0","epoch":0,"voters":\[1,2\],"learners":\[3\],"change":null}'

rm -rf "$T"
echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ $fail = 0 ]
