#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# prbdctl tests that need no kernel module: command line and exit codes,
# resource files, create-md / show-md on image files (including every
# superblock field corrupted with its crc fixed up), JSON output.
# Prints TAP and ends with "N passed, N failed".
#
# usage: host-test.sh PATH/TO/prbdctl
P=${1:?usage: host-test.sh PATH/TO/prbdctl}
PY=${PYTHON:-python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# the metadata editors below (python heredocs) share this module
export PYTHONPATH="$T${PYTHONPATH:+:$PYTHONPATH}"
cat > "$T/prbdmd.py" <<'EOF0'
def crc32c(data):
    """CRC-32C as the crc fields of prbd metadata hold it"""
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff
EOF0
n=0
fail=0

pass_() { n=$((n + 1)); echo "ok $n - $1"; }
fail_() {
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $1"
	[ -s "$T/err" ] && sed 's/^/#   err: /' "$T/err" | head -5
	[ -s "$T/out" ] && sed 's/^/#   out: /' "$T/out" | head -5
}

# rc WANT DESC CMD...: CMD exits WANT
rc() {
	local want=$1 d=$2 got
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" = "$want" ]; then pass_ "$d (exit $want)"; else fail_ "$d: exit $got, want $want"; fi
}

# out PATTERN DESC / err PATTERN DESC: last stdout/stderr matches
out() { if grep -q -- "$1" "$T/out"; then pass_ "$2"; else fail_ "$2: no '$1'"; fi; }
err() { if grep -q -- "$1" "$T/err"; then pass_ "$2"; else fail_ "$2: no '$1'"; fi; }

json() { # json DESC: last stdout is one JSON document
	if $PY -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" 2>/dev/null; then
		pass_ "$1"
	else
		fail_ "$1: not valid JSON"
	fi
}

UUID=6f1c2a34-9d55-4e1b-8a77-0c2f3d4e5f60

# ---- command line -----------------------------------------------------
rc 0 "--version" $P --version
out "netlink family prbd v1" "  names the family and version"
rc 0 "--help" $P --help
out "create-md" "  lists the commands"
rc 1 "no command" $P
rc 1 "unknown command" $P frobnicate
rc 1 "unknown option" $P --frobnicate status
rc 1 "option that does not apply" $P status --learner
rc 1 "too many arguments" $P status a b
rc 1 "too few arguments" $P attach r0
rc 1 "invalid resource name" $P status 'a/b'
rc 1 "resource name starting with -" $P del-resource -- -x
rc 1 "node id 0" $P peer-del r0 0
rc 1 "node id 32" $P peer-del r0 32
rc 1 "node id not a number" $P peer-del r0 two
rc 1 "--minor 1024" $P new-resource r0 --minor 1024 --node-id 1 --cluster-uuid $UUID
rc 1 "--cluster-uuid malformed" $P new-resource r0 --minor 1 --node-id 1 --cluster-uuid 1234
rc 1 "--on-no-quorum bogus" $P set r0 --on-no-quorum maybe
rc 1 "new-resource without --minor" $P new-resource r0 --node-id 1 --cluster-uuid $UUID
rc 1 "peer-add with a bad address" $P peer-add r0 2 300.1.1.1
rc 1 "peer-add with port 0" $P peer-add r0 2 10.0.0.1:0
rc 1 "peer-add with a multicast address" $P peer-add r0 2 224.0.0.1
rc 1 "peer-add with bare IPv6" $P peer-add r0 2 fd00::1
rc 1 "attach with a relative path" $P attach r0 dev/vda
NR="new-resource r0 --minor 1 --node-id 1 --cluster-uuid $UUID"
rc 1 "--listen with port 0" $P $NR --listen 10.0.0.1:0
err "invalid --listen '10.0.0.1:0'" "  names the bad value"
rc 1 "--listen with port 65536" $P $NR --listen '[fd00::1]:65536'
rc 1 "--listen with a multicast address" $P $NR --listen 239.1.1.1:7790
rc 1 "--listen with bare IPv6" $P $NR --listen fd00::1
rc 1 "--listen without an address" $P $NR --listen :7790
rc 1 "--listen does not apply to up" $P up r0 --listen 10.0.0.1:7790
err "option --listen does not apply to up" "  says so"
for a in 10.0.0.1:7790 10.0.0.1 '[fd00::1]:7791'; do
	$P $NR --listen "$a" >"$T/out" 2>"$T/err"
	got=$?
	# parsed: fails later (no module: 7) unless the module is loaded here
	if [ "$got" != 1 ]; then pass_ "--listen $a parses (exit $got)"; else fail_ "--listen $a refused"; fi
done
rc 1 "events --count 0" $P events --count 0
# verify / resync argument errors: exit 1, nothing sent (no module needed)
rc 1 "verify --range without a colon" $P verify r0 --range 4096
err "invalid --range '4096': use START:LEN" "  says how"
rc 1 "verify --range junk" $P verify r0 --range 0:lots
err "LEN is not a size" "  names LEN"
rc 1 "verify --range unaligned start" $P verify r0 --range 512:4K
err "START must be a multiple of 4096" "  says so"
rc 1 "verify --range unaligned length" $P verify r0 --range 0:4097
err "LEN must be a multiple of 4096" "  says so"
rc 1 "verify --range of length 0" $P verify r0 --range 4K:0
err "LEN must not be 0" "  says so"
rc 1 "verify --range overflowing" $P verify r0 --range 18446744073709547520:8K
err "overflows" "  says so"
rc 1 "verify with a node argument" $P verify r0 2
rc 1 "verify --peer does not apply" $P verify r0 --peer 2
rc 1 "resync without --peer" $P resync r0
err "resync needs --peer N" "  says so"
rc 1 "resync --peer 0" $P resync r0 --peer 0
rc 1 "resync --peer 32" $P resync r0 --peer 32
rc 1 "resync --peer x" $P resync r0 --peer x
rc 1 "resync --range junk" $P resync r0 --peer 2 --range 1M:2X
rc 1 "set --resync-rate junk" $P set r0 --resync-rate fast
err "invalid --resync-rate 'fast'" "  names the value"
rc 1 "set --resync-rate above 4G" $P set r0 --resync-rate 5G
rc 1 "--resync-rate does not apply to status" $P status --resync-rate 1M
for a in "verify r0" "verify r0 --range 0:1G" "resync r0 --peer 2 --range 4K:64K" \
	 "set r0 --resync-rate 20M" "set r0 --resync-rate 0"; do
	$P $a >"$T/out" 2>"$T/err"
	got=$?
	# parsed: fails later (no module: 7, verify: 1 with "not found") unless loaded
	if [ "$got" != 1 ] || grep -q "family 'prbd' not found" "$T/err"; then
		pass_ "$a parses (exit $got)"
	else
		fail_ "$a refused"
	fi
done
if $P status >/dev/null 2>&1 || [ $? != 7 ]; then
	pass_ "status without the module # SKIP the prbd family exists here"
else
	rc 7 "status without the module" $P status
	err "is the prbd module loaded" "  says so"
fi

# ---- resource files ---------------------------------------------------
good() {
	cat <<EOF
; a resource
[resource]
name = r0
minor = 3
cluster-uuid = $UUID
secret = shared secret  ; comment
on-no-quorum = io-error
resync-rate = 20M

[node 1]
address = 127.0.0.1:7790
disk = $T/img

[node 2]
address = 10.77.0.2
disk = /dev/vda

[node 3]
address = [fd00::3]:7791
role = learner
EOF
}
good >"$T/r0.res"
rc 0 "check-config of a good file" $P -c "$T/r0.res" check-config r0
out "node 1 127.0.0.1:7790 disk $T/img voter (local)" "  local node found by address"
out "node 2 10.77.0.2:7790 disk /dev/vda voter" "  default port 7790"
out "node 3 \[fd00::3\]:7791 disk - learner" "  IPv6 and learner"
out "on-no-quorum io-error (secret set)" "  resource settings"
out "resync-rate 20.0 MiB/s" "  resync-rate 20M"
rc 0 "check-config --json" $P --json -c "$T/r0.res" check-config r0
json "  is valid JSON"
out '"resync_rate_cap":20480' "  resync-rate 20M is 20480 KiB/s"
rc 0 "--node 2 picks node 2" $P -c "$T/r0.res" -n 2 check-config r0
out "node 2 .* (local)" "  node 2 is local"
rc 2 "--node 9: no such section" $P -c "$T/r0.res" -n 9 check-config r0
rc 2 "file describes another resource" $P -c "$T/r0.res" check-config r1
err "describes resource 'r0', not 'r1'" "  says so"
rc 2 "missing file" $P -c "$T/none.res" check-config r0
err "cannot open" "  says so"

# bad FILE-EDIT DESC MESSAGE: the edited file is refused with MESSAGE
bad() {
	local edit=$1 d=$2 msg=$3
	good | sed "$edit" >"$T/bad.res"
	rc 2 "$d" $P -c "$T/bad.res" -n 1 check-config r0
	err "$msg" "  $msg"
}
bad 's/^minor = 3/minor = 1024/' "minor 1024" "bad.res:4: invalid minor"
bad 's/^minor = 3/minor = -1/' "minor -1" "bad.res:4: invalid minor"
bad 's/^cluster-uuid = .*/cluster-uuid = xyz/' "bad cluster-uuid" "bad.res:5: invalid cluster-uuid"
bad 's/^on-no-quorum = .*/on-no-quorum = panic/' "bad on-no-quorum" "bad.res:7: invalid on-no-quorum"
bad '/^resync-rate = /a durability = lazy' "bad durability" "bad.res:9: invalid durability 'lazy' (strict or flush)"
bad '/^resync-rate = /a durability = flush\ndurability = strict' "duplicate durability" "bad.res:10: duplicate key 'durability'"
bad 's/^secret = .*/secret = 01234567890123456789012345678901234567890123456789012345678901234/' \
	"secret of 65 bytes" "bad.res:6: secret must be 1..64 bytes"
bad 's/^name = r0/name = r\/0/' "bad name" "bad.res:3: invalid resource name"
bad '/^minor = 3/a minor = 4' "duplicate key" "bad.res:5: duplicate key 'minor'"
bad 's/^role = learner/colour = blue/' "unknown key" "unknown key 'colour' in \[node 3\]"
bad 's/^\[node 3\]/[nodes 3]/' "unknown section" "unknown section \[nodes 3\]"
bad 's/^\[node 3\]/[node 0]/' "node id 0" "invalid section \[node 0\]"
bad 's/^\[node 3\]/[node 32]/' "node id 32" "invalid section \[node 32\]"
bad 's/^address = 10.77.0.2$/address = 10.77.0.2:99999/' "port 99999" "invalid address"
bad 's/^address = 10.77.0.2$/address = 0.0.0.0/' "unspecified address" "invalid address"
bad 's/^address = 10.77.0.2$/address = 127.0.0.1:7790/' "duplicate address" "have the same address"
bad 's/^disk = \/dev\/vda/disk = vda/' "relative disk" "must be an absolute path"
bad 's/^role = learner/role = boss/' "bad role" "invalid role"
bad '/^name = r0/d' "no name" "has no name"
bad '/^minor = 3/d' "no minor" "needs minor and cluster-uuid"
bad '/^address = 10.77.0.2$/d' "node without address" "\[node 2\] has no address"
bad '1i stray = 1' "key outside a section" "outside of a section"
bad 's/^resync-rate = 20M/resync-rate = fast/' "bad resync-rate" "bad.res:8: invalid resync-rate 'fast'"
bad 's/^resync-rate = 20M/resync-rate = 5G/' "resync-rate above 4G" "bad.res:8: invalid resync-rate '5G'"
bad '/^resync-rate = 20M/a resync-rate = 1M' "duplicate resync-rate" "bad.res:9: duplicate key 'resync-rate'"
good | sed 's/^resync-rate = 20M/resync-rate = 0/' >"$T/rate.res"
rc 0 "resync-rate 0: no cap" $P -c "$T/rate.res" check-config r0
out "resync-rate none" "  shown as none"
good | sed 's/^resync-rate = 20M/resync-rate = 1500/' >"$T/rate.res"
rc 0 "resync-rate 1500 bytes/s" $P --json -c "$T/rate.res" check-config r0
out '"resync_rate_cap":2' "  rounds up to 2 KiB/s"
good | sed 's/^address = 127.0.0.1:7790/address = 192.0.2.1/' >"$T/nolocal.res"
rc 2 "no node with a local address" $P -c "$T/nolocal.res" check-config r0
err "no node has a local address" "  asks for --node or node-id"
good | sed 's/^address = 192.0.2.1/address = 192.0.2.1/; /^\[resource\]/a node-id = 2' >"$T/nolocal.res"
sed -i 's/^address = 127.0.0.1:7790/address = 192.0.2.1/' "$T/nolocal.res"
rc 0 "node-id in [resource] picks the local node" $P -c "$T/nolocal.res" check-config r0
out "node 2 .* (local)" "  node 2 is local"
good | sed 's/^address = 10.77.0.2$/address = [::1]/' >"$T/two.res"
if getent ahosts ::1 >/dev/null 2>&1 && ip -6 addr show lo 2>/dev/null | grep -q '::1/128' &&
   ip -4 addr show lo 2>/dev/null | grep -q '127.0.0.1/8'; then
	rc 2 "two local nodes without --node" $P -c "$T/two.res" check-config r0
	err "use --node" "  asks for --node"
else
	pass_ "two local nodes # SKIP no 127.0.0.1 and ::1 on lo here"
fi

# ---- create-md / show-md ----------------------------------------------
truncate -s 64M "$T/img"
rc 0 "create-md from the resource file" $P -c "$T/r0.res" create-md r0
out "cluster $UUID node 1" "  uses the local node's uuid and id"
rc 5 "create-md refuses existing prbd metadata" $P -c "$T/r0.res" create-md r0
err "holds prbd metadata (node 1" "  names what it found"
rc 0 "create-md --force" $P --json create-md --disk "$T/img" --cluster-uuid $UUID --node-id 1 --force
json "  --json output is valid JSON"
rc 0 "show-md" $P show-md "$T/img"
out "superblock A: valid" "  copy A valid"
out "superblock B: valid" "  copy B valid"
rc 0 "show-md --json" $P --json show-md "$T/img"
json "  is valid JSON"
rc 1 "create-md RES with --disk" $P -c "$T/r0.res" create-md r0 --disk "$T/img"
rc 1 "create-md without RES or --disk" $P create-md
rc 1 "create-md --log-size 100K" $P create-md --disk "$T/img" --cluster-uuid $UUID --node-id 1 --force --log-size 100K
rc 1 "create-md --block-size 1000" $P create-md --disk "$T/img" --cluster-uuid $UUID --node-id 1 --block-size 1000
rc 4 "create-md of a missing device" $P create-md --disk "$T/none" --cluster-uuid $UUID --node-id 1
truncate -s 2M "$T/small"
rc 8 "create-md of a device that is too small" $P create-md --disk "$T/small" --cluster-uuid $UUID --node-id 1
err "too small" "  says so"
rc 8 "create-md of a directory" $P create-md --disk "$T" --cluster-uuid $UUID --node-id 1
if command -v mkfs.ext4 >/dev/null; then
	truncate -s 64M "$T/ext4"
	mkfs.ext4 -q -F "$T/ext4" >/dev/null 2>&1
	rc 5 "create-md refuses an ext4 file system" $P create-md --disk "$T/ext4" --cluster-uuid $UUID --node-id 1
	err "ext2/ext3/ext4" "  names it"
else
	pass_ "ext4 signature # SKIP no mkfs.ext4"
fi
printf 'XFSB' | dd of="$T/small" conv=notrunc 2>/dev/null
truncate -s 64M "$T/small"
rc 5 "create-md refuses an XFS signature" $P create-md --disk "$T/small" --cluster-uuid $UUID --node-id 1
printf '\x55\xaa' | dd of="$T/small" bs=1 seek=510 conv=notrunc 2>/dev/null
printf '\0\0\0\0' | dd of="$T/small" conv=notrunc 2>/dev/null
rc 5 "create-md refuses a partition table" $P create-md --disk "$T/small" --cluster-uuid $UUID --node-id 1
rc 8 "show-md of a device without metadata" $P show-md "$T/ext4"

# ---- the slot map layout ------------------------------------------------
# layout IMG: check the superblock's layout rules with python, print
# "chunk N chunks N" of the JSON show-md
layout() {
	$P --json show-md "$1" >"$T/out" 2>"$T/err" || { echo "show-md failed"; return; }
	$PY - "$T/out" <<'EOF3'
import json, sys
d = json.load(open(sys.argv[1]))
sb, m = d["A"], d["slot_map"]
chunk = 1 << sb["map_chunk_shift"]
n = -(-sb["data_size"] // chunk)
want_size = 8192 + -(-n * 8 // 4096) * 4096
want_data = -(-(sb["map_offset"] + sb["map_size"]) // (1 << 20)) << 20
errs = []
if sb["feature_incompat"] != 1: errs.append("feature_incompat %d" % sb["feature_incompat"])
if sb["map_offset"] != sb["log_offset"] + sb["log_size"]: errs.append("map_offset")
if sb["map_size"] != want_size: errs.append("map_size %d != %d" % (sb["map_size"], want_size))
if sb["data_offset"] != want_data: errs.append("data_offset %d != %d" % (sb["data_offset"], want_data))
if m["chunks"] != n or m["chunk_size"] != chunk: errs.append("slot_map")
if n > 1 << 20: errs.append("too many chunks")
if sb["map_chunk_shift"] > 16 and -(-sb["data_size"] >> (sb["map_chunk_shift"] - 1)) <= 1 << 20:
    errs.append("chunk larger than needed")
if m["in_use"] != 0 or m["seq"] != 1 or m["covers"] != 0: errs.append("header 0")
if m["headers"][1]["state"] != "empty": errs.append("header 1")
print(" ".join(errs) if errs else "chunk %d chunks %d" % (chunk, n))
EOF3
}
truncate -s 1G "$T/g1"
# the default log is 1/16 of the device, 16 MiB to 1 GiB
logsz() { $P --json show-md "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["A"]["log_size"])'; }
for sz in 100M:16777216 1G:67108864 20G:1073741824; do
	truncate -s "${sz%%:*}" "$T/gl"
	$P create-md --disk "$T/gl" --cluster-uuid $UUID --node-id 1 --force >/dev/null 2>&1
	got=$(logsz "$T/gl")
	[ "$got" = "${sz##*:}" ] && pass_ "default log of a ${sz%%:*} device: $got bytes" ||
		fail_ "default log of a ${sz%%:*} device: $got, want ${sz##*:}"
	rm -f "$T/gl"
done
rc 0 "create-md of a 1 GiB image" $P create-md --disk "$T/g1" --cluster-uuid $UUID --node-id 1 --log-size 16M
out "slot map 16112 chunks of 64 KiB" "  64 KiB chunks, 16112 chunks"
got=$(layout "$T/g1")
[ "$got" = "chunk 65536 chunks 16112" ] && pass_ "  layout rules hold ($got)" || fail_ "  layout: $got"
rc 0 "show-md of the 1 GiB image" $P show-md "$T/g1"
out "slot map: offset 16793600 size 139264 chunk 65536 bytes (shift 16) chunks 16112" "  slot map line"
out "newest header 0: seq 1 covers 0" "  header 0 in use, seq 1, covers 0"
out "resync: inconsistent no  full no  rs_from 0  rs_cursor 0  rs_need 0" "  acceptor resync fields"
rc 0 "create-md --chunk-size 1M" $P --json create-md --disk "$T/g1" --cluster-uuid $UUID --node-id 1 --force --chunk-size 1M --log-size 16M
json "  --json output is valid JSON"
out '"chunk_size":1048576,"chunks":1007' "  1 MiB chunks, 1007 chunks"
got=$(layout "$T/g1" | sed 's/chunk larger than needed//; s/^ *$/ok/')
case $got in chunk*|ok) pass_ "  layout rules hold with --chunk-size" ;; *) fail_ "  layout: $got" ;; esac
rc 1 "--chunk-size 100K (not a power of two)" $P create-md --disk "$T/g1" --cluster-uuid $UUID --node-id 1 --force --chunk-size 100K
err "a power of two from 64K to 64M" "  says so"
rc 1 "--chunk-size 32K (too small)" $P create-md --disk "$T/g1" --cluster-uuid $UUID --node-id 1 --force --chunk-size 32K
rc 1 "--chunk-size 128M (too large)" $P create-md --disk "$T/g1" --cluster-uuid $UUID --node-id 1 --force --chunk-size 128M
rc 1 "--chunk-size junk" $P create-md --disk "$T/g1" --cluster-uuid $UUID --node-id 1 --force --chunk-size big
rc 1 "--chunk-size does not apply to show-md" $P show-md "$T/g1" --chunk-size 1M
rm -f "$T/g1"
if truncate -s 200G "$T/huge" 2>/dev/null; then
	rc 0 "create-md of a sparse 200 GiB image" $P create-md --disk "$T/huge" --cluster-uuid $UUID --node-id 1 --log-size 16M
	out "chunks of 256 KiB" "  256 KiB chunks (the smallest with at most 2^20 chunks)"
	got=$(layout "$T/huge")
	[ "$got" = "chunk 262144 chunks 819108" ] && pass_ "  layout rules hold ($got)" || fail_ "  layout: $got"
	rc 1 "--chunk-size 64K on 200 GiB: too many chunks" $P create-md --disk "$T/huge" --cluster-uuid $UUID --node-id 1 --force --chunk-size 64K --log-size 16M
	err "gives 3276528 chunks for .* at most 1048576: use --chunk-size 256K or more" "  says so and suggests 256K"
	rc 0 "show-md after the refused create-md: still the 256 KiB layout" $P show-md "$T/huge"
	out "chunk 262144 bytes" "  unchanged"
	rm -f "$T/huge"
else
	pass_ "sparse 200 GiB image # SKIP the file system here cannot hold it"
fi

# corrupt FIELD PYTHON-EXPR [COPIES] [NOFIX]: edit the superblock (struct
# fields by offset) in COPIES (default both), fix the crc unless NOFIX,
# expect show-md to name FIELD.
cp "$T/img" "$T/pristine"
corrupt() {
	local field=$1 expr=$2 copies=${3:-01} nofix=${4:-}
	cp "$T/pristine" "$T/img"
	$PY - "$T/img" "$expr" "$copies" "$nofix" <<'EOF'
import struct, sys
path, expr, copies, nofix = sys.argv[1:5]
from prbdmd import crc32c
assert crc32c(b"123456789") == 0xe3069283
OFF = {"magic": (0x0, "<Q"), "version": (0x8, "<I"), "sb_size": (0xc, "<I"),
       "feature_ro_compat": (0x18, "<Q"), "feature_incompat": (0x20, "<Q"),
       "seq": (0x28, "<Q"), "node_id": (0x50, "<I"), "block_size": (0x54, "<I"),
       "dev_size": (0x58, "<Q"), "acceptor_offset": (0x60, "<Q"),
       "acceptor_size": (0x68, "<Q"), "log_offset": (0x70, "<Q"),
       "log_size": (0x78, "<Q"), "data_offset": (0x80, "<Q"),
       "data_size": (0x88, "<Q"), "created": (0x90, "<Q"), "map_offset": (0x98, "<Q"),
       "map_size": (0xa0, "<Q"), "map_chunk_shift": (0xa8, "<I"), "reserved1": (0xac, "<I"),
       "crc": (0x1fc, "<I")}
with open(path, "r+b") as f:
    for c in copies:
        base = int(c) * 4096
        f.seek(base)
        sb = bytearray(f.read(512))
        get = lambda k: struct.unpack_from(OFF[k][1], sb, OFF[k][0])[0]
        def put(k, v):
            struct.pack_into(OFF[k][1], sb, OFF[k][0], v)
        env = {"get": get, "put": put, "sb": sb}
        exec(expr, env)
        if not nofix:
            struct.pack_into("<I", sb, 0x1fc, crc32c(bytes(sb[:0x1fc])))
        f.seek(base)
        f.write(sb)
EOF
	rc 8 "show-md: $field refused ($expr)" $P show-md "$T/img"
	out "INVALID (field '$field')" "  names field '$field'"
}
corrupt magic 'put("magic", 1)' 01 nofix
corrupt crc 'put("crc", get("crc") ^ 1)' 01 nofix
corrupt version 'put("version", 2)'
corrupt sb_size 'put("sb_size", 4096)'
corrupt feature_incompat 'put("feature_incompat", 2)'
corrupt feature_incompat 'put("feature_incompat", 3)'
corrupt feature_ro_compat 'put("feature_ro_compat", 1 << 40)'
corrupt reserved 'sb[0x100] = 1'
corrupt node_id 'put("node_id", 0)'
corrupt node_id 'put("node_id", 32)'
corrupt cluster_uuid 'sb[0x30:0x40] = bytes(16)'
corrupt block_size 'put("block_size", 1000)'
corrupt block_size 'put("block_size", 8192)'
corrupt acceptor_offset 'put("acceptor_offset", 0x3000)'
corrupt acceptor_size 'put("acceptor_size", 0x1000)'
corrupt log_offset 'put("log_offset", 0x3000)'
corrupt log_offset 'put("log_offset", 0x4001)'
corrupt log_size 'put("log_size", 4096)'
corrupt data_offset 'put("data_offset", get("log_offset"))'
# the slot map is checked before data_size: a data area it was not sized
# for is named as map_size
corrupt map_size 'put("data_size", 0)'
corrupt data_size 'put("data_size", get("data_size") + 1)'
corrupt dev_size 'put("dev_size", get("dev_size") + 4096); put("data_size", get("data_size") + 4096)'
corrupt dev_size 'put("dev_size", get("data_offset"))'
corrupt reserved 'put("reserved1", 1)'
corrupt map_offset 'put("feature_incompat", 0)'
corrupt map_offset 'put("map_offset", get("log_offset"))'
corrupt map_offset 'put("map_offset", get("map_offset") + 512)'
corrupt map_chunk_shift 'put("map_chunk_shift", 15)'
corrupt map_chunk_shift 'put("map_chunk_shift", 27)'
corrupt map_size 'put("map_size", get("map_size") + 4096)'
corrupt map_size 'put("map_size", 8192)'
corrupt data_offset 'put("data_offset", get("map_offset") + 4096)'
corrupt data_offset 'put("data_offset", get("map_offset") + get("map_size") - 4096)'

# rec WANT BASE EXPR [NOFIX]: edit the 512-byte record at BASE (acceptor
# slot or log header; rec is a bytearray, u32/u64 set little-endian
# integers), fix its crc unless NOFIX, expect show-md to refuse with WANT.
rec() {
	local want=$1
	edit_rec "$2" "$3" "${4:-}"
	rc 8 "show-md: $want refused ($3)" $P show-md "$T/img"
	out "attach would refuse: $want" "  verdict names $want"
}
# edit_rec BASE EXPR [NOFIX]: rec()'s edit of a pristine copy in $T/img
edit_rec() {
	local base=$1 expr=$2 nofix=${3:-}
	cp "$T/pristine" "$T/img"
	$PY - "$T/img" "$base" "$expr" "$nofix" <<'EOF2'
import struct, sys
path, base, expr, nofix = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], sys.argv[4]
from prbdmd import crc32c
with open(path, "r+b") as f:
    f.seek(base)
    rec = bytearray(f.read(512))
    u32 = lambda off, v: struct.pack_into("<I", rec, off, v)
    u64 = lambda off, v: struct.pack_into("<Q", rec, off, v)
    exec(expr, {"rec": rec, "u32": u32, "u64": u64})
    if not nofix:
        struct.pack_into("<I", rec, 0x1fc, crc32c(bytes(rec[:0x1fc])))
    f.seek(base)
    f.write(rec)
EOF2
}
rec "acceptor state field 'nr_members'" 0x2000 'u32(0x40, 33)'
rec "acceptor state field 'members'" 0x2000 'u32(0x40, 1); u32(0x48, 40)'
rec "acceptor state field 'members'" 0x2000 'u32(0x50, 3)'
rec "acceptor state field 'disk_uuid'" 0x2000 'rec[0x10] ^= 1'
rec "acceptor state field 'reserved'" 0x2000 'rec[0x190] = 1'
rec "acceptor state field 'reserved'" 0x2000 'u32(0x14c, 1)'
rec "acceptor state field 'flags'" 0x2000 'u32(0x148, 32)'
# reset (0x10) only with inconsistent, full and an epoch
rec "acceptor state field 'flags'" 0x2000 'u32(0x148, 16)'
rec "acceptor state field 'flags'" 0x2000 'u32(0x148, 0x13)'
rec "acceptor state field 'magic'" 0x2000 'u64(0, 0)' nofix
rec "acceptor state field 'crc'" 0x2000 'rec[0x20] ^= 1' nofix
# removed_at (issue 15): node 1 removed at slot 7 by the configuration
# {1,2} of slot 7 holding it cannot be; with an older configuration it
# is (it learned its removal before the entry) and show-md shows it
rec "acceptor state field 'removed_at'" 0x2000 'u64(0x28, 7); u32(0x40, 2); u32(0x48, 1); u32(0x50, 2); u64(0x168, 7)'
edit_rec 0x2000 'u64(0x28, 3); u32(0x40, 2); u32(0x48, 1); u32(0x50, 2); u64(0x168, 7)'
rc 0 "show-md: removed_at 7 with the configuration of slot 3" $P show-md "$T/img"
out "removed from the group at slot 7 (until create-md)" "  shows the removal"
rc 0 "show-md --json of it" $P --json show-md "$T/img"
out '"removed_at":7,' "  removed_at 7 in JSON"
edit_rec 0x2000 'u64(0x28, 7); u32(0x40, 1); u32(0x48, 2); u64(0x168, 7)'
rc 0 "show-md: removed_at 7 with the configuration of slot 7 without it" $P show-md "$T/img"
# flush mode's epoch, base and rank (the core's hard state) and the
# clean-shutdown mark (PRBD_DISK_ACC_F_UP): a rank below its epoch is
# refused; a valid epoch is shown, and so is a run with no clean down
rec "acceptor state field 'erank'" 0x2000 'u64(0x170, 0x305); u64(0x180, 0x205)'
rec "acceptor state field 'erank'" 0x2000 'u64(0x170, 0x305); u64(0x178, 4)'
edit_rec 0x2000 'u64(0x170, 0x305); u64(0x178, 9); u64(0x180, 0x405); u32(0x148, 8)'
rc 0 "show-md: epoch 0x305 base 9 rank 0x405, the resource up" $P show-md "$T/img"
out "  epoch 773  epoch_base 9  erank 1029  clean no" "  shows epoch, base, rank, not clean"
out "shutdown: not clean (up, or no clean down since)" "  the mark in use: not clean"
rc 0 "show-md --json of it" $P --json show-md "$T/img"
out '"epoch":773,"epoch_base":9,"erank":1029,"reset":false,"log_floor":0,"clean":false,' "  epoch, base, rank, not clean in JSON"
out '"acceptor_slot":0,"clean":false}' "  the mark in use in JSON"
# a reset under way (flush mode): a full resync to an epoch, a log floor
edit_rec 0x2000 'u64(0x170, 0x305); u64(0x178, 9); u64(0x180, 0x405); u32(0x148, 0x13); u64(0x188, 77)'
rc 0 "show-md: a reset to epoch 0x305 under way" $P show-md "$T/img"
out "  reset yes  log_floor 77" "  shows the reset and the log floor"
edit_rec 0x2000 'u64(0x180, 0x405)'
rc 0 "show-md: epoch 0 with a rank (strict mode), shut down cleanly" $P show-md "$T/img"
out "  epoch 0  epoch_base 0  erank 1029  clean yes" "  shows the rank, clean"
out "shutdown: clean" "  the mark in use: clean"
rec "log header field 'magic'" 0x4000 'u64(0, 7)'
rec "log header field 'crc'" 0x4000 'rec[0x20] ^= 1' nofix
rec "log header field 'disk_uuid'" 0x4000 'rec[0x8] ^= 1'
rec "log header field 'rec_align'" 0x4000 'u32(0x18, 512)'
rec "log header field 'rec_offset'" 0x4000 'u64(0x20, 0)'
rec "log header field 'rec_size'" 0x4000 'u64(0x28, 1)'
rec "log header field 'reserved'" 0x4000 'rec[0x100] = 1'

# maphdr SLOT EXPR WANT-OUT [NOFIX]: edit slot map header SLOT (0 or 1;
# rec, u32, u64 as for rec()), fix its crc unless NOFIX; a map header never
# refuses the attach: show-md exits 0 and prints WANT-OUT.
MAP_OFF=$((0x4000 + 16 * 1024 * 1024))
maphdr() {
	local slot=$1 expr=$2 want=$3 nofix=${4:-}
	cp "$T/pristine" "$T/img"
	$PY - "$T/img" "$MAP_OFF" "$slot" "$expr" "$nofix" <<'EOF4'
import struct, sys
path, base, slot, expr, nofix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
from prbdmd import crc32c
with open(path, "r+b") as f:
    f.seek(base)
    hdr0 = bytes(f.read(512))
    f.seek(base + slot * 4096)
    rec = bytearray(f.read(512))
    u32 = lambda off, v: struct.pack_into("<I", rec, off, v)
    u64 = lambda off, v: struct.pack_into("<Q", rec, off, v)
    exec(expr, {"rec": rec, "u32": u32, "u64": u64, "hdr0": hdr0})
    if not nofix:
        struct.pack_into("<I", rec, 0x1fc, crc32c(bytes(rec[:0x1fc])))
    f.seek(base + slot * 4096)
    f.write(rec)
EOF4
	rc 0 "show-md: map header $slot: $expr" $P show-md "$T/img"
	out "$want" "  $want"
}
maphdr 0 'rec[0x20] ^= 1' "no valid header: every chunk counts as changed" nofix
maphdr 0 'u64(0, 5)' "header 0: not used (field 'magic')"
maphdr 0 'rec[0x10] ^= 1' "header 0: not used (field 'disk_uuid')"
maphdr 0 'u64(0x28, 1)' "header 0: not used (field 'n_chunks')"
maphdr 0 'u32(0x30, 17)' "header 0: not used (field 'chunk_shift')"
maphdr 0 'u32(0x34, 1)' "header 0: not used (field 'reserved')"
maphdr 0 'rec[0x100] = 1' "header 0: not used (field 'reserved')"
maphdr 1 'rec[:] = hdr0; u64(8, 2); u64(0x20, 7)' "newest header 1: seq 2 covers 7"
maphdr 1 'rec[:] = hdr0; u64(8, 2); u64(0x20, 7); rec[0x30] = 9' "newest header 0: seq 1 covers 0"
maphdr 1 'rec[:] = hdr0; u64(0x20, 7)' "newest header 0: seq 1 covers 0"
# a format without the slot map (feature bit and map fields zero) is valid
cp "$T/pristine" "$T/img"
$PY - "$T/img" <<'EOF5'
import struct, sys
from prbdmd import crc32c
with open(sys.argv[1], "r+b") as f:
    for base in (0, 4096):
        f.seek(base)
        sb = bytearray(f.read(512))
        struct.pack_into("<Q", sb, 0x20, 0)
        sb[0x98:0xb0] = bytes(0x18)
        struct.pack_into("<I", sb, 0x1fc, crc32c(bytes(sb[:0x1fc])))
        f.seek(base)
        f.write(sb)
EOF5
rc 0 "show-md: no slot map feature, map fields zero" $P show-md "$T/img"
out "slot map: none (every chunk counts as changed)" "  no slot map"
rc 0 "  --json" $P --json show-md "$T/img"
json "  is valid JSON"
out '"slot_map":null' "  slot_map null"

# flip FILE OFFSET: invert one byte (writing a constant could leave it as it was)
flip() {
	$PY -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2]); f.seek(o); b = f.read(1)
f.seek(o); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"
}

cp "$T/pristine" "$T/img"
flip "$T/img" $((0x1fc))
rc 0 "show-md: copy A torn, copy B valid" $P show-md "$T/img"
out "superblock A: INVALID (field 'crc')" "  copy A reported"
out "superblock B: valid" "  copy B valid"
out "attach would accept: superblock copy B, acceptor slot 0" "  verdict: copy B"
cp "$T/pristine" "$T/img"
flip "$T/img" $((0x1fc))
flip "$T/img" $((0x11fc))
rc 8 "show-md: both copies torn" $P show-md "$T/img"
out "attach would refuse: superblock field 'crc'" "  verdict: crc"

rm -f "$T/img"
echo "1..$n"
echo "$((n - fail)) passed, $fail failed"
[ $fail = 0 ]
