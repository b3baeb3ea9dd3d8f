#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The prbd VM rig: N QEMU (TCG) guests booting Debian's own kernel, in a
# private network namespace with two bridges:
#   br-data  10.77.0.N  the network under test (cuts, netem, prbd traffic)
#   br-ctl   10.78.0.N  the control network of the rig agent; never faulted.
#                       The host end (inside the namespace) is 10.78.0.254.
# Each guest has one sparse raw disk (/dev/vda; discards punch holes, so a
# discarded range reads zeroes) that survives restarts and a
# 9p share (/mnt/share) with the host.
#
# As a library (tests):  . tools/vm/rig.sh; rig_start 3; rig_exec 1 'uname -r'
# As a command:          tools/vm/rig.sh shell            one VM on this console
#                        tools/vm/rig.sh start N          prints RIG_DIR=...
#                        RIG_DIR=... tools/vm/rig.sh exec 2 'dmesg | tail'
#                        RIG_DIR=... tools/vm/rig.sh stop
#
# Settings (environment): RIG_KVER (guest kernel version, default the newest
# installed 6.1: tools/kver.sh), RIG_MEM (MiB, 512), RIG_DISK_SIZE (1G),
# RIG_EXEC_TIMEOUT (s, 600), RIG_BOOT_TIMEOUT (s, 180), RIG_KEEP=1 keeps the
# state directory (console logs, disks) after stop.  RIG_LOGDISK=1 gives
# every guest a second sparse raw disk, /dev/vdb ($RIG_DIR/log$i.raw,
# RIG_LOGDISK_SIZE, 2G), e.g. for a dm-log-writes log (off by default).
# RIG_APPEND adds to the guests' kernel command line, e.g. "rig.etc=1
# rig.autostart=1": /etc/prbd.d kept across reboots in
# $RIG_DIR/share/etc-nodeN, and every resource there brought up at boot
# (tools/vm/guest-init.sh).

RIG_TOP=${RIG_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# the guest kernel: RIG_KVER=<version> boots another installed kernel (its
# build/vmlinux-<version> and initramfs, made by 'make KVER=<version> initramfs')
RIG_KVER=${RIG_KVER:-$("$RIG_TOP/tools/kver.sh" 6.1)}
RIG_KERNEL=${RIG_KERNEL:-$RIG_TOP/build/vmlinux-$RIG_KVER}
RIG_INITRD=${RIG_INITRD:-$RIG_TOP/build/vm/initramfs-$RIG_KVER.cpio.lz4}
RIG_MEM=${RIG_MEM:-512}
RIG_DISK_SIZE=${RIG_DISK_SIZE:-1G}
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-600}
RIG_BOOT_TIMEOUT=${RIG_BOOT_TIMEOUT:-180}
RIG_LOGDISK=${RIG_LOGDISK:-0}
RIG_LOGDISK_SIZE=${RIG_LOGDISK_SIZE:-2G}
RIG_AGENT_PORT=7000

rig_log() { echo "# rig: $*" >&2; }

rig_ns() { cat "$RIG_DIR/netns"; }

rig_nsexec() { ip netns exec "$(rig_ns)" "$@"; }

rig_ip() { echo "10.77.0.$1"; } # data address of node N

# rig_start N: create the namespace, bridges, taps and disks, boot N guests
# and wait until every agent answers.  Installs an EXIT/INT/TERM trap that
# tears everything down (rig_stop).
rig_start() {
	local n=${1:?rig_start N} i ns
	if [ ! -f "$RIG_KERNEL" ] || [ ! -f "$RIG_INITRD" ]; then
		rig_log "missing $RIG_KERNEL or $RIG_INITRD: run 'make initramfs'"
		return 1
	fi
	RIG_DIR=${RIG_DIR:-$(mktemp -d /tmp/prbd-rig.XXXXXX)}
	export RIG_DIR
	mkdir -p "$RIG_DIR/share"
	ns="prbd-$$-$(basename "$RIG_DIR" | tr -cd 'a-zA-Z0-9')"
	echo "$ns" > "$RIG_DIR/netns"
	echo "$n" > "$RIG_DIR/nodes"
	echo $$ > "$RIG_DIR/owner"
	trap 'rig_stop' EXIT
	trap 'rig_stop; exit 130' INT
	trap 'rig_stop; exit 143' TERM

	ip netns add "$ns" || return 1
	rig_nsexec ip link set lo up
	rig_nsexec ip link add br-data type bridge
	rig_nsexec ip link add br-ctl type bridge
	# no STP/learning delays: forward as soon as a port is up
	rig_nsexec ip link set br-data type bridge forward_delay 0 stp_state 0
	rig_nsexec ip link set br-ctl type bridge forward_delay 0 stp_state 0
	rig_nsexec ip addr add 10.78.0.254/24 dev br-ctl
	rig_nsexec ip link set br-data up
	rig_nsexec ip link set br-ctl up
	# partitions are drops in the data bridge's forward path
	rig_nsexec nft -f - <<-'EOF' || return 1
	table bridge prbd {
		chain cuts {
			type filter hook forward priority 0; policy accept;
		}
	}
	EOF
	for i in $(seq 1 "$n"); do
		rig_nsexec ip tuntap add "tap${i}d" mode tap
		rig_nsexec ip tuntap add "tap${i}c" mode tap
		rig_nsexec ip link set "tap${i}d" master br-data up
		rig_nsexec ip link set "tap${i}c" master br-ctl up
		truncate -s "$RIG_DISK_SIZE" "$RIG_DIR/disk$i.raw"
		[ "$RIG_LOGDISK" = 1 ] && truncate -s "$RIG_LOGDISK_SIZE" "$RIG_DIR/log$i.raw"
	done
	for i in $(seq 1 "$n"); do
		rig_boot "$i" || return 1
	done
	for i in $(seq 1 "$n"); do
		rig_wait "$i" || return 1
	done
}

# rig_boot I: start guest I (again) on its existing disk; does not wait.
# no_timer_check: under heavy host load a TCG guest can miss the timer
# interrupts the kernel's IO-APIC timer check counts, report "MP-BIOS bug:
# 8254 timer not connected" and hang; the check is pointless in a VM.
rig_boot() {
	local i=$1 hex logdisk=()
	hex=$(printf '%02x' "$i")
	# the optional second disk (/dev/vdb); created if missing
	if [ "$RIG_LOGDISK" = 1 ]; then
		[ -f "$RIG_DIR/log$i.raw" ] || truncate -s "$RIG_LOGDISK_SIZE" "$RIG_DIR/log$i.raw"
		logdisk=(-drive "file=$RIG_DIR/log$i.raw,if=none,id=d1,format=raw,cache=none,aio=native"
			-device "virtio-blk-pci,drive=d1,serial=prbd$i-log")
	fi
	rm -f "$RIG_DIR/vm$i.pid" "$RIG_DIR/vm$i.qmp"
	echo "=== boot $(date +%T)" >> "$RIG_DIR/vm$i.console"
	rig_nsexec qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m "$RIG_MEM" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$RIG_KERNEL" -initrd "$RIG_INITRD" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check rig.id=$i ${RIG_APPEND:-}" \
		-chardev "file,id=con,path=$RIG_DIR/vm$i.console,append=on" \
		-serial chardev:con \
		-drive "file=$RIG_DIR/disk$i.raw,if=none,id=d0,format=raw,cache=none,aio=native,discard=unmap" \
		-device virtio-blk-pci,drive=d0,serial=prbd$i \
		"${logdisk[@]}" \
		-netdev "tap,id=nd,ifname=tap${i}d,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=nd,mac=52:54:00:d0:00:$hex" \
		-netdev "tap,id=nc,ifname=tap${i}c,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=nc,mac=52:54:00:c0:00:$hex" \
		-virtfs "local,path=$RIG_DIR/share,mount_tag=share,security_model=none" \
		-qmp "unix:$RIG_DIR/vm$i.qmp,server=on,wait=off" \
		-pidfile "$RIG_DIR/vm$i.pid" -daemonize
}

# rig_wait I: wait until guest I's agent answers.
rig_wait() {
	local i=$1 t0=$SECONDS
	while [ $((SECONDS - t0)) -lt "$RIG_BOOT_TIMEOUT" ]; do
		if ! rig_alive "$i"; then
			rig_log "vm$i died while booting; console:"
			tail -n 30 "$RIG_DIR/vm$i.console" >&2
			return 1
		fi
		if [ "$(RIG_EXEC_TIMEOUT=10 rig_exec "$i" 'echo up' 2>/dev/null)" = up ]; then
			rig_log "vm$i up after $((SECONDS - t0)) s"
			return 0
		fi
		sleep 0.5
	done
	rig_log "vm$i did not answer within $RIG_BOOT_TIMEOUT s; console:"
	tail -n 30 "$RIG_DIR/vm$i.console" >&2
	return 1
}

rig_alive() { # rig_alive I: is guest I's qemu running?
	local pid
	pid=$(cat "$RIG_DIR/vm$1.pid" 2>/dev/null) || return 1
	kill -0 "$pid" 2>/dev/null
}

# rig_exec I CMD...: run CMD (a bash script) in guest I; prints its output
# (stdout and stderr merged) and returns its exit code; 255 if the agent
# connection broke, 124 on timeout (RIG_EXEC_TIMEOUT).
rig_exec() {
	local i=$1 out rc=0
	shift
	# "|| rc=$?": callers may run under set -e
	out=$(printf '%s\n' "$(printf '%s' "$*" | base64 -w0)" |
		timeout "$RIG_EXEC_TIMEOUT" ip netns exec "$(rig_ns)" \
			socat -t 86400 STDIO \
			"TCP:10.78.0.$i:$RIG_AGENT_PORT,connect-timeout=5,keepalive,keepidle=5,keepintvl=2,keepcnt=4" \
			2>/dev/null) || rc=$?
	if [[ $out == *$'\037rc='* ]]; then
		local body=${out%$'\n'$'\037'rc=*}
		printf '%s' "$body"
		[ -n "$body" ] && [ "${body: -1}" != $'\n' ] && echo
		return "${out##*$'\037'rc=}"
	fi
	[ -n "$out" ] && printf '%s\n' "$out"
	[ $rc -eq 124 ] && return 124
	return 255
}

# rig_exec_bg I CMD...: start CMD in guest I in the background (output to
# /tmp/bg.log in the guest); returns at once.
rig_exec_bg() {
	local i=$1
	shift
	rig_exec "$i" "setsid bash -c $(printf '%q' "$*") </dev/null >>/tmp/bg.log 2>&1 & echo \$!"
}

# rig_put I SRC DST: copy a host file into guest I (through the 9p share).
rig_put() {
	local name
	name=put.$$.$RANDOM
	cp "$2" "$RIG_DIR/share/$name" && rig_exec "$1" "cp /mnt/share/$name $3" >/dev/null
	local rc=$?
	rm -f "$RIG_DIR/share/$name"
	return $rc
}

# --- faults ------------------------------------------------------------

# rig_crash I: kill -9 guest I's qemu (power loss: the guest's page cache is
# lost; what it had synced to disk stays).
rig_crash() {
	local pid
	pid=$(cat "$RIG_DIR/vm$1.pid" 2>/dev/null) || return 0
	kill -9 "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	rm -f "$RIG_DIR/vm$1.pid"
	echo "=== crashed $(date +%T)" >> "$RIG_DIR/vm$1.console"
}

# rig_restart I: crash (if running) and boot guest I on the same disk, wait.
rig_restart() {
	rig_crash "$1"
	rig_boot "$1" && rig_wait "$1"
}

rig_qmp() { # rig_qmp I COMMAND: one QMP command (stop, cont, ...)
	printf '{"execute":"qmp_capabilities"}\n{"execute":"%s"}\n' "$2" |
		socat -t 2 - "UNIX-CONNECT:$RIG_DIR/vm$1.qmp" >/dev/null
}
rig_pause() { rig_qmp "$1" stop; }
rig_resume() { rig_qmp "$1" cont; }

# rig_cut A B [oneway]: drop IP packets A->B (and B->A unless oneway) in the
# data bridge, silently, as a real partition does.  ARP passes, so a one-way
# cut stays one-way.  The control network is untouched.
rig_cut() {
	local a=$1 b=$2
	rig_nsexec nft add rule bridge prbd cuts iifname "tap${a}d" oifname "tap${b}d" ether type '{ ip, ip6 }' drop comment "\"cut-$a-$b\""
	[ "${3:-}" = oneway ] && return 0
	rig_nsexec nft add rule bridge prbd cuts iifname "tap${b}d" oifname "tap${a}d" ether type '{ ip, ip6 }' drop comment "\"cut-$b-$a\""
}

# rig_heal A B: remove the cuts between A and B (both directions).
rig_heal() {
	local a=$1 b=$2 h
	for h in $(rig_nsexec nft -a list chain bridge prbd cuts |
		sed -n "s/.*comment \"cut-\($a-$b\|$b-$a\)\".*# handle \([0-9]*\).*/\2/p"); do
		rig_nsexec nft delete rule bridge prbd cuts handle "$h"
	done
}

rig_heal_all() { rig_nsexec nft flush chain bridge prbd cuts; }

# rig_isolate I: cut guest I from every other guest (both ways).
rig_isolate() {
	local j
	for j in $(seq 1 "$(cat "$RIG_DIR/nodes")"); do
		[ "$j" = "$1" ] || rig_cut "$1" "$j"
	done
}

rig_rejoin() {
	local j
	for j in $(seq 1 "$(cat "$RIG_DIR/nodes")"); do
		[ "$j" = "$1" ] || rig_heal "$1" "$j"
	done
}

# rig_netem I ARGS...: netem on guest I's data interface ("delay 5ms loss 1%");
# rig_netem I off removes it.
rig_netem() {
	local i=$1
	shift
	if [ "$1" = off ]; then
		rig_exec "$i" 'tc qdisc del dev data0 root 2>/dev/null; true'
	else
		rig_exec "$i" "modprobe sch_netem && tc qdisc replace dev data0 root netem $*"
	fi
}

# rig_dmesg_check I: fail if guest I's kernel log shows a WARN/BUG/oops
# ("BUG cache (...): ..." is a slub_debug report), a hung task, lockdep
# (the kernel command line, which may set hung_task_*, is not looked at).
rig_dmesg_check() {
	local bad
	bad=$(rig_exec "$1" 'dmesg' | grep -av 'ommand line:' | grep -aE 'WARNING:|BUG:|\] BUG |Oops|general protection|Call Trace|KASAN|UBSAN|kernel BUG|RIP:|hung_task|blocked for more than|lockdep|circular locking' || true)
	if [ -n "$bad" ]; then
		echo "$bad" | head -n 20 >&2
		return 1
	fi
}

# rig_stop: kill every guest, remove the namespace and (unless RIG_KEEP=1)
# the state directory.  Safe to call twice.
rig_stop() {
	local i ns
	[ -n "${RIG_DIR:-}" ] && [ -d "$RIG_DIR" ] || return 0
	for i in $(seq 1 "$(cat "$RIG_DIR/nodes" 2>/dev/null || echo 0)"); do
		rig_crash "$i"
	done
	ns=$(cat "$RIG_DIR/netns" 2>/dev/null)
	if [ -n "$ns" ]; then
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	fi
	if [ "${RIG_KEEP:-0}" = 1 ]; then
		rig_log "state kept in $RIG_DIR"
	else
		rm -rf "$RIG_DIR"
	fi
	RIG_DIR=
	trap - EXIT INT TERM
}

# rig_reap: remove rigs whose owner process is gone (a test killed with
# SIGKILL cannot run its trap).
rig_reap() {
	local d owner ns
	for d in /tmp/prbd-rig.*; do
		[ -d "$d" ] || continue
		owner=$(cat "$d/owner" 2>/dev/null)
		[ "$owner" = cli ] && continue
		[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
		ns=$(cat "$d/netns" 2>/dev/null)
		for f in "$d"/vm*.pid; do
			[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
		done
		if [ -n "$ns" ]; then
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		fi
		rm -rf "$d"
	done
}

# --- command-line use ----------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	cmd=${1:-help}
	shift || true
	case $cmd in
	shell) # one guest with its console on this terminal; Ctrl-a x quits
		RIG_DIR=$(mktemp -d /tmp/prbd-rig.XXXXXX)
		truncate -s "$RIG_DISK_SIZE" "$RIG_DIR/disk1.raw"
		exec qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m "$RIG_MEM" \
			-nodefaults -no-user-config -display none -no-reboot -serial mon:stdio \
			-kernel "$RIG_KERNEL" -initrd "$RIG_INITRD" \
			-append "console=ttyS0 panic=-1 rig.id=1 rig.shell=1" \
			-drive "file=$RIG_DIR/disk1.raw,if=none,id=d0,format=raw,cache=none,aio=native,discard=unmap" \
			-device virtio-blk-pci,drive=d0 \
			-netdev user,id=nd,restrict=on -device virtio-net-pci,netdev=nd,mac=52:54:00:d0:00:01 \
			-netdev user,id=nc,restrict=on -device virtio-net-pci,netdev=nc,mac=52:54:00:c0:00:01
		;;
	start)
		rig_start "${1:-3}" || exit 1
		trap - EXIT INT TERM
		echo "$$" > "$RIG_DIR/owner.cli"
		echo cli > "$RIG_DIR/owner" # kept until "stop"
		echo "RIG_DIR=$RIG_DIR"
		;;
	exec) rig_exec "$@" ;;
	crash | restart | pause | resume | cut | heal | heal_all | isolate | rejoin | netem | dmesg_check)
		"rig_$cmd" "$@"
		;;
	stop) rig_stop ;;
	reap) rig_reap ;;
	*)
		sed -n '3,22p' "$0"
		exit 1
		;;
	esac
fi
