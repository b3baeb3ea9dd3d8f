#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# durability = flush on a one-node group (the request-path half of issue
# 13): up with it is refused, changing nothing, unless prbd is loaded with
# experimental_flush=1; an invalid value is refused by prbdctl; with the
# parameter, status says "durability flush", N plain O_DIRECT 4k writes
# cost the backing disk far fewer than N cache flushes (strict: about one
# each, the FUA of its log record), while an fsync on ext4 still reaches
# the disk as a cache flush (a barrier), files survive down/up and the
# clean down leaves the clean-shutdown mark (repl/flush_mode: 3 nodes).
# The flush count is field 16 of /sys/block/vda/stat (flush requests
# completed); checkpoints, which flush too, are held off with
# checkpoint_ms = 600000 while counting.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}

FM_WRITES=${FM_WRITES:-400}

ktap_plan 8
rig_start 1 || ktap_bail "rig did not boot"

# fm_res VALUE: the one-node resource file with "durability = VALUE"
fm_res() {
	repl_res 1 none 6f1c2a34-9d55-4e1b-8a77-0c2f3d4e5f60 \
		"node-id = 1
durability = $1"
}

# vda_flushes: flush requests the backing disk completed so far
vda_flushes() {
	rig_exec 1 'cat /sys/block/vda/stat' | awk '{ print $16 }'
}

# fm_count_writes: flushes of vda during FM_WRITES O_DIRECT 4k writes
fm_count_writes() {
	local a b
	vm 1 'echo 600000 > /sys/module/prbd/parameters/checkpoint_ms' >/dev/null
	vm 1 'dd if=/dev/urandom of=/dev/prbd0 bs=4k count=16 oflag=direct 2>/dev/null' >/dev/null
	sleep 2
	a=$(vda_flushes)
	vm 1 "dd if=/dev/urandom of=/dev/prbd0 bs=4k count=$FM_WRITES seek=4096 oflag=direct 2>/dev/null" >/dev/null
	b=$(vda_flushes)
	vm 1 'echo 1000 > /sys/module/prbd/parameters/checkpoint_ms' >/dev/null
	echo $((b - a))
}

refused_without_param() {
	local out
	vm 1 "$(res_install_cmd "$(fm_res flush)")"
	vm 1 'prbdctl create-md r0 && modprobe prbd'
	vm 1 'grep -q N /sys/module/prbd/parameters/experimental_flush'
	out=$(rig_exec 1 'prbdctl up r0 2>&1') && fail "up with durability flush succeeded: $out"
	echo "$out"
	[[ $out == *experimental_flush=1* ]] || fail "no message naming experimental_flush=1"
	[[ $out == *"issue 13"* ]] || fail "the message does not say it is unfinished"
	vm 1 '! test -b /dev/prbd0'
	out=$(rig_exec 1 'prbdctl status 2>&1') || true
	echo "status: $out"
	[[ $out != *r0* ]] || fail "the refused up left a resource behind"
}

invalid_value() {
	local out
	vm 1 "$(res_install_cmd "$(fm_res lazy)")"
	out=$(rig_exec 1 'prbdctl up r0 2>&1') && fail "up with durability lazy succeeded"
	echo "$out"
	[[ $out == *"invalid durability 'lazy'"* ]] || fail "no message for the bad value"
	vm 1 '! test -b /dev/prbd0'
	[[ $(rig_exec 1 'prbdctl status 2>&1') != *r0* ]] || fail "a resource was left"
}

strict_counts_flushes() {
	local n
	vm 1 "$(res_install_cmd "$(fm_res strict)")"
	single_up
	vm 1 'prbdctl status | grep -q "durability strict"'
	n=$(fm_count_writes)
	echo "strict: $n flushes of vda for $FM_WRITES O_DIRECT 4k writes"
	[ "$n" -ge $((FM_WRITES / 2)) ] ||
		fail "strict mode: only $n flushes for $FM_WRITES writes (log records should be FUA)"
	vm 1 'prbdctl secondary r0 && prbdctl down r0 && rmmod prbd'
}

flush_up() {
	vm 1 "$(res_install_cmd "$(fm_res flush)")"
	vm 1 'modprobe prbd experimental_flush=1'
	single_up
	vm 1 'prbdctl status | grep "durability flush"'
	vm 1 'prbdctl --json status | grep -q "\"durability\":\"flush\""'
	vm 1 'dmesg | grep -q "durability flush (experimental)"'
}

flush_no_fua() {
	local n
	n=$(fm_count_writes)
	echo "flush: $n flushes of vda for $FM_WRITES O_DIRECT 4k writes"
	[ "$n" -le $((FM_WRITES / 10)) ] ||
		fail "flush mode: $n flushes for $FM_WRITES writes (log records still FUA?)"
}

fsync_flushes() {
	local a b
	vm 1 'mkfs.ext4 -q -F /dev/prbd0 && mkdir -p /mnt/p && mount -t ext4 /dev/prbd0 /mnt/p'
	vm 1 'echo 600000 > /sys/module/prbd/parameters/checkpoint_ms' >/dev/null
	vm 1 'dd if=/dev/urandom of=/mnt/p/warm bs=4k count=4 conv=fsync 2>/dev/null' >/dev/null
	sleep 2
	a=$(vda_flushes)
	vm 1 'dd if=/dev/urandom of=/mnt/p/synced bs=4k count=16 conv=fsync 2>/dev/null' >/dev/null
	b=$(vda_flushes)
	echo "an fsync of 64 KiB: $((b - a)) flushes of vda"
	[ $((b - a)) -ge 1 ] || fail "fsync completed without a cache flush of the backing disk"
	a=$(vda_flushes)
	vm 1 'sync' >/dev/null
	b=$(vda_flushes)
	echo "sync: $((b - a)) flushes of vda"
	vm 1 'echo 1000 > /sys/module/prbd/parameters/checkpoint_ms' >/dev/null
	vm 1 'umount /mnt/p'
}

fs_down_up() {
	single_fs_down_up 12 29
	vm 1 'umount /mnt/p && e2fsck -fn /dev/prbd0 >/dev/null'
	vm 1 'prbdctl secondary r0 && prbdctl down r0 && rmmod prbd'
}

clean_mark() {
	local out
	# prbd wrote the metadata with bios: drop what the page cache holds
	out=$(rig_exec 1 'blockdev --flushbufs /dev/vda; prbdctl show-md /dev/vda' 2>&1) ||
		fail "show-md failed: $out"
	echo "$out" | grep '^shutdown:'
	echo "$out" | grep -q '^shutdown: clean' || fail "no clean-shutdown mark after a clean down"
	rig_dmesg_check 1
}

ktap_run "up with durability flush refused without experimental_flush=1, nothing left" refused_without_param
ktap_run "invalid durability value refused by prbdctl, nothing left" invalid_value
ktap_run "strict: about one flush of the backing disk per O_DIRECT write" strict_counts_flushes
ktap_run "experimental_flush=1: up with durability flush, status shows it" flush_up
ktap_run "flush: O_DIRECT writes without FUA (few flushes of the backing disk)" flush_no_fua
ktap_run "flush: an fsync on ext4 reaches the backing disk as a flush" fsync_flushes
ktap_run "flush: ext4 files survive down/up" fs_down_up
ktap_run "flush: a clean down leaves the clean-shutdown mark; no kernel warnings" clean_mark
rig_stop
ktap_finish
