#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# run_tests.sh OUT CI_SEEDS MUT_BUDGET - prbd Paxos core test suite (TAP).
#   1. unit tests (kselftest harness, prints its own TAP document)
#   2. seed campaigns + mutation proof (one TAP document)
OUT=$1
SEEDS=${2:-6000}
BUDGET=${3:-3000}
rc=0

"$OUT/px_test" || rc=1

echo "TAP version 13"
echo "1..32"
n=0
campaign() {	# name nodes seeds
	n=$((n + 1))
	out=$("$OUT/sim" --seeds "1:$3" --nodes "$2" --jobs 2 --tap "$n" --name "$1")
	st=$?
	echo "$out" | grep -v '^#  ' | grep -v '^# last events'
	[ $st -eq 0 ] || rc=1
}
campaign "sim campaign 3 nodes" 3 "$SEEDS"
campaign "sim campaign 5 nodes" 5 "$SEEDS"
campaign "sim campaign 7 nodes" 7 $((SEEDS / 10))
campaign "sim campaign 1 node" 1 $((SEEDS / 20))

mutation() {	# m letter description [extra sim flags]
	n=$((n + 1))
	out=$("$OUT/sim-m$1" --find-bug --seeds "1:$BUDGET" --name "mutation ($2)" $4)
	echo "$out" | grep '^# '
	seed=$(echo "$out" | sed -n 's/^FOUND \([0-9]*\) \([0-9]*\)$/\1/p')
	cnt=$(echo "$out" | sed -n 's/^FOUND \([0-9]*\) \([0-9]*\)$/\2/p')
	if [ -n "$seed" ]; then
		echo "ok $n mutation ($2) $3: caught at seed $seed after $cnt seeds"
	else
		echo "not ok $n mutation ($2) $3: NOT caught within $BUDGET seeds"
		rc=1
	fi
}
mutation 1 a "new leader ignores Phase-1b values"
mutation 2 b "acceptor replies before durable"
mutation 3 c "commit on a non-majority"
mutation 4 d "lease honoured past expiry"
mutation 5 e "leader counts acks of non-voting peers"
mutation 6 f "amnesiac promises count like any other"
mutation 7 g "a durably accepted entry restored as chosen"
mutation 8 h "checkpoint records applied without flushing the data"
mutation 10 j "persist batches reported durable out of token order"
mutation 11 k "flush mode: suspect promises count like any other"
mutation 12 l "flush mode: a barrier completes on the leader's flush alone"
mutation 13 m "flush mode: a lossy election keeps the old epoch"
mutation 14 n "flush mode: an acceptor answers a barrier without flushing"
mutation 15 o "flush mode: a node resetting takes values from the new epoch"
mutation 16 p "learners count towards the voters' majority"
# the same bugs must also show up in what clients observe (acknowledged
# writes, applied sequences, reads) with the protocol-level oracles off
BUDGET=$((BUDGET * 4))
mutation 1 a "client-visible, oracle off" --no-oracle
mutation 2 b "client-visible, oracle off" --no-oracle
mutation 3 c "client-visible, oracle off" --no-oracle
mutation 4 d "client-visible, lease-pair check off" --no-lease-check
mutation 6 f "client-visible, oracle off" --no-oracle
mutation 7 g "client-visible, oracle off" --no-oracle
mutation 8 h "client-visible, oracle off" --no-oracle
mutation 11 k "client-visible, oracle off" --no-oracle
mutation 12 l "client-visible, oracle off" --no-oracle
mutation 13 m "client-visible, oracle off" --no-oracle
mutation 14 n "client-visible, oracle off" --no-oracle
mutation 15 o "client-visible, oracle off" --no-oracle
mutation 16 p "client-visible, oracle off" --no-oracle
exit $rc
