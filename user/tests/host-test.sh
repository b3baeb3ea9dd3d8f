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
rc 0 "check-config --json" $P --json -c "$T/r0.res" check-config r0
json "  is valid JSON"
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
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff
assert crc32c(b"123456789") == 0xe3069283
OFF = {"magic": (0x0, "<Q"), "version": (0x8, "<I"), "sb_size": (0xc, "<I"),
       "feature_ro_compat": (0x18, "<Q"), "feature_incompat": (0x20, "<Q"),
       "seq": (0x28, "<Q"), "node_id": (0x50, "<I"), "block_size": (0x54, "<I"),
       "dev_size": (0x58, "<Q"), "acceptor_offset": (0x60, "<Q"),
       "acceptor_size": (0x68, "<Q"), "log_offset": (0x70, "<Q"),
       "log_size": (0x78, "<Q"), "data_offset": (0x80, "<Q"),
       "data_size": (0x88, "<Q"), "created": (0x90, "<Q"), "crc": (0x1fc, "<I")}
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
corrupt feature_incompat 'put("feature_incompat", 1)'
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
corrupt data_size 'put("data_size", 0)'
corrupt data_size 'put("data_size", get("data_size") + 1)'
corrupt dev_size 'put("dev_size", get("dev_size") + 4096); put("data_size", get("data_size") + 4096)'
corrupt dev_size 'put("dev_size", get("data_offset"))'

# rec WANT BASE EXPR [NOFIX]: edit the 512-byte record at BASE (acceptor
# slot or log header; rec is a bytearray, u32/u64 set little-endian
# integers), fix its crc unless NOFIX, expect show-md to refuse with WANT.
rec() {
	local want=$1 base=$2 expr=$3 nofix=${4:-}
	cp "$T/pristine" "$T/img"
	$PY - "$T/img" "$base" "$expr" "$nofix" <<'EOF2'
import struct, sys
path, base, expr, nofix = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], sys.argv[4]
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff
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
	rc 8 "show-md: $want refused ($expr)" $P show-md "$T/img"
	out "attach would refuse: $want" "  verdict names $want"
}
rec "acceptor state field 'nr_members'" 0x2000 'u32(0x40, 33)'
rec "acceptor state field 'members'" 0x2000 'u32(0x40, 1); u32(0x48, 40)'
rec "acceptor state field 'members'" 0x2000 'u32(0x50, 3)'
rec "acceptor state field 'disk_uuid'" 0x2000 'rec[0x10] ^= 1'
rec "acceptor state field 'reserved'" 0x2000 'rec[0x150] = 1'
rec "acceptor state field 'magic'" 0x2000 'u64(0, 0)' nofix
rec "acceptor state field 'crc'" 0x2000 'rec[0x20] ^= 1' nofix
rec "log header field 'magic'" 0x4000 'u64(0, 7)'
rec "log header field 'crc'" 0x4000 'rec[0x20] ^= 1' nofix
rec "log header field 'disk_uuid'" 0x4000 'rec[0x8] ^= 1'
rec "log header field 'rec_align'" 0x4000 'u32(0x18, 512)'
rec "log header field 'rec_offset'" 0x4000 'u64(0x20, 0)'
rec "log header field 'rec_size'" 0x4000 'u64(0x28, 1)'
rec "log header field 'reserved'" 0x4000 'rec[0x100] = 1'

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
