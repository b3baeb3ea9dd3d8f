#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# repl/crash_state with durability = flush (issue 13, "What must come with
# it"): the same recorded crash points, the writer's O_DSYNC writes (FUA,
# so each completes at a barrier) the marks: every write completed before
# a crash point is intact after all three nodes restart from their
# replayed disks (a lossy election, the others reset), the replicas agree
# and verify is clean.  Before resets took their source by epoch it failed
# at its first crash point (the group livelocked).
exec env CRASH_DURABILITY=flush bash "$(dirname "$0")/crash_state.sh" "$@"
