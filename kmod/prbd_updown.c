// SPDX-License-Identifier: GPL-2.0
/*
 * prbd: bringing a resource's data path up and down, and its role - what
 * prbd_res.c calls with prbd_cfg_mutex held: up builds struct prbd_dp
 * (core, log, slot map, resync state, workqueues, replication, the block
 * device); down refuses while the device is open, drains, stops
 * replication and the works, checkpoints and frees it all; primary waits
 * for this node to lead.
 *
 * Locks: prbd_cfg_mutex held throughout; dp->px_lock for the fields the
 * drive work shares (see prbd_dp.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "prbd_int.h"
#include "prbd_dp.h"

/*
 * Persist batches written at once.  Each batch costs one flush of the
 * backing device at least (its records are FUA); more batches in flight
 * overlap those flushes, fewer make each batch larger.
 */
static unsigned int prbd_persist_window = PRBD_DP_PERSIST_WINDOW;
module_param_named(persist_window, prbd_persist_window, uint, 0644);
static_assert(PRBD_DP_PERSIST_WINDOW == 4);	/* the description says so */
MODULE_PARM_DESC(persist_window,
		 "persist batches in flight, 1..4 (default 4; read at up)");

static void prbd_dp_free(struct prbd_dp *dp)
{
	prbd_repl_stop(dp);
	if (dp->lwq)
		destroy_workqueue(dp->lwq);
	if (dp->pwq)
		destroy_workqueue(dp->pwq);
	if (dp->wq)
		destroy_workqueue(dp->wq);
	prbd_log_unload(dp);
	prbd_catchup_destroy(dp);
	prbd_rs_destroy(dp);
	prbd_pread_destroy(dp);
	prbd_verify_destroy(dp);
	prbd_map_free(dp);
	kvfree(dp->hmsg);
	kvfree(dp->batches);
	kvfree(dp->px);
	kfree(dp->cmds);
	prbd_dp_pools_exit(dp);
	kfree(dp);
}

int prbd_dp_up(struct prbd_resource *res, struct netlink_ext_ack *extack)
{
	struct prbd_md *md = &res->backing->md;
	struct prbd_acceptor_state st;
	struct prbd_px_hardstate hs = {};
	struct prbd_px_config cfg = {};
	struct prbd_peer *peer;
	struct prbd_dp *dp;
	u32 i;
	int err;

	if (res->node_id >= PRBD_PX_MAX_NODES) {
		NL_SET_ERR_MSG_MOD(extack, "node id too large for the Paxos core (max 15)");
		return -EINVAL;
	}
	/*
	 * Without a secret the handshake authenticates nothing: anyone who
	 * reaches the port could join the group.  Only if asked for.
	 */
	if (!list_empty(&res->peers) && !res->secret_len &&
	    !res->allow_no_secret) {
		NL_SET_ERR_MSG_MOD(extack,
				   "a group of several nodes needs a secret (or allow-no-secret)");
		return -EINVAL;
	}
	dp = kzalloc(sizeof(*dp), GFP_KERNEL);
	if (!dp)
		return -ENOMEM;
	dp->res = res;
	/* read below at the clean-shutdown mark, and by persistence */
	dp->flush_mode = res->durability == PRBD_DURABILITY_FLUSH;
	prbd_member_init(dp);
	dp->bdev = res->backing->bd.bdev;
	dp->data_sect = md->data_offset >> SECTOR_SHIFT;
	dp->data_size = md->data_size;
	dp->block_size = md->block_size;
	memcpy(dp->disk_uuid, md->sb.disk_uuid, sizeof(dp->disk_uuid));
	dp->log.ring_off = le64_to_cpu(md->sb.log_offset) + PRBD_DISK_BLOCK;
	dp->log.ring_size = le64_to_cpu(md->sb.log_size) - PRBD_DISK_BLOCK;
	INIT_LIST_HEAD(&dp->log.exts);
	spin_lock_init(&dp->log.lock);
	xa_init(&dp->log_locs);
	xa_init(&dp->hist);
	spin_lock_init(&dp->px_lock);
	INIT_LIST_HEAD(&dp->incoming);
	INIT_LIST_HEAD(&dp->reads);
	INIT_LIST_HEAD(&dp->flushes);
	INIT_LIST_HEAD(&dp->applies);
	init_llist_head(&dp->applies_done);
	prbd_rs_lists_init(dp);
	prbd_pread_init(dp);
	prbd_repl_init(dp);
	INIT_WORK(&dp->drive_work, prbd_drive_work);
	INIT_WORK(&dp->persist_work, prbd_persist_work);
	INIT_WORK(&dp->flush_work, prbd_flush_work);
	mutex_init(&dp->hs_mutex);
	INIT_DELAYED_WORK(&dp->tick_work, prbd_tick_work);
	atomic_set(&dp->open_rw, 0);
	atomic64_set(&dp->next_id, get_random_u64() & GENMASK_ULL(39, 0));
	dp->ckpt_at = jiffies;

	err = -ENOMEM;
	dp->px = kvzalloc(sizeof(*dp->px), GFP_KERNEL);
	dp->batches = kvcalloc(PRBD_DP_PERSIST_WINDOW, sizeof(*dp->batches),
			       GFP_KERNEL);
	dp->hmsg = kvzalloc(sizeof(*dp->hmsg), GFP_KERNEL);
	dp->cmds = kcalloc(PRBD_DP_QUEUE_DEPTH, sizeof(*dp->cmds), GFP_KERNEL);
	if (!dp->px || !dp->batches || !dp->cmds || !dp->hmsg ||
	    prbd_dp_pools_init(dp))
		goto out_free;
	for (i = 0; i < PRBD_DP_PERSIST_WINDOW; i++) {
		dp->batches[i].dp = dp;
		INIT_WORK(&dp->batches[i].work, prbd_batch_work);
	}

	cfg.id = res->node_id;
	/* a node with role none waits, outside the group, to be added */
	if (res->self_role == PRBD_MEMBER_ROLE_VOTER)
		cfg.voters = BIT(res->node_id);
	else if (res->self_role == PRBD_MEMBER_ROLE_LEARNER)
		cfg.learners = BIT(res->node_id);
	list_for_each_entry(peer, &res->peers, list) {
		if (peer->node_id >= PRBD_PX_MAX_NODES)
			continue;
		if (peer->mrole == PRBD_MEMBER_ROLE_VOTER)
			cfg.voters |= BIT(peer->node_id);
		else if (peer->mrole == PRBD_MEMBER_ROLE_LEARNER)
			cfg.learners |= BIT(peer->node_id);
	}
	if (!cfg.voters) {
		NL_SET_ERR_MSG_MOD(extack, "the resource file names no voter");
		err = -EINVAL;
		goto out_free;
	}
	cfg.hb_ms = PRBD_DP_HB_MS;
	cfg.elect_ms = PRBD_DP_ELECT_MS;
	cfg.drift_ppm = PRBD_DP_DRIFT_PPM;
	cfg.window = PRBD_PX_WINDOW_MAX;
	cfg.persist_window = clamp(READ_ONCE(prbd_persist_window), 1U,
				   (unsigned int)PRBD_DP_PERSIST_WINDOW);
	cfg.max_inflight_bytes = 8 << 20;
	cfg.seed = get_random_u64();
	prbd_px_init(dp->px, &cfg);

	prbd_md_get_acceptor(md, &st);
	hs.promised = st.promised_ballot;
	hs.commit = st.commit_index;
	hs.log_start = st.applied_index + 1;
	hs.cfg_slot = st.config_epoch;
	hs.voters = cfg.voters;
	hs.learners = cfg.learners;
	if (st.nr_members) {
		hs.voters = 0;
		hs.learners = 0;
		for (i = 0; i < st.nr_members; i++) {
			if (st.members[i].node_id >= PRBD_PX_MAX_NODES)
				continue;
			if (st.members[i].flags & PRBD_DISK_MEMBER_LEARNER)
				hs.learners |= BIT(st.members[i].node_id);
			else
				hs.voters |= BIT(st.members[i].node_id);
		}
	}
	/*
	 * Flush mode's epoch (see "Flush mode" in paxos/prbd_paxos.c).
	 * Strict mode starts at epoch 0, rank 0, as before the fields
	 * existed (it writes them as 0): an epoch left by an earlier run in
	 * flush mode would make its peers refuse it (prbd_repl_decode()).
	 */
	if (dp->flush_mode) {
		hs.epoch = st.epoch;
		hs.epoch_base = st.epoch_base;
		hs.erank = st.erank;
	}
	dp->hs_disk = hs;
	dp->applied_disk = st.applied_index;
	dp->removed_disk = st.removed_at;	/* kept by every write */
	err = prbd_rs_init(dp, &st);
	if (err)
		goto out_free;
	/*
	 * A disk never used (fresh create-md) may be a wiped one that forgot
	 * what it promised and accepted: it promises nothing to a candidate
	 * that knows of chosen slots until it installed a resync or followed
	 * a leader for a while (prbd_px_set_nopromise(), below).  Known
	 * before the first write, which keeps it (prbd_hs_to_state()).
	 */
	/* a lone voter has nobody to protect: its data is all there is */
	dp->amnesiac = hweight16(hs.voters) > 1 &&
		       ((st.flags & PRBD_DISK_ACC_F_AMNESIAC) ||
			(!st.applied_index && !st.commit_index &&
			 !st.promised_ballot));
	/*
	 * The clean-shutdown mark: read it, then clear it durably before
	 * anything else is written (log replay included), so that a crash
	 * from here on is seen at the next up.
	 */
	dp->was_clean = !(st.flags & PRBD_DISK_ACC_F_UP);
	if (!dp->was_clean)
		pr_info("%s: the last run ended without a clean down\n",
			res->name);
	err = prbd_persist_up(dp);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot write the acceptor state");
		goto out_free;
	}
	err = prbd_map_load(dp);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot read the slot map");
		goto out_free;
	}
	if (dp->rs_inconsistent && (st.flags & PRBD_DISK_ACC_F_RESET))
		prbd_map_reset(dp);	/* see prbd_rs_init() */
	err = prbd_log_load(dp, &hs);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot read or replay the log area");
		goto out_free;
	}
	if (dp->applied > dp->applied_disk) {
		err = prbd_write_hs(dp, &hs, dp->applied, dp->rs_flags_disk);
		if (err) {
			NL_SET_ERR_MSG_MOD(extack, "cannot write the acceptor state");
			goto out_free;
		}
	}
	if (dp->rs_inconsistent)
		prbd_px_set_novote(dp->px, true);	/* until the resync ends */
	if (dp->amnesiac)
		prbd_px_set_nopromise(dp->px, true);
	/*
	 * Flush mode: records written without a flush before a crash may be
	 * gone, so this node's promises are flagged until what it may have
	 * lost is known chosen (see "Flush mode" in paxos/prbd_paxos.c).
	 * Strict mode writes every record with FUA: nothing to flag.
	 */
	if (dp->flush_mode && !dp->was_clean)
		prbd_px_set_suspect(dp->px, true);
	/*
	 * Removed from the group before this start (prbd_member.c): it
	 * stays a full acceptor that never campaigns, as it was told.
	 */
	if (st.removed_at)
		prbd_px_set_nocampaign(dp->px, true);
	spin_lock(&res->lock);
	res->removed_at = st.removed_at;
	res->applied_index = dp->applied;
	res->commit_index = max(hs.commit, dp->applied);
	if (dp->rs_inconsistent)
		res->disk_state = PRBD_DISK_STATE_INCONSISTENT;
	spin_unlock(&res->lock);

	err = -ENOMEM;
	dp->wq = alloc_ordered_workqueue("prbd_%s", WQ_MEM_RECLAIM, res->name);
	dp->pwq = alloc_ordered_workqueue("prbd_%s_ckpt", WQ_MEM_RECLAIM,
					  res->name);
	/* the batches, and the flush work beside them (prbd_flush_work()) */
	dp->lwq = alloc_workqueue("prbd_%s_log", WQ_MEM_RECLAIM | WQ_UNBOUND,
				  PRBD_DP_PERSIST_WINDOW + 1, res->name);
	if (!dp->wq || !dp->pwq || !dp->lwq)
		goto out_free;

	err = prbd_repl_start(dp, &prbd_drive_tr_ops);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot start replication (listen address?)");
		goto out_free;
	}

	err = prbd_dev_create(dp, res->dev.minor);
	if (err) {
		NL_SET_ERR_MSG_MOD(extack, "cannot create the block device");
		goto out_free;
	}
	res->dp = dp;
	res->dev.disk = dp->disk;
	/* the module stays loaded while a device exists */
	__module_get(THIS_MODULE);
	queue_delayed_work(dp->wq, &dp->tick_work, 0);
	return 0;

out_free:
	prbd_dp_free(dp);
	return err;
}

/*
 * Let the I/O in flight finish while replication still runs (it can still
 * be chosen), for at most PRBD_DP_DRAIN_MS: without quorum it may wait
 * for ever, and prbd_dp_fail_rest() fails it after replication stopped.
 * Nobody has the device open (prbd_dp_down() checked), so no new I/O comes.
 */
static void prbd_dp_drain(struct prbd_dp *dp)
{
	struct request_queue *q = dp->disk->queue;

	blk_freeze_queue_start(q);
	if (!blk_mq_freeze_queue_wait_timeout(q,
					      msecs_to_jiffies(PRBD_DP_DRAIN_MS)))
		pr_warn("%s: down: I/O still in flight after %u ms: failing it\n",
			dp->res->name, PRBD_DP_DRAIN_MS);
	blk_mq_unfreeze_queue(q);
}

/*
 * Replication stopped, the works are idle and no apply runs: writes still
 * queued or proposed can no longer be chosen, reads waiting for the lease
 * never get it.  Fail them all, so del_gendisk() has nothing to wait for.
 */
static void prbd_dp_fail_rest(struct prbd_dp *dp)
{
	struct prbd_io *cmd, *tmp;
	LIST_HEAD(failed);
	u32 tag;

	spin_lock(&dp->px_lock);
	dp->role = PRBD_PX_FOLLOWER;
	list_splice_tail_init(&dp->incoming, &failed);
	list_splice_tail_init(&dp->reads, &failed);
	list_splice_tail_init(&dp->flushes, &failed);	/* barriers never done */
	for (tag = 0; tag < dp->tag_set.queue_depth; tag++) {
		cmd = dp->cmds[tag];
		if (!cmd)
			continue;
		dp->cmds[tag] = NULL;
		list_add_tail(&cmd->list, &failed);
	}
	dp->n_doubt = 0;
	spin_unlock(&dp->px_lock);
	prbd_pread_fail_all(dp);	/* reads asked of the leader */
	list_for_each_entry_safe(cmd, tmp, &failed, list) {
		list_del_init(&cmd->list);
		prbd_io_end(cmd, BLK_STS_IOERR);
	}
}

int prbd_dp_down(struct prbd_resource *res, struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;
	struct prbd_io *cmd, *tmp;
	unsigned int openers;

	if (!dp)
		return 0;
	/*
	 * Never while open: the device (and dp) would go away under its
	 * openers, and their writes could no longer be chosen.  From here
	 * on an open fails (prbd_dp_open()).
	 */
	spin_lock(&dp->px_lock);
	openers = dp->openers;
	if (!openers)
		dp->closed = true;
	spin_unlock(&dp->px_lock);
	if (openers) {
		NL_SET_ERR_MSG_MOD(extack, "the device is open; close it first");
		return -EBUSY;
	}
	prbd_dp_drain(dp);
	prbd_repl_stop(dp);	/* no message arrives after this */
	/* writes still queued can no longer be proposed */
	spin_lock(&dp->px_lock);
	dp->role = PRBD_PX_FOLLOWER;
	list_for_each_entry_safe(cmd, tmp, &dp->incoming, list) {
		list_del_init(&cmd->list);
		prbd_io_end(cmd, BLK_STS_IOERR);
	}
	spin_unlock(&dp->px_lock);
	WRITE_ONCE(dp->stopping, true);
	cancel_delayed_work_sync(&dp->tick_work);
	flush_workqueue(dp->wq);
	flush_workqueue(dp->lwq);
	flush_workqueue(dp->pwq);
	/*
	 * Applies (a follower's, or discards) may still be writing the data
	 * area: their completions touch dp and kick the drive work, which
	 * reaps them.  Wait for the last one.
	 */
	while (!list_empty(&dp->applies) || !llist_empty(&dp->applies_done) ||
	       prbd_rs_busy(dp)) {
		prbd_dp_kick(dp);
		flush_workqueue(dp->wq);
		if (!list_empty(&dp->applies) || prbd_rs_busy(dp))
			msleep(20);
	}
	/* a batch work kicks the drive work, which may issue one more */
	flush_workqueue(dp->lwq);
	flush_workqueue(dp->wq);
	flush_workqueue(dp->lwq);
	flush_workqueue(dp->pwq);
	/* what the applies did not complete never will */
	prbd_dp_fail_rest(dp);
	prbd_dev_destroy(dp);
	if (!READ_ONCE(dp->failed))	/* nothing more goes to a failed disk */
		prbd_checkpoint(dp);
	prbd_persist_clean(dp);		/* last: after everything above */
	res->dp = NULL;
	res->dev.disk = NULL;
	prbd_dp_free(dp);
	module_put(THIS_MODULE);
	return 0;
}

int prbd_dp_set_role(struct prbd_resource *res, enum prbd_role role,
		     bool force, struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;
	int err;

	if (!dp) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down");
		return -ENOTCONN;
	}
	if (role == PRBD_ROLE_SECONDARY) {
		spin_lock(&dp->px_lock);
		if (atomic_read(&dp->open_rw)) {
			spin_unlock(&dp->px_lock);
			NL_SET_ERR_MSG_MOD(extack,
					   "the device is open read-write (auto-promoted); close it first");
			return -EBUSY;
		}
		dp->primary = false;
		dp->auto_primary = false;
		spin_unlock(&dp->px_lock);
		return 0;
	}
	/* primary: this node must lead the group */
	if (READ_ONCE(dp->rs_inconsistent)) {
		NL_SET_ERR_MSG_MOD(extack, "disk is inconsistent: a resync into it runs");
		return -EAGAIN;
	}
	err = prbd_dp_wait_leader(dp, true);
	if (!err) {
		spin_lock(&dp->px_lock);
		dp->auto_primary = false;	/* explicit: stays after close */
		spin_unlock(&dp->px_lock);
		return 0;
	}
	if (err == -EBUSY)
		NL_SET_ERR_MSG_MOD(extack, "another node is primary; make it secondary first");
	else if (err == -EPERM)
		NL_SET_ERR_MSG_MOD(extack, "this node was removed from the group");
	else
		NL_SET_ERR_MSG_MOD(extack, "this node is not the Paxos leader (no quorum?)");
	return err;
}

int prbd_dp_verify(struct prbd_resource *res, u64 start, u64 len,
		   struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;

	if (!dp) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down");
		return -ENOTCONN;
	}
	return prbd_verify_start(dp, start, len, extack);
}

int prbd_dp_resync(struct prbd_resource *res, u32 peer, u64 start,
		   u64 len, struct netlink_ext_ack *extack)
{
	struct prbd_dp *dp = res->dp;

	if (!dp) {
		NL_SET_ERR_MSG_MOD(extack, "resource is down");
		return -ENOTCONN;
	}
	return prbd_rs_repair(dp, peer, start, len, extack);
}
