// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: persistence - makes the core's persist batches durable (their log
 * records with FUA, then the acceptor state when a batch carries a new
 * promise or configuration, or in flush mode a newer epoch) and reports
 * them to the core in token order; checkpoints: flush the applied data and
 * the slot map, record the applied index, release log space; the
 * clean-shutdown mark (prbd_persist_up(), prbd_persist_clean()).
 * durability = flush: the records are only written (no FUA), and the
 * device flushes the core asks for to answer a barrier are issued here
 * (prbd_flush_work()).
 *
 * Threads and locks: up to PRBD_DP_PERSIST_WINDOW batch works run at once
 * on dp->lwq; checkpoints run on the ordered dp->pwq.  Every acceptor-state
 * write holds dp->hs_mutex; dp->px_lock (taken inside it) guards the batch
 * ring and the core.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/sched/mm.h>

#include "prbd_int.h"
#include "prbd_dp.h"
#include "prbd_trace_helpers.h"

/*
 * How often the applied index is recorded (data area flushed, log space
 * released).  Longer: fewer flushes, more log replayed after a crash.
 */
static unsigned int prbd_ckpt_ms = 1000;
module_param_named(checkpoint_ms, prbd_ckpt_ms, uint, 0644);
MODULE_PARM_DESC(checkpoint_ms, "checkpoint interval in ms (100..600000, default 1000)");

static unsigned long prbd_ckpt_jiffies(void)
{
	return msecs_to_jiffies(clamp(READ_ONCE(prbd_ckpt_ms), 100U, 600000U));
}

/*
 * Resets installed so far (prbd_rs_reset_installed()); one not yet durable
 * while it differs from dp->reset_done.
 */
static u32 prbd_reset_gen(struct prbd_dp *dp)
{
	/* pairs with the drive work's release: slot, floor, epoch set first */
	return smp_load_acquire(&dp->reset_gen);
}

/* The slots whose records may leave the ring (see prbd_checkpoint()). */
static u64 prbd_release_bound(struct prbd_dp *dp)
{
	return min(dp->applied_disk, READ_ONCE(dp->core_log_start) - 1);
}

bool prbd_want_checkpoint(struct prbd_dp *dp)
{
	u64 used;

	if (READ_ONCE(dp->rs_flags_want) != READ_ONCE(dp->rs_flags_disk) ||
	    prbd_reset_gen(dp) != dp->reset_done)
		return true;
	if (READ_ONCE(dp->rs_inconsistent) &&
	    READ_ONCE(dp->rs_cursor) != dp->rs_cursor_disk &&
	    time_after(jiffies, dp->ckpt_at + prbd_ckpt_jiffies()))
		return true;

	if (READ_ONCE(dp->log_starved) &&
	    prbd_log_releasable(dp, prbd_release_bound(dp)))
		return true;
	if (dp->applied <= dp->applied_disk)
		return false;
	if (READ_ONCE(dp->ckpt_now))
		return true;
	spin_lock(&dp->log.lock);
	used = dp->log.used + dp->log.reserved;
	spin_unlock(&dp->log.lock);
	return READ_ONCE(dp->log_starved) ||
	       used > dp->log.ring_size / 4 * 3 ||
	       time_after(jiffies, dp->ckpt_at + prbd_ckpt_jiffies());
}

/*
 * A reset's install not yet durable (prbd_rs_fence()), to be written with
 * @hs: the first acceptor state of the epoch it installed.
 */
static bool prbd_reset_now(struct prbd_dp *dp,
			   const struct prbd_px_hardstate *hs, u32 flags)
{
	const u32 full = PRBD_DISK_ACC_F_INCONSISTENT | PRBD_DISK_ACC_F_RS_FULL;

	return prbd_reset_gen(dp) != dp->reset_done &&
	       hs->epoch == dp->reset_to && (flags & full) == full &&
	       READ_ONCE(dp->flush_mode);
}

static void prbd_hs_to_state(struct prbd_dp *dp,
			     const struct prbd_px_hardstate *hs, u64 applied,
			     u32 flags, bool reset,
			     struct prbd_acceptor_state *st)
{
	u32 id;

	/*
	 * A reset: with the epoch it installed goes the install slot as the
	 * applied index (what this node applied in the epoch before means
	 * nothing now), the log floor above every record of that epoch, and
	 * the flag that makes a restart copy everything again.  Before it,
	 * nothing of the new epoch is durable: a crash restarts in the old
	 * epoch, which hears of the new one and resets again.
	 */
	if (reset)
		applied = dp->reset_slot;
	memset(st, 0, sizeof(*st));
	st->log_floor = reset ? dp->reset_floor : dp->log_floor;
	if ((flags & PRBD_DISK_ACC_F_INCONSISTENT) &&
	    (reset || dp->reset_disk))
		flags |= PRBD_DISK_ACC_F_RESET;
	st->promised_ballot = hs->promised;
	st->config_epoch = hs->cfg_slot;
	st->commit_index = hs->commit;
	st->applied_index = applied;
	st->flags = flags | (READ_ONCE(dp->amnesiac) ?
			     PRBD_DISK_ACC_F_AMNESIAC : 0) |
		    (dp->up_disk ? PRBD_DISK_ACC_F_UP : 0);
	/*
	 * Flush mode's epoch (see prbd_batch_needs_hs()).  Strict mode
	 * never has a lossy election (epoch and base stay 0) and its ranks
	 * order nothing: written as 0, so that a module older than these
	 * fields still reads the record of a clean down.
	 */
	if (READ_ONCE(dp->flush_mode)) {
		st->epoch = hs->epoch;
		st->epoch_base = hs->epoch_base;
		st->erank = hs->erank;
	}
	/*
	 * The configuration of the slot that removed this node leaves it
	 * out (prbd_md_acc_check()); one that holds it proves the removal
	 * false (a claim prbd_member.c could not check): not recorded.
	 */
	if (dp->removed_disk && dp->removed_disk == hs->cfg_slot &&
	    ((hs->voters | hs->learners) & BIT(dp->res->node_id)))
		pr_warn_ratelimited("%s: the configuration of slot %llu holds this node: its removal there is not recorded\n",
				    dp->res->name, hs->cfg_slot);
	else
		st->removed_at = dp->removed_disk;
	if (flags & PRBD_DISK_ACC_F_INCONSISTENT) {
		st->rs_from = dp->rs_from;
		st->rs_cursor = READ_ONCE(dp->rs_cursor);
		st->rs_need = READ_ONCE(dp->rs_need);
	}
	for (id = 1; id < PRBD_PX_MAX_NODES; id++) {
		if (!((hs->voters | hs->learners) & BIT(id)))
			continue;
		st->members[st->nr_members].node_id = id;
		st->members[st->nr_members].flags =
			hs->voters & BIT(id) ? 0 : PRBD_DISK_MEMBER_LEARNER;
		st->nr_members++;
	}
}

/*
 * durability = flush: the commit hint a log record carries says that the
 * chosen values of the slots up to it were written before the record; a
 * restart takes them as chosen from its own records (prbd_log_load()).
 * Without FUA that is not enough: a volatile cache writes back in any
 * order, and may keep the hint's record and lose a value it vouches for,
 * whose slot would then replay an older value as chosen.  So a record
 * carries a hint only up to dp->safe_hint: the newest hint of a batch
 * issued before a device flush that has completed (every value it vouches
 * for was written before that flush began).  Every flush (a barrier's,
 * and the preflush of every acceptor-state write, checkpoints included)
 * goes through these two, and so does a batch written with PREFLUSH
 * (prbd_batch_hint()).  The simulator checks the rule with a cache that
 * loses any subset of the unflushed writes (tools/sim, flush mode).
 */
u64 prbd_flush_begin(struct prbd_dp *dp)
{
	return READ_ONCE(dp->hint_issued);
}

void prbd_flush_end(struct prbd_dp *dp, u64 hint)
{
	spin_lock(&dp->px_lock);
	dp->safe_hint = max(dp->safe_hint, hint);
	spin_unlock(&dp->px_lock);
}

/*
 * Write the acceptor state.  Only a checkpoint changes the resync flags
 * (@flags; others pass dp->rs_flags_disk): it flushes the data area and the
 * slot map first.  The resync cursor may go with any write: the pieces below
 * it are completed writes, which the record's preflush makes durable.
 */
int prbd_write_hs(struct prbd_dp *dp, const struct prbd_px_hardstate *hs,
		  u64 applied, u32 flags)
{
	struct prbd_acceptor_state st;
	u64 hint = prbd_flush_begin(dp);
	u32 gen = prbd_reset_gen(dp);
	bool reset = prbd_reset_now(dp, hs, flags);
	int err;

	/* decided once: the drive work may install another reset meanwhile */
	prbd_hs_to_state(dp, hs, applied, flags, reset, &st);
	err = prbd_md_write_acceptor(dp->bdev, &dp->res->backing->md, &st);
	if (err)
		return err;
	prbd_flush_end(dp, hint);	/* it went with a preflush */
	if (reset) {
		dp->log_floor = st.log_floor;
		WRITE_ONCE(dp->reset_done, gen);
		pr_info("%s: reset durable: epoch %llu from slot %llu, log records up to seq %llu ignored\n",
			dp->res->name, hs->epoch, st.applied_index,
			st.log_floor);
	}
	dp->reset_disk = st.flags & PRBD_DISK_ACC_F_RESET;
	dp->hs_disk = *hs;
	dp->applied_disk = st.applied_index;
	WRITE_ONCE(dp->rs_flags_disk, flags);
	dp->rs_cursor_disk = st.rs_cursor;
	return 0;
}

/**
 * prbd_persist_removed() - record durably that this node was removed
 * @dp: the data path
 * @slot: the slot of the configuration entry that removed it
 *
 * Writes the acceptor state last written again, with removed_at = @slot;
 * every later write keeps it (prbd_hs_to_state()), and the next up reads
 * it back (prbd_updown.c): the node stays out of the group across a
 * restart, until create-md.  The first removal recorded stays.
 *
 * Context: process, may sleep; px_lock not held.
 * Return: 0, -EALREADY if a removal is recorded already, or the write's
 * error (removed_disk is set all the same: later writes carry it).
 */
int prbd_persist_removed(struct prbd_dp *dp, u64 slot)
{
	struct prbd_px_hardstate hs;
	int err = -EALREADY;

	mutex_lock(&dp->hs_mutex);
	if (!dp->removed_disk) {
		dp->removed_disk = slot;
		hs = dp->hs_disk;
		err = prbd_write_hs(dp, &hs, dp->applied_disk,
				    dp->rs_flags_disk);
	}
	mutex_unlock(&dp->hs_mutex);
	return err;
}

/**
 * prbd_persist_up() - record durably that the resource is up
 * @dp: the data path, its acceptor state read (hs_disk and the rest)
 *
 * Writes the acceptor state read at up again with %PRBD_DISK_ACC_F_UP
 * (preflush + FUA), before anything else is written to the disk (log
 * replay, records, data area): a crash from here on leaves the mark not
 * clean.  Every later write keeps it, until prbd_persist_clean().
 *
 * Context: prbd_dp_up(), before the works start.
 * Return: 0 or the write's error.
 */
int prbd_persist_up(struct prbd_dp *dp)
{
	struct prbd_px_hardstate hs = dp->hs_disk;
	int err;

	mutex_lock(&dp->hs_mutex);
	dp->up_disk = true;
	err = prbd_write_hs(dp, &hs, dp->applied_disk, dp->rs_flags_disk);
	mutex_unlock(&dp->hs_mutex);
	return err;
}

/**
 * prbd_persist_clean() - set the clean-shutdown mark (a clean down)
 * @dp: the data path, stopped: every work idle, the last checkpoint done
 *
 * Writes the acceptor state last written again without
 * %PRBD_DISK_ACC_F_UP.  Its preflush makes everything written before it
 * durable (log records, the data area), which is what "clean" promises
 * to the next up.  A failed disk gets no mark: the next up finds it not
 * clean.
 *
 * Context: prbd_dp_down(), process, may sleep.
 */
void prbd_persist_clean(struct prbd_dp *dp)
{
	struct prbd_px_hardstate hs;
	int err;

	mutex_lock(&dp->hs_mutex);
	if (!READ_ONCE(dp->failed)) {
		dp->up_disk = false;
		hs = dp->hs_disk;
		err = prbd_write_hs(dp, &hs, dp->applied_disk,
				    dp->rs_flags_disk);
		if (err)
			pr_warn("%s: down: cannot record the clean shutdown: %d\n",
				dp->res->name, err);
	}
	mutex_unlock(&dp->hs_mutex);
}

static bool prbd_hs_changed(const struct prbd_px_hardstate *a,
			    const struct prbd_px_hardstate *b)
{
	return a->promised != b->promised || a->cfg_slot != b->cfg_slot ||
	       a->voters != b->voters || a->learners != b->learners;
}

/*
 * Flush the applied data, record the applied index, release log space.
 * Context: dp->hs_mutex held (a batch may write a new promise meanwhile).
 * Records of applied slots stay as catch-up history (prbd_catchup.c) while
 * they fill at most half of the ring; a proposal starved of log space
 * releases them all.
 */
static void __prbd_checkpoint(struct prbd_dp *dp)
{
	u64 applied = READ_ONCE(dp->applied), keep, freed;
	u32 flags = READ_ONCE(dp->rs_flags_want);
	struct prbd_px_hardstate hs = dp->hs_disk;
	struct prbd_px_status st;
	int err;

	if (applied > dp->applied_disk || flags != dp->rs_flags_disk ||
	    prbd_reset_gen(dp) != dp->reset_done ||
	    ((flags & PRBD_DISK_ACC_F_INCONSISTENT) &&
	     READ_ONCE(dp->rs_cursor) != dp->rs_cursor_disk)) {
		/*
		 * The map covers what is applied before the record says so.
		 * Both writes preflush: the applied data is stable before
		 * either, no separate flush needed.
		 */
		/*
		 * With the applied index goes the configuration in effect:
		 * a configuration entry at or below it leaves the log, and
		 * the acceptor state is otherwise written only when a batch
		 * carries a new promise or configuration, which may not have
		 * happened yet (see prbd_merge_hs()).
		 */
		spin_lock(&dp->px_lock);
		prbd_px_status(dp->px, &st);
		spin_unlock(&dp->px_lock);
		if (st.cfg_slot > hs.cfg_slot) {
			hs.cfg_slot = st.cfg_slot;
			hs.voters = st.voters;
			hs.learners = st.learners;
		}
		/*
		 * A reset's install, if no batch of its epoch wrote it yet:
		 * the epoch may be durable before any message carries it.
		 */
		if (prbd_reset_gen(dp) != dp->reset_done &&
		    st.epoch == dp->reset_to && !st.reset_rank) {
			hs.epoch = st.epoch;
			hs.epoch_base = st.epoch_base;
			hs.erank = max(hs.erank, st.erank);
		}
		hs.commit = max(hs.commit, applied);
		err = prbd_map_flush(dp, applied);
		if (!err)
			err = prbd_write_hs(dp, &hs, applied, flags);
		if (err) {
			pr_err("%s: checkpoint failed: %d\n", dp->res->name,
			       err);
			prbd_dp_io_error(dp, err, "checkpoint");
			return;
		}
		dp->ckpt_at = jiffies;
		WRITE_ONCE(dp->ckpt_now, false);
	}
	keep = READ_ONCE(dp->log_starved) ? 0 : dp->log.ring_size / 2;
	freed = prbd_log_release(dp, prbd_release_bound(dp), keep);
	if (freed) {
		prbd_log_forget(dp, freed);
		prbd_catchup_forget(dp, freed);
		prbd_pl_evict(dp, 0, true);	/* payloads of truncated slots */
	}
	WRITE_ONCE(dp->log_starved, false);
	prbd_dp_kick(dp);	/* proposals waiting for log space */
}

void prbd_checkpoint(struct prbd_dp *dp)
{
	mutex_lock(&dp->hs_mutex);
	__prbd_checkpoint(dp);
	mutex_unlock(&dp->hs_mutex);
}

/*
 * Is @a's epoch newer than @b's?  The core's order (px_rank_key(), see
 * "Flush mode" in paxos/prbd_paxos.c): the higher rank, and at one rank
 * the epoch a lossy leader started at it; within one epoch and rank, the
 * higher base.
 */
static bool prbd_hs_epoch_newer(const struct prbd_px_hardstate *a,
				const struct prbd_px_hardstate *b)
{
	u64 ka = a->erank << 1 | (a->epoch && a->epoch == a->erank);
	u64 kb = b->erank << 1 | (b->epoch && b->epoch == b->erank);

	if (ka != kb)
		return ka > kb;
	return a->epoch == b->epoch && a->epoch_base > b->epoch_base;
}

/*
 * A batch's hard state is a snapshot from when it was issued; a checkpoint
 * since may have written a newer configuration (or a promise): never go
 * back to an older one.
 */
static void prbd_merge_hs(struct prbd_px_hardstate *hs,
			  const struct prbd_px_hardstate *disk)
{
	if (disk->cfg_slot > hs->cfg_slot) {
		hs->cfg_slot = disk->cfg_slot;
		hs->voters = disk->voters;
		hs->learners = disk->learners;
	}
	hs->promised = max(hs->promised, disk->promised);
	hs->commit = max(hs->commit, disk->commit);
	/* the epoch of the higher rank is the newer (prbd_hs_epoch_newer()) */
	if (prbd_hs_epoch_newer(disk, hs)) {
		hs->epoch = disk->epoch;
		hs->epoch_base = disk->epoch_base;
		hs->erank = disk->erank;
	}
}

/*
 * Does the batch need the hard state written?  Only for a new promise or
 * configuration, or a newer epoch in flush mode (see "Durability rule" and
 * "Flush mode" in paxos/prbd_paxos.c): the commit
 * index and chosen flags are volatile, re-learned after a restart, so a
 * write costs one log append (FUA) on each node and nothing more.  Commit
 * goes to disk whenever the record is written anyway, and the checkpoint
 * records the applied index once the data area is flushed.
 */
static bool prbd_batch_needs_hs(struct prbd_dp *dp, const struct prbd_batch *b)
{
	/*
	 * Flush mode: the epoch, its base and rank too (the rank durable
	 * before a P2B to a new leader leaves, the epoch with its base).
	 * Strict mode has epoch 0 for ever and ignores ranks (they only
	 * order epochs): they go along when the record is written anyway.
	 */
	if (READ_ONCE(dp->flush_mode) &&
	    prbd_hs_epoch_newer(&b->hs, &dp->hs_disk))
		return true;
	return prbd_hs_changed(&b->hs, &dp->hs_disk);
}

/**
 * prbd_flush_work() - durability = flush: a device flush the core asked for
 * @work: dp->flush_work (on dp->lwq, so down waits for it)
 *
 * The core asks for a flush (rd->flush_token) to answer a barrier: every
 * log record written before the flush was issued is then durable.  The
 * log and the data area share the backing device, so one cache flush of
 * it covers both.  A flush asked for while one runs queues the work again;
 * a later flush covers every earlier token (prbd_px_flushed() takes the
 * highest done).  Synchronous here, off the drive work, which goes on.
 */
void prbd_flush_work(struct work_struct *work)
{
	struct prbd_dp *dp = container_of(work, struct prbd_dp, flush_work);
	u64 tok, hint;
	int err;

	spin_lock(&dp->px_lock);
	tok = dp->fl_want;
	spin_unlock(&dp->px_lock);
	if (tok <= READ_ONCE(dp->fl_done) || READ_ONCE(dp->stopping) ||
	    READ_ONCE(dp->failed))
		return;
	hint = prbd_flush_begin(dp);
	err = blkdev_issue_flush(dp->bdev);
	if (err) {
		/* not durable: never reported; the disk is failed */
		prbd_dp_io_error(dp, err, "flush");
		WRITE_ONCE(dp->failed, true);
		prbd_dp_kick(dp);
		return;
	}
	spin_lock(&dp->px_lock);
	dp->fl_done = max(dp->fl_done, tok);
	dp->fl_issued++;
	dp->safe_hint = max(dp->safe_hint, hint);
	spin_unlock(&dp->px_lock);
	prbd_dp_kick(dp);
}

/* Checkpoints (and the resync's requests for one). */
void prbd_persist_work(struct work_struct *work)
{
	struct prbd_dp *dp = container_of(work, struct prbd_dp, persist_work);
	unsigned int noio = memalloc_noio_save();

	if (prbd_want_checkpoint(dp))
		prbd_checkpoint(dp);
	memalloc_noio_restore(noio);
}

/*
 * Write one persist batch: its records (FUA), then the acceptor state if
 * it carries a new promise or configuration (the core issues such a batch
 * alone).  Several batch works run at once; each marks its batch done and
 * the core hears of the oldest done batches in token order, so a batch
 * that lands early waits for the older ones (prbd_px_persisted()).
 */
void prbd_batch_work(struct work_struct *work)
{
	struct prbd_batch *b = container_of(work, struct prbd_batch, work);
	struct prbd_dp *dp = b->dp;
	unsigned int noio = memalloc_noio_save();
	struct prbd_batch *o;
	unsigned long ask_at = 0;	/* jiffies: ask for missing payloads */
	int err;

	if (READ_ONCE(dp->failed))
		goto detached;
	/* down: never persisted (nor reported) */
	if (READ_ONCE(dp->stopping))
		goto out;
	trace_prbd_log_submit(prbd_dp_minor(dp), b->token, b->n_ents);
	for (;;) {
		int gen = atomic_read(&dp->pl_gen);

		err = prbd_log_write_batch(dp, b);
		if (err != -ENOSPC && err != -ENOENT && !prbd_io_transient(err))
			break;
		/*
		 * Log full: the checkpoint frees what is applied.  Payload
		 * missing: a relayed one (prbd_repl_plan()) may come after
		 * the accept that names it, so wait for the next payload to
		 * arrive; if it is still missing after PRBD_PL_ASK_MS (this
		 * node dropped its DATA frame, or the relay did not reach
		 * it), ask the leader for it again, then every 200 ms
		 * (prbd_repl_want_payloads()).  No memory: wait.  Then try
		 * again (records already written are skipped), unless down
		 * stops the data path: the batch is never persisted (nor
		 * reported).
		 */
		if (err == -ENOSPC) {
			/* a lagging member may hold the log: not for long */
			spin_lock(&dp->px_lock);
			prbd_px_log_full(dp->px);
			spin_unlock(&dp->px_lock);
			WRITE_ONCE(dp->log_starved, true);
			queue_work(dp->pwq, &dp->persist_work);
		} else if (err == -ENOENT) {
			if (!ask_at) {
				ask_at = jiffies + msecs_to_jiffies(PRBD_PL_ASK_MS);
			} else if (time_after_eq(jiffies, ask_at)) {
				pr_warn_ratelimited("%s: payload of a value to log not here yet\n",
						    dp->res->name);
				prbd_repl_want_payloads(dp, b);
				ask_at = jiffies + msecs_to_jiffies(200);
			}
		}
		if (READ_ONCE(dp->stopping))
			goto out;
		if (err == -ENOENT)	/* until the next payload arrives */
			wait_event_timeout(dp->pl_wq,
					   atomic_read(&dp->pl_gen) != gen ||
					   READ_ONCE(dp->stopping),
					   msecs_to_jiffies(20));
		else
			msleep(20);
	}
	if (!err && b->preflush)	/* see prbd_batch_hint() */
		prbd_flush_end(dp, b->commit_hint);
	if (!err) {
		mutex_lock(&dp->hs_mutex);
		while (prbd_batch_needs_hs(dp, b)) {
			struct prbd_px_hardstate hs = b->hs;

			prbd_merge_hs(&hs, &dp->hs_disk);
			err = prbd_write_hs(dp, &hs, dp->applied_disk,
					    dp->rs_flags_disk);
			if (!prbd_io_transient(err) || READ_ONCE(dp->stopping))
				break;
			msleep(20);	/* no memory: write it again */
		}
		mutex_unlock(&dp->hs_mutex);
	}
	trace_prbd_log_durable(prbd_dp_minor(dp), b->token, err);
	if (err) {
		/* not durable: never reported (a transient error too) */
		pr_err("%s: log write failed: %d; backing device failed\n",
		       dp->res->name, err);
		prbd_dp_io_error(dp, err, "log write");
		WRITE_ONCE(dp->failed, true);
		goto detached;
	}
	spin_lock(&dp->px_lock);
	b->done = true;
	while (dp->b_n) {
		o = &dp->batches[dp->b_head];
		if (!o->done)
			break;
		prbd_px_persisted(dp->px, o->token);
		o->busy = false;
		o->done = false;
		dp->b_head = (dp->b_head + 1) % PRBD_DP_PERSIST_WINDOW;
		dp->b_n--;
	}
	spin_unlock(&dp->px_lock);
	prbd_dp_kick(dp);
	if (prbd_want_checkpoint(dp) && !READ_ONCE(dp->failed))
		queue_work(dp->pwq, &dp->persist_work);
out:
	memalloc_noio_restore(noio);
	return;

detached:
	/*
	 * The batch is never written nor reported (the core keeps it in
	 * flight: a failed disk persists nothing more); its bios are done,
	 * so the drive work may now fail the requests it names.
	 */
	spin_lock(&dp->px_lock);
	b->dead = true;
	spin_unlock(&dp->px_lock);
	prbd_dp_kick(dp);
	memalloc_noio_restore(noio);
}
