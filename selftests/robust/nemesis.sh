#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A seeded, randomized nemesis (issue 14): N guests (3; NEMESIS_NODES=5),
# a checked writer (prbd-blkcheck, QD 4) on whichever node is primary, and
# in each round one fault, in turn, with node, timing and duration drawn
# from NEMESIS_SEED, while it writes:
#
#   crash-follower  kill -9 of a follower's QEMU; it reboots and comes up
#   crash-primary   kill -9 of the primary (the leader); another node is
#		    made primary; the old one reboots and comes back
#   crash-isolated  the primary cut from every other node for a while,
#		    then killed (what it completed alone would be lost)
#   pause	    QMP stop of any node for 2-4 s (4-8 election timeouts)
#   isolate	    any node cut from every other (both ways), then healed
#   cut-oneway	    packets from one node to another dropped, then healed
#   netem	    delay 10 ms +- 5 ms and 2% loss on any node's link
#   powercut	    every node killed at once; each boots, brings r0 up by
#		    itself from its kept /etc/prbd.d (rig.etc, rig.autostart:
#		    what prbd@RES.service does), the group elects a leader,
#		    and a node is made primary
#   partition	    (5 nodes) two nodes cut from the other three
#
# After the fault is healed: the writer is stopped (or died with its
# node); the primary is still the primary with quorum, or another node is
# promoted; every write the writer had completed (its "ok" lines, which
# the guest agent streams to the host, so they survive a killed guest)
# reads back intact there (prbd-blkcheck check: never older data, never a
# torn or foreign block); new writes complete within 60 s; every replica
# holds the same bytes within 60 s.  At the end: no WARN/BUG/oops/hung task/lockdep
# report in the kernel log of any boot of any guest (the consoles, with
# loglevel 5, and dmesg of the live ones), and the modules unload.
#
# NEMESIS_ROUNDS (8: each kind once on 3 nodes), NEMESIS_NODES (3),
# NEMESIS_SEED (random, printed: a failing schedule is replayed with it;
# the timing of the guests is not deterministic).  `make torture` runs
# 40 rounds on 5 nodes.
. "$(dirname "$0")/../lib.sh"
need_rig
RIG_EXEC_TIMEOUT=${RIG_EXEC_TIMEOUT:-180}
ROUNDS=${NEMESIS_ROUNDS:-8}
N=${NEMESIS_NODES:-3}
SEED=${NEMESIS_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
RANDOM=$SEED
BLOCKS=1024		# checked region (4 MiB); writes-resume probe after it
QD=4
# a node away for a round catches up from the others' log history
REPL_MD_OPTS="--log-size 128M"
# WARNING lines reach the console (the rig's default loglevel is 4); the
# guests keep /etc/prbd.d across reboots and bring r0 up at boot
RIG_APPEND="${RIG_APPEND:-} loglevel=5 rig.etc=1 rig.autostart=1 sysctl.kernel.hung_task_timeout_secs=30"
WARN_RE='WARNING:|BUG:|\] BUG |Oops|general protection|kernel BUG|RIP:|hung_task|blocked for more than|lockdep|circular locking|KASAN|UBSAN'

ktap_plan $((ROUNDS + 3))
echo "# seed $SEED rounds $ROUNDS nodes $N"
rig_start "$N" || ktap_bail "rig did not boot"

P=1			# the primary
# Each round runs in a subshell (ktap_run) and reseeds RANDOM from the
# seed and its number (round()); RANDOM is read only here, never in
# $(...), so a schedule depends on nothing but the seed.
R=0
rnd() { R=$((RANDOM % $1)); }	# rnd K: R = 0..K-1
O=0
other() {			# other I: O = a random node other than I
	rnd $((N - 1))
	O=$(( ($1 + R) % N + 1 ))
}

setup() {
	repl_up "$N"
	vm "$P" "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$((BLOCKS / 256 + 1)) oflag=direct 2>/dev/null"
	repl_same $((BLOCKS + 256)) $(seq 1 "$N")
}

# wait_up I: node I brought r0 up at boot (rig.autostart) within 60 s
wait_up() {
	local t
	for t in $(seq 1 60); do
		[ -n "$(repl_field "$1" role)" ] && return 0
		sleep 1
	done
	rig_exec "$1" 'cat /tmp/autostart.log' || true
	fail "node $1 did not bring r0 up at boot"
}

# comeback I: boot a crashed guest I on its disk; it brings r0 up
# (secondary) by itself
comeback() {
	rig_boot "$1" && rig_wait "$1" || fail "node $1 did not reboot"
	wait_up "$1"
}

# stop_writer I: end the writer on node I (it may be waiting for quorum:
# the healed group must let it finish within 60 s)
stop_writer() {
	rig_alive "$1" || return 0
	quick "$1" 70 'for t in $(seq 1 60); do
		p=$(pidof prbd-blkcheck) || exit 0
		kill $p 2>/dev/null; sleep 1
	done; echo "writer still running: $(cat /proc/$p/stack 2>/dev/null | head -n 5)"; exit 1' ||
		fail "node $1: the writer did not stop within 60 s of the heal"
}

# primary_ok I: node I is primary with quorum within 30 s
primary_ok() {
	local t
	for t in $(seq 1 30); do
		[ "$(repl_field "$1" role)" = primary ] &&
			[ "$(repl_field "$1" quorum)" = true ] && return 0
		sleep 1
	done
	return 1
}

# fault KIND: inject it while the writer runs; heal it before returning
fault() {
	local x y d j
	rnd 4; d=$((2 + R))
	rnd "$N"; x=$((R + 1))
	case $1 in
	crash-follower)
		other "$P"; x=$O
		echo "crash node $x (follower), back after ${d} s"
		rig_crash "$x"; sleep "$d"; comeback "$x" ;;
	crash-primary)
		echo "crash node $P (primary)"
		rig_crash "$P"
		echo "$P" > "$RIG_DIR/crashed" ;;
	crash-isolated)
		echo "isolate node $P (primary) for ${d} s, then crash it"
		rig_isolate "$P"; sleep "$d"
		rig_crash "$P"; rig_rejoin "$P"
		echo "$P" > "$RIG_DIR/crashed" ;;
	pause)
		rnd 3; d=$((2 + R))
		echo "pause node $x for ${d} s"
		rig_pause "$x"; sleep "$d"; rig_resume "$x" ;;
	isolate)
		echo "isolate node $x for ${d} s"
		rig_isolate "$x"; sleep "$d"; rig_rejoin "$x" ;;
	cut-oneway)
		other "$x"; y=$O
		echo "drop packets $x -> $y for ${d} s"
		rig_cut "$x" "$y" oneway; sleep "$d"; rig_heal "$x" "$y" ;;
	powercut)
		echo "power cut of every node at once"
		for j in $(seq 1 "$N"); do rig_crash "$j"; done
		echo "$P" > "$RIG_DIR/crashed" ;;
	netem)
		echo "netem delay 10ms 5ms loss 2% on node $x for $((d + 3)) s"
		rig_netem "$x" "delay 10ms 5ms loss 2%" >/dev/null
		sleep $((d + 3)); rig_netem "$x" off >/dev/null ;;
	partition)
		other "$x"; y=$O
		echo "partition {$x,$y} from the rest for ${d} s"
		for j in $(seq 1 "$N"); do
			[ "$j" = "$x" ] || [ "$j" = "$y" ] && continue
			rig_cut "$x" "$j"; rig_cut "$y" "$j"
		done
		sleep "$d"; rig_heal_all ;;
	esac
}

KINDS=(crash-follower crash-primary crash-isolated pause isolate cut-oneway netem powercut)
[ "$N" -ge 5 ] && KINDS+=(partition)

round() {
	local r=$1 seed=$((SEED % 100000 * 100 + $1)) log kind q c0 c1 j wpid
	# round r's stream: a splitmix64 step of (seed, r), so that nearby
	# seeds give unrelated schedules; the kinds come in turn from a
	# seeded start, so that ${#KINDS[@]} rounds see each one
	j=$(( SEED ^ (r * 0x9E3779B97F4A7C15) ))
	j=$(( (j ^ (j >> 30)) * 0xBF58476D1CE4E5B9 ))
	j=$(( (j ^ (j >> 27)) * 0x94D049BB133111EB ))
	RANDOM=$(( (j ^ (j >> 31)) & 0x7fffffff ))
	kind=${KINDS[$(( (SEED + r - 1) % ${#KINDS[@]} ))]}
	log=$RIG_DIR/round$r.log
	rm -f "$RIG_DIR/crashed"
	echo "round $r: primary $P, fault $kind, writer seed $seed"
	# the writer starts on zeros (whatever the round before left)
	vm "$P" "dd if=/dev/zero of=/dev/prbd0 bs=1M count=$((BLOCKS / 256)) oflag=direct 2>/dev/null"
	rig_exec "$P" "exec prbd-blkcheck write /dev/prbd0 $BLOCKS 100000000 $seed $QD" > "$log" 2>&1 &
	wpid=$!
	rnd 3; sleep $((1 + R))
	c0=$(rig_exec "$P" 'pidof prbd-blkcheck >/dev/null && echo running || echo "not running"' 2>/dev/null || true)
	fault "$kind"
	sleep 2
	if [ "$kind" = powercut ]; then
		wait "$wpid" || true
		for j in $(seq 1 "$N"); do rig_boot "$j"; done
		for j in $(seq 1 "$N"); do
			rig_wait "$j" || fail "node $j did not reboot"
		done
		for j in $(seq 1 "$N"); do wait_up "$j"; done
		for j in $(seq 1 "$N"); do repl_wait_quorum "$j" true; done
		other "$P"; q=$O
		echo "every node is back and has quorum; node $q promoted"
		repl_promote "$q"
		P=$q
		echo "$P" > "$RIG_DIR/primary"
	elif [ -f "$RIG_DIR/crashed" ]; then
		other "$P"; q=$O
		wait "$wpid" || true
		echo "node $q promoted"
		repl_promote "$q"
		j=$P
		P=$q
		echo "$P" > "$RIG_DIR/primary"
		comeback "$j"
	else
		stop_writer "$P"
		wait "$wpid" || true
		if ! primary_ok "$P"; then
			for j in $(seq 1 "$N"); do
				[ "$j" = "$P" ] && continue
				rig_exec "$j" 'prbdctl primary r0' >/dev/null 2>&1 && break
			done
			primary_ok "$j" || fail "no primary with quorum 30 s after the heal (node $P: $(repl_field "$P" role))"
			echo "node $P lost the primary role; node $j promoted"
			P=$j
			echo "$P" > "$RIG_DIR/primary"
		fi
	fi
	c1=$(repl_ok_lines "$log")
	echo "writer: $c0 at the fault, $c1 writes completed in all ($(grep -v '^ok ' "$log" | tail -n 2 | tr '\n' ' '))"
	[ "$c1" -gt 0 ] || fail "the writer completed no write"
	grep '^ok ' "$log" > "$log.ok"
	rig_put "$P" "$log.ok" /tmp/round.log
	vm "$P" "prbd-blkcheck check /dev/prbd0 $BLOCKS $seed $QD < /tmp/round.log"
	quick "$P" 60 "dd if=/dev/urandom of=/dev/prbd0 bs=4k count=16 seek=$BLOCKS oflag=direct 2>/dev/null" ||
		fail "node $P: new writes fail after the heal"
	repl_same $((BLOCKS + 16)) $(seq 1 "$N")
	echo "$P" > "$RIG_DIR/primary"
}

no_warnings() {
	local i bad=""
	repl_no_warnings $(seq 1 "$N")
	for i in $(seq 1 "$N"); do
		if grep -av 'ommand line:' "$RIG_DIR/vm$i.console" | grep -aE "$WARN_RE" | head -n 10 | sed "s/^/vm$i console: /" | grep .; then
			bad="$bad vm$i"
		fi
	done
	[ -z "$bad" ] || fail "kernel warnings in the console of an earlier boot on$bad"
}

unload() {
	local i
	for i in $(seq 1 "$N"); do
		quick "$i" 60 'prbdctl secondary r0 >/dev/null 2>&1; prbdctl down r0 && rmmod prbd' ||
			fail "node $i: secondary/down/rmmod failed"
	done
}

ktap_run "$N nodes up, node 1 primary (seed $SEED)" setup
for r in $(seq 1 "$ROUNDS"); do
	ktap_run "round $r: a fault under writes; acknowledged writes intact, writes resume, replicas agree" round "$r"
	[ -f "$RIG_DIR/primary" ] && P=$(cat "$RIG_DIR/primary")
done
ktap_run "no kernel warnings, oops or hung task in any boot of any guest" no_warnings
ktap_run "r0 goes down and the module unloads on every node" unload
rig_stop
ktap_finish
