#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the prbd rig guests.  Kernel command line:
#   rig.id=N      node number (1..5): data address 10.77.0.N, control 10.78.0.N
#   rig.shell=1   interactive shell on the console (make vm-shell)
#   rig.etc=1     /etc/prbd.d is the host directory $RIG_DIR/share/etc-nodeN
#		  (through the 9p share): the configuration survives a reboot
#		  or a power cut, as on a real machine
#   rig.autostart=1  at boot, modprobe prbd and `prbdctl up` every resource
#		  of /etc/prbd.d (what prbd@RES.service does on a real machine);
#		  the output is in /tmp/autostart.log
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
$bb mkdir -p /dev/pts /dev/shm
$bb mount -t devpts devpts /dev/pts
$bb mount -t tmpfs tmpfs /run
$bb mount -t debugfs debugfs /sys/kernel/debug
$bb mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
$bb mount -t bpf bpf /sys/fs/bpf

id=1
shell=0
etc=0
autostart=0
for arg in $($bb cat /proc/cmdline); do
	case $arg in
	rig.id=*) id=${arg#rig.id=} ;;
	rig.shell=*) shell=${arg#rig.shell=} ;;
	rig.etc=*) etc=${arg#rig.etc=} ;;
	rig.autostart=*) autostart=${arg#rig.autostart=} ;;
	esac
done
$bb hostname "node$id"

for m in virtio_pci virtio_net virtio_blk 9pnet_virtio 9p; do
	modprobe "$m" || echo "init: modprobe $m failed"
done

# Interfaces are found by MAC: 52:54:00:d0:.. data, 52:54:00:c0:.. control.
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ -d /sys/class/net/eth1 ] && break
	$bb sleep 0.2
done
for dev in /sys/class/net/eth*; do
	[ -e "$dev" ] || continue
	mac=$($bb cat "$dev/address")
	name=${dev##*/}
	case $mac in
	52:54:00:d0:*) ip link set "$name" name data0 ;;
	52:54:00:c0:*) ip link set "$name" name ctl0 ;;
	esac
done
ip link set lo up
ip addr add "10.77.0.$id/24" dev data0
ip link set data0 up
ip addr add "10.78.0.$id/24" dev ctl0
ip link set ctl0 up
$bb mount -t 9p -o trans=virtio,version=9p2000.L,cache=none share /mnt/share 2>/dev/null ||
	echo "init: no 9p share"
if [ "$etc" = 1 ]; then
	$bb mkdir -p "/mnt/share/etc-node$id" /etc/prbd.d
	$bb mount --bind "/mnt/share/etc-node$id" /etc/prbd.d ||
		echo "init: /etc/prbd.d not kept across reboots"
fi

echo "prbd-guest node$id ready" > /dev/kmsg
# The agent: one connection a command (see tools/vm/rig.sh rig_exec).
$bb setsid socat TCP-LISTEN:7000,reuseaddr,fork,keepalive EXEC:/usr/sbin/prbd-agent-run,nofork \
	</dev/null >/dev/null 2>&1 &

if [ "$autostart" = 1 ]; then
	for f in /etc/prbd.d/*.res; do
		[ -e "$f" ] || continue
		r=${f##*/}
		r=${r%.res}
		if { modprobe prbd && prbdctl up "$r"; } >> /tmp/autostart.log 2>&1; then
			echo "prbd-guest: $r up at boot" > /dev/kmsg
		else
			echo "prbd-guest: up $r at boot failed (/tmp/autostart.log)" > /dev/kmsg
		fi
	done
fi

if [ "$shell" = 1 ]; then
	while :; do $bb setsid $bb cttyhack /bin/bash -l; done
fi
while :; do $bb sleep 3600; done
