#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rig itself and the skeleton module: three guests boot, load and unload
# prbd.ko cleanly, reach each other; cuts (both ways and one way) really drop
# traffic and heal; a crashed guest keeps what it had synced to its disk.
. "$(dirname "$0")/../lib.sh"
need_rig

N=3
ktap_plan 7
t0=$SECONDS
rig_start $N || ktap_bail "rig did not boot"
ktap_diag "3 VMs booted in $((SECONDS - t0)) s"

load_unload() {
	local i
	for i in $(seq 1 $N); do
		vm "$i" 'modprobe prbd && grep -q "^prbd " /proc/modules'
		vm "$i" 'test -d /sys/module/prbd && test -f /sys/kernel/btf/prbd'
		vm "$i" 'rmmod prbd && ! grep -q "^prbd " /proc/modules'
		vm "$i" 'dmesg | grep -q "prbd: unloaded"'
		rig_dmesg_check "$i" || fail "vm$i: kernel warnings"
	done
}

# ping_ok A B: can A reach B on the data network?
ping_ok() { rig_exec "$1" "ping -c 1 -W 2 $(rig_ip "$2")" >/dev/null; }

all_pairs_reach() {
	local a b
	for a in $(seq 1 $N); do
		for b in $(seq 1 $N); do
			[ "$a" = "$b" ] && continue
			ping_ok "$a" "$b" || fail "vm$a cannot reach vm$b"
		done
	done
}

cut_both_ways() {
	ping_ok 1 2 || fail "1->2 before the cut"
	rig_cut 1 2
	! ping_ok 1 2 || fail "1->2 still answers after the cut"
	! ping_ok 2 1 || fail "2->1 still answers after the cut"
	ping_ok 1 3 || fail "1->3 was cut too"
	ping_ok 2 3 || fail "2->3 was cut too"
	rig_heal 1 2
	ping_ok 1 2 || fail "1->2 after heal"
	ping_ok 2 1 || fail "2->1 after heal"
}

# udp_delivered FROM TO: does one UDP datagram from FROM arrive at TO?
udp_delivered() {
	local tag=probe$RANDOM port=$((9100 + RANDOM % 800))
	rig_exec "$2" "setsid timeout 5 socat -u UDP-RECV:$port OPEN:/tmp/udp.$port,creat,append \
		</dev/null >/dev/null 2>&1 & sleep 0.3" >/dev/null
	rig_exec "$1" "echo $tag | socat -u - UDP-SENDTO:$(rig_ip "$2"):$port" >/dev/null
	sleep 0.5
	rig_exec "$2" "grep -qs $tag /tmp/udp.$port"
}

cut_one_way() {
	udp_delivered 1 2 || fail "1->2 UDP before the cut"
	rig_cut 1 2 oneway
	! udp_delivered 1 2 || fail "1->2 UDP arrived through a one-way cut"
	udp_delivered 2 1 || fail "2->1 UDP lost: the cut was not one-way"
	rig_heal 1 2
	udp_delivered 1 2 || fail "1->2 UDP after heal"
}

isolate_and_rejoin() {
	rig_isolate 3
	! ping_ok 3 1 || fail "isolated vm3 reaches vm1"
	! ping_ok 2 3 || fail "vm2 reaches isolated vm3"
	ping_ok 1 2 || fail "vm1-vm2 cut by isolating vm3"
	rig_rejoin 3
	all_pairs_reach
}

netem_delay() {
	local rtt
	rig_netem 2 delay 40ms
	rtt=$(rig_exec 1 "ping -c 3 -W 3 $(rig_ip 2)" | sed -n 's/.*min\/avg\/max = [0-9.]*\/\([0-9]*\).*/\1/p')
	echo "avg rtt with 40 ms netem: ${rtt:-none} ms"
	[ -n "$rtt" ] && [ "$rtt" -ge 40 ] || fail "netem delay not applied"
	rig_netem 2 off
}

crash_keeps_synced_data() {
	local sum after
	sum=$(rig_exec 2 'dd if=/dev/urandom of=/tmp/blob bs=64k count=64 2>/dev/null &&
		dd if=/tmp/blob of=/dev/vda bs=64k seek=16 conv=fsync 2>/dev/null && sync &&
		sha256sum /tmp/blob | cut -d" " -f1')
	[ ${#sum} -eq 64 ] || fail "could not write the disk: $sum"
	rig_restart 2 || fail "vm2 did not come back"
	after=$(rig_exec 2 'dd if=/dev/vda bs=64k skip=16 count=64 2>/dev/null | sha256sum | cut -d" " -f1')
	echo "before crash $sum, after restart $after"
	[ "$sum" = "$after" ] || fail "synced data lost across a crash"
}

ktap_run "prbd.ko loads and unloads cleanly in $N VMs" load_unload
ktap_run "every VM reaches every other VM" all_pairs_reach
ktap_run "a two-way cut drops traffic and healing restores it" cut_both_ways
ktap_run "a one-way cut drops one direction only" cut_one_way
ktap_run "an isolated VM is cut from all, and rejoins" isolate_and_rejoin
ktap_run "netem delay applies on the data network" netem_delay
ktap_run "a crashed VM keeps the bytes it synced" crash_keeps_synced_data
rig_stop
ktap_finish
