#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The prbd transport (kmod/prbd_transport.c) in three guests, driven through
# the prbd_trtest.ko test module (see prbd_trtest_main.c): handshake and
# authentication, intact delivery with and without payloads, refusal of a
# wrong secret / cluster UUID / duplicate node id, reconnect after a cut,
# rejection of garbage, clean unload while streaming, and throughput of
# 1 MiB messages next to a raw TCP stream measured in the same run.
. "$(dirname "$0")/../lib.sh"
need_rig

HERE=$(cd "$(dirname "$0")" && pwd)
N=3
PORT=7790
SECRET=prbd-test-secret
CTL=/sys/kernel/debug/prbd_trtest/ctl
STATS=/sys/kernel/debug/prbd_trtest/stats
KVER=${RIG_KVER}

ktap_plan 14

if ! make -s -C "$HERE" KDIR="/usr/src/linux-headers-$KVER" >"$HERE/.build.log" 2>&1; then
	cat "$HERE/.build.log" | sed 's/^/# /'
	ktap_bail "prbd_trtest.ko did not build"
fi
t0=$SECONDS
rig_start $N || ktap_bail "rig did not boot"
ktap_diag "$N VMs booted in $((SECONDS - t0)) s"
for i in $(seq 1 $N); do
	rig_put "$i" "$HERE/prbd_trtest.ko" /root/prbd_trtest.ko || ktap_bail "copy to vm$i"
	rig_exec "$i" 'modprobe libcrc32c' >/dev/null || ktap_bail "libcrc32c on vm$i"
done

peers_of() { # peers_of I: every other node
	local j p=
	for j in $(seq 1 $N); do
		[ "$j" = "$1" ] || p="$p,$j@$(rig_ip "$j"):$PORT"
	done
	echo "${p#,}"
}

# load I [PARAM=VALUE...]: load the test module in guest I as node I
load() {
	local i=$1
	shift
	vm "$i" "insmod /root/prbd_trtest.ko node_id=$i listen=$(rig_ip "$i"):$PORT \
		peers=$(peers_of "$i") secret=$SECRET timeout_ms=3000 backoff_max_ms=2000 $*"
}

unload() { # unload I: retries while a command still holds the module
	local t
	for t in $(seq 1 60); do
		rig_exec "$1" 'rmmod prbd_trtest 2>/dev/null' >/dev/null && return 0
		rig_exec "$1" 'grep -q "^prbd_trtest " /proc/modules' >/dev/null || return 0
		sleep 0.5
	done
	fail "vm$1: cannot unload prbd_trtest"
}

# st I NODE FIELD: a counter of guest I about peer NODE ("-" for global lines)
st() {
	rig_exec "$1" "cat $STATS" | awk -v n="$2" -v f="$3" '
		$1 == "node" && $2 == n { for (i = 3; i < NF; i++) if ($i == f) print $(i + 1) }'
}

# wait_field I NODE FIELD VALUE SECONDS
wait_field() {
	local t
	for t in $(seq 1 $((2 * $5))); do
		[ "$(st "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.5
	done
	fail "vm$1: peer $2 not $3=$4 after $5 s: $(rig_exec "$1" "cat $STATS" | grep "^node $2 ")"
}

wait_state() { wait_field "$1" "$2" up "$3" "$4"; } # wait_state I NODE 0|1 SECONDS

ctl() { vm "$1" "echo '$2' > $CTL"; }

expect_rx() { # expect_rx I FROM MSGS BYTES: all intact, in order, once
	local m b bad ro
	m=$(st "$1" "$2" rx_msgs)
	b=$(st "$1" "$2" rx_bytes)
	bad=$(st "$1" "$2" rx_bad)
	ro=$(st "$1" "$2" rx_reorder)
	echo "vm$1 from $2: $m messages, $b payload bytes, $bad bad, $ro out of order"
	[ "$m" = "$3" ] && [ "$b" = "$4" ] && [ "$bad" = 0 ] && [ "$ro" = 0 ] ||
		fail "vm$1: expected $3 messages / $4 bytes from node $2, intact and in order"
}

wait_rx() { # wait_rx I FROM MSGS: delivery may trail the sender's done()
	local t
	for t in $(seq 1 40); do
		[ "$(st "$1" "$2" rx_msgs)" = "$3" ] && return 0
		sleep 0.5
	done
}

log_has() { # log_has I REGEX
	local log
	log=$(rig_exec "$1" 'dmesg')
	grep -E "$2" <<<"$log" | tail -n 2 || fail "vm$1: no log line matching '$2'"
}

all_up() {
	local i j
	for i in $(seq 1 $N); do
		for j in $(seq 1 $N); do
			[ "$i" = "$j" ] || wait_state "$i" "$j" 1 30
		done
	done
}

connect_all() {
	local i
	for i in $(seq 1 $N); do load "$i"; done
	all_up
	vm 1 "cat $STATS"
	log_has 2 'trtest: node 1 at 10.77.0.1:[0-9]+: connected'
}

small_messages() {
	local i
	for i in 1 2 3; do ctl "$i" reset; done
	ctl 1 'send 2 1000 64 0'
	ctl 2 'send 1 500 16 0'
	ctl 3 'send 2 300 4096 0'
	wait_rx 2 1 1000
	expect_rx 2 1 1000 0
	expect_rx 1 2 500 0
	expect_rx 2 3 300 0
}

payload_messages() {
	local i
	for i in 1 2 3; do ctl "$i" reset; done
	ctl 1 'send 2 200 100 4096'
	ctl 1 'send 2 50 4000 65536'
	ctl 3 'send 1 64 24 12288'
	ctl 2 'sendmp 3 40'
	wait_rx 2 1 250
	expect_rx 2 1 250 $((200 * 4096 + 50 * 65536))
	expect_rx 1 3 64 $((64 * 12288))
	echo "multi-page bio_vecs (64 KiB - 8 at offset 4, compound and not):"
	wait_rx 3 2 40
	expect_rx 3 2 40 $((40 * (65536 - 8)))
}

large_messages() {
	local i
	for i in 1 2 3; do ctl "$i" reset; done
	ctl 1 'send 3 32 16 1048576'
	ctl 2 'send 3 16 512 1048576'
	wait_rx 3 2 16
	expect_rx 3 1 32 $((32 << 20))
	expect_rx 3 2 16 $((16 << 20))
}

throughput() {
	local mib=64 prbd prbdc raw k crc
	ctl 3 'crcbench 64'
	crc=$(rig_exec 3 "cat $STATS" | awk '$1 == "crcbench" { printf "%.0f", $5 / ($3 / 1e9) / 1e6 }')
	echo "crc32c in the guest: $crc MB/s (paid once by the sender, once by the receiver)"
	vm 3 'echo 0 > /sys/module/prbd_trtest/parameters/verify'
	for k in 1 2; do
		ctl 1 "send 3 $mib 64 1048576"
		prbd=$(rig_exec 1 "cat $STATS" | awk -v m=$mib '$1 == "send" && $3 == 0 { printf "%.1f", m * 1.048576 / ($5 / 1e9) }')
		ctl 1 "sendc 3 $mib 64 1048576"
		prbdc=$(rig_exec 1 "cat $STATS" | awk -v m=$mib '$1 == "send" && $3 == 0 { printf "%.1f", m * 1.048576 / ($5 / 1e9) }')
		vm 3 "setsid socat -u -b 1048576 TCP-LISTEN:9500,reuseaddr OPEN:/dev/null </dev/null >/dev/null 2>&1 & sleep 0.5"
		raw=$(rig_exec 1 "t0=\$EPOCHREALTIME; socat -u -b 1048576 OPEN:/dev/zero,readbytes=$((mib << 20)) TCP:$(rig_ip 3):9500; \
			t1=\$EPOCHREALTIME; echo \$t0 \$t1" | awk -v m=$mib '{ printf "%.1f", m * 1.048576 / ($2 - $1) }')
		echo "run $k: prbd transport $prbd MB/s ($prbdc MB/s with the payload crc precomputed), raw TCP (socat) $raw MB/s; $mib x 1 MiB, vm1 -> vm3"
		[ -n "$prbd" ] && [ -n "$prbdc" ] || fail "the prbd stream failed"
	done
	vm 3 'echo 1 > /sys/module/prbd_trtest/parameters/verify'
}

# refused I: node 1 and 2 must not admit node I (loaded with bad parameters)
refused() {
	local i=$1 j ups
	shift
	declare -A before
	for j in 1 2; do before[$j]=$(st "$j" "$i" tr_ups); done
	unload "$i"
	load "$i" "$@"
	sleep 8
	for j in 1 2; do
		[ "$(st "$j" "$i" up)" = 0 ] || fail "vm$j admitted node $i"
		ups=$(st "$j" "$i" tr_ups)
		[ "$ups" = "${before[$j]}" ] || fail "vm$j: node $i came up ($ups handshakes)"
	done
	[ "$(st "$i" 1 tr_ups)" = 0 ] || fail "vm$i was admitted by node 1"
	echo "node 1 about node $i: rejects $(st 1 "$i" tr_rejects), handshakes ${before[1]} -> $(st 1 "$i" tr_ups)"
}

restore3() {
	unload 3
	load 3
	all_up
}

wrong_secret() {
	refused 3 secret=not-the-secret
	log_has 1 'node 3 at 10.77.0.3:7790: refused: authentication failed'
	log_has 3 'refused the connection: authentication failed'
	restore3
}

wrong_uuid() {
	refused 3 uuid=00000000-1111-2222-3333-444444444444
	log_has 3 'refused: cluster UUID mismatch'
	log_has 1 'refused the connection: cluster UUID differs'
	restore3
}

duplicate_id() {
	local downs
	downs=$(st 2 1 downs)
	unload 3
	vm 3 "insmod /root/prbd_trtest.ko node_id=1 listen=$(rig_ip 3):$PORT \
		peers=2@$(rig_ip 2):$PORT secret=$SECRET timeout_ms=3000 backoff_max_ms=2000"
	sleep 8
	[ "$(st 3 2 tr_ups)" = 0 ] || fail "vm3 posing as node 1 was admitted"
	[ "$(st 2 1 up)" = 1 ] && [ "$(st 2 1 downs)" = "$downs" ] ||
		fail "the real node 1 lost its connection to node 2"
	log_has 2 '10.77.0.3:[0-9]+: refused: duplicate node id: node 1 is configured at 10.77.0.1'
	log_has 3 'refused the connection: duplicate node id'
	restore3
}

cut_and_heal() {
	local d12 d21 t0
	d12=$(st 1 2 downs)
	d21=$(st 2 1 downs)
	rig_cut 1 2
	t0=$SECONDS
	wait_state 1 2 0 20
	wait_state 2 1 0 20
	echo "both sides saw the cut within $((SECONDS - t0)) s"
	[ "$(st 1 3 up)" = 1 ] && [ "$(st 2 3 up)" = 1 ] || fail "other links went down"
	sleep 3
	rig_heal 1 2
	t0=$SECONDS
	wait_state 1 2 1 30
	wait_state 2 1 1 30
	echo "reconnected $((SECONDS - t0)) s after heal; connects: $(st 1 2 tr_connects)"
	[ "$(st 1 2 downs)" = $((d12 + 1)) ] && [ "$(st 2 1 downs)" = $((d21 + 1)) ] ||
		fail "expected exactly one down per side"
	ctl 1 reset
	ctl 2 reset
	ctl 1 'send 2 100 32 8192'
	wait_rx 2 1 100
	expect_rx 2 1 100 $((100 * 8192))
	log_has 1 'no traffic for 3000 ms|connection failed'
}

garbage() {
	local k
	vm 3 "head -c 4096 /dev/urandom | socat -u - TCP:$(rig_ip 2):$PORT; true"
	vm 3 "printf 'GET / HTTP/1.0\r\n\r\n' | socat -u - TCP:$(rig_ip 2):$PORT; true"
	for k in version oversize hdrcrc early; do
		ctl 1 "evil $(rig_ip 2):$PORT $k"
		rig_exec 1 "cat $STATS" | grep "^evil $k:closed" ||
			fail "vm2 kept a connection open after a '$k' frame"
	done
	sleep 1
	log_has 2 'dropped: bad magic'
	log_has 2 'dropped: unsupported frame version 9'
	log_has 2 'dropped: oversized frame'
	log_has 2 'dropped: header crc mismatch'
	log_has 2 'dropped: message type 65 before the handshake'
	echo "vm2 $(rig_exec 2 "grep unauth $STATS")"
	[ "$(st 2 1 up)" = 1 ] && [ "$(st 2 3 up)" = 1 ] || fail "vm2 lost its peers"
	ctl 2 reset
	ctl 1 'send 2 10 16 4096'
	wait_rx 2 1 10
	expect_rx 2 1 10 40960
	rig_dmesg_check 2 || fail "vm2: kernel warnings"
}

# A peer that restarts without closing its sockets (power loss) connects
# again; the acceptor replaces the stale connection at once instead of
# waiting for its timeout (vm2 is made slow to notice: no pings, 60 s).
restart_replaces() {
	local ups downs
	unload 2
	load 2 ping_ms=30000 timeout_ms=60000
	all_up
	ups=$(st 2 1 ups)
	downs=$(st 2 1 downs)
	rig_crash 1
	sleep 1
	[ "$(st 2 1 up)" = 1 ] || fail "vm2 noticed the crash already"
	rig_restart 1 || fail "vm1 did not come back"
	rig_put 1 "$HERE/prbd_trtest.ko" /root/prbd_trtest.ko
	vm 1 'modprobe libcrc32c'
	load 1
	wait_state 1 2 1 30
	wait_state 2 1 1 30
	log_has 2 'node 1 at 10.77.0.1:[0-9]+: replaces the previous connection'
	[ "$(st 2 1 downs)" = $((downs + 1)) ] && [ "$(st 2 1 ups)" = $((ups + 1)) ] ||
		fail "vm2 did not report node 1 down, then up"
	ctl 2 reset
	ctl 1 'send 2 20 16 65536'
	wait_rx 2 1 20
	expect_rx 2 1 20 $((20 * 65536))
	unload 2
	load 2
	all_up
}

# prbd_tr_del_peer() while a stream to that peer is in flight, then add it
# back; also TCP loss and delay under a stream (netem on vm1).
del_add_peer() {
	local out
	rig_exec_bg 1 "echo 'send 3 200 16 1048576' > $CTL" >/dev/null
	sleep 2
	ctl 1 'del 3'
	out=$(rig_exec 1 "cat $STATS")
	! grep -q '^node 3 ' <<<"$out" || fail "peer 3 still listed"
	wait_state 3 1 0 20
	echo "vm1 deleted peer 3 mid-stream; vm3 saw node 1 go"
	ctl 1 "add 3 $(rig_ip 3):$PORT"
	wait_state 1 3 1 30
	wait_state 3 1 1 30
	ctl 3 reset
	rig_netem 1 delay 1ms loss 1% >/dev/null
	ctl 1 'send 3 16 16 1048576'
	rig_netem 1 off >/dev/null
	wait_rx 3 1 16
	expect_rx 3 1 16 $((16 << 20))
	rig_dmesg_check 1 || fail "vm1: kernel warnings"
}

corrupt_payload() {
	local downs
	ctl 2 reset
	downs=$(st 2 1 downs)
	ctl 1 'corrupt 2'
	wait_field 2 1 downs $((downs + 1)) 10
	wait_state 1 2 1 30
	wait_state 2 1 1 30
	log_has 2 'node 1 at 10.77.0.1:[0-9]+: dropped: payload crc mismatch'
	[ "$(st 2 1 rx_msgs)" = 0 ] || fail "vm2 delivered the corrupted message"
	ctl 1 'send 2 10 16 4096'
	wait_rx 2 1 10
	expect_rx 2 1 10 40960
}

unload_streaming() {
	local i
	declare -A stops
	for i in $(seq 1 $N); do
		stops[$i]=$(rig_exec "$i" dmesg | grep -c 'trtest: transport stopped' || true)
	done
	rig_exec_bg 1 "echo 'send 3 400 16 1048576' > $CTL" >/dev/null
	rig_exec_bg 2 "echo 'send 3 400 16 1048576' > $CTL" >/dev/null
	sleep 3
	unload 3
	echo "vm3 unloaded while receiving two 1 MiB streams"
	sleep 1
	unload 1
	unload 2
	for i in $(seq 1 $N); do
		[ "$(rig_exec "$i" dmesg | grep -c 'trtest: transport stopped' || true)" = $((stops[$i] + 1)) ] ||
			fail "vm$i: the transport did not stop"
		rig_dmesg_check "$i" || fail "vm$i: kernel warnings"
		! rig_exec "$i" 'grep -q prbd_trtest /proc/modules' || fail "vm$i: still loaded"
	done
}

ktap_run "3 nodes connect and authenticate" connect_all
ktap_run "1800 messages without payload arrive intact" small_messages
ktap_run "messages with 4-64 KiB payloads, multi-page bio_vecs, arrive intact" payload_messages
ktap_run "1 MiB payloads arrive intact" large_messages
ktap_run "throughput of 1 MiB messages next to raw TCP" throughput
ktap_run "a peer with a wrong secret is refused and logged" wrong_secret
ktap_run "a peer of another cluster is refused and logged" wrong_uuid
ktap_run "a duplicate node id is refused and logged" duplicate_id
ktap_run "a cut link drops the peer, healing reconnects" cut_and_heal
ktap_run "garbage and malformed frames are rejected harmlessly" garbage
ktap_run "a peer deleted mid-stream and added back reconnects" del_add_peer
ktap_run "a corrupted payload drops the connection, not delivered" corrupt_payload
ktap_run "a restarted peer replaces its stale connection" restart_replaces
ktap_run "unloading while streaming leaves a clean kernel log" unload_streaming
rig_stop
ktap_finish
