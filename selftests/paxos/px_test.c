// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the prbd Multi-Paxos core (kselftest harness).
 *
 * A tiny synchronous cluster (instant network and disks unless a test
 * holds them back) drives real prbd_paxos.c code through its public API.
 */
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "prbd_paxos.h"

#define N	5
#define QMAX	4096

static struct prbd_px nodes[N + 1];
static struct prbd_px_msg q[QMAX];
static int nq;
static u64 clk;
static int hold_disk[N + 1];	/* do not complete persists */
static u64 held_tok[N + 1];
static int cut[N + 1];		/* drop everything to/from this node */
static u64 mute[N + 1];		/* drop what it sends with commit >= this */
static u64 applied_n[N + 1];
static u64 applied_id[N + 1][256];
/* each node's disk: hard state + log entries by slot */
#define DSLOTS	1024
static struct prbd_px_hardstate dhs[N + 1];
static struct prbd_px_entry dlog[N + 1][DSLOTS];

static struct prbd_px_config mkcfg(u8 id, u16 voters)
{
	struct prbd_px_config c;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.voters = voters;
	c.hb_ms = 20;
	c.elect_ms = 100;
	c.drift_ppm = 20000;
	c.window = 8;
	c.max_inflight_bytes = 1 << 20;
	c.seed = 42;
	return c;
}

static void setup(int n)
{
	u16 voters = 0;
	int i;

	for (i = 1; i <= n; i++)
		voters |= (u16)(1u << i);
	memset(nodes, 0, sizeof(nodes));
	memset(hold_disk, 0, sizeof(hold_disk));
	memset(held_tok, 0, sizeof(held_tok));
	memset(cut, 0, sizeof(cut));
	memset(mute, 0, sizeof(mute));
	memset(applied_n, 0, sizeof(applied_n));
	memset(applied_id, 0, sizeof(applied_id));
	memset(dhs, 0, sizeof(dhs));
	memset(dlog, 0, sizeof(dlog));
	nq = 0;
	clk = 1000;
	for (i = 1; i <= n; i++) {
		struct prbd_px_config c = mkcfg((u8)i, voters);

		prbd_px_init(&nodes[i], &c);
	}
}

/* Collect one node's output; returns 1 if anything happened. */
static int drain(int i)
{
	struct prbd_px_ready rd;
	u64 s;
	u32 k;
	int any = 0;

	prbd_px_ready(&nodes[i], &rd);
	for (k = 0; k < rd.n_msgs; k++) {
		if (nq < QMAX && !cut[i] && !cut[rd.msgs[k].to] &&
		    !(mute[i] && rd.msgs[k].commit >= mute[i]))
			q[nq++] = rd.msgs[k];
		any = 1;
	}
	if (rd.apply_hi) {
		for (s = rd.apply_lo; s <= rd.apply_hi; s++) {
			const struct prbd_px_entry *e =
				prbd_px_entry_at(&nodes[i], s);

			if (e && e->kind == PRBD_PX_K_DATA &&
			    applied_n[i] < 256)
				applied_id[i][applied_n[i]++] = e->desc[0].id;
		}
		prbd_px_applied(&nodes[i], rd.apply_hi);
		any = 1;
	}
	if (rd.persist_token) {
		for (k = 0; k < rd.n_ents; k++)
			if (rd.ents[k].slot < DSLOTS)
				dlog[i][rd.ents[k].slot] = rd.ents[k];
		dhs[i] = rd.hs;
		if (hold_disk[i])
			held_tok[i] = rd.persist_token;
		else
			prbd_px_persisted(&nodes[i], rd.persist_token);
		any = 1;
	}
	return any;
}

static void run(int n)
{
	int i, busy = 1, rounds = 0;

	while (busy && rounds++ < 1000) {
		busy = 0;
		for (i = 1; i <= n; i++)
			busy |= drain(i);
		while (nq) {
			struct prbd_px_msg m = q[--nq];

			if (m.to >= 1 && m.to <= n && !cut[m.to])
				prbd_px_step(&nodes[m.to], &m);
			busy = 1;
		}
	}
}

static void advance(int n, u64 ms)
{
	u64 end = clk + ms;
	int i;

	while (clk < end) {
		clk += 5;
		for (i = 1; i <= n; i++)
			if (!cut[i])
				prbd_px_tick(&nodes[i], clk);
		run(n);
	}
}

static int leader_of(int n)
{
	int i;

	for (i = 1; i <= n; i++)
		if (nodes[i].role == PRBD_PX_LEADER && !cut[i])
			return i;
	return 0;
}

static struct prbd_px_desc mkdesc(u64 id)
{
	struct prbd_px_desc d = { .id = id, .sector = id % 8, .len = 4096,
				  .csum = (u32)id * 7u };

	return d;
}

TEST(lease_formula)
{
	/* E (1 - rho) / (1 + rho) - 1 */
	ASSERT_EQ(95, prbd_px_lease_ms(100, 20000));
	ASSERT_EQ(999, prbd_px_lease_ms(1000, 0));
	ASSERT_EQ(0, prbd_px_lease_ms(1, 500000));
}

TEST(init_is_quiet_follower)
{
	struct prbd_px_ready rd;

	setup(3);
	prbd_px_ready(&nodes[1], &rd);
	ASSERT_EQ(0, rd.n_msgs);
	ASSERT_EQ(0, rd.persist_token);
	ASSERT_EQ(PRBD_PX_FOLLOWER, rd.role);
	ASSERT_FALSE(prbd_px_may_read(&nodes[1], clk));
	ASSERT_EQ(PRBD_PX_ENOTLEADER, prbd_px_propose(&nodes[1],
						      &(struct prbd_px_desc){ .id = 1 }));
}

TEST(single_node_commits_after_persist)
{
	struct prbd_px_desc d = mkdesc(7);

	setup(1);
	advance(1, 400);
	ASSERT_EQ(PRBD_PX_LEADER, nodes[1].role);
	ASSERT_EQ(0, prbd_px_propose(&nodes[1], &d));
	run(1);
	ASSERT_EQ(1, applied_n[1]);
	ASSERT_EQ(7, applied_id[1][0]);
	ASSERT_TRUE(prbd_px_may_read(&nodes[1], clk));
	ASSERT_EQ(nodes[1].commit, prbd_px_read_index(&nodes[1], clk));
	/* a committed but unapplied slot blocks local reads */
	hold_disk[1] = 1;
	d = mkdesc(8);
	ASSERT_EQ(0, prbd_px_propose(&nodes[1], &d));
	run(1);
	prbd_px_persisted(&nodes[1], held_tok[1]);
	hold_disk[1] = 0;
	prbd_px_tick(&nodes[1], clk);	/* chosen, not yet durably */
	ASSERT_LT(nodes[1].applied, nodes[1].commit);
	ASSERT_FALSE(prbd_px_may_read(&nodes[1], clk));
	ASSERT_EQ(nodes[1].commit, prbd_px_read_index(&nodes[1], clk));
	run(1);
	ASSERT_EQ(2, applied_n[1]);
	ASSERT_TRUE(prbd_px_may_read(&nodes[1], clk));
}

TEST(three_nodes_elect_and_replicate)
{
	int l, i;
	u64 id;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	for (id = 1; id <= 20; id++) {
		struct prbd_px_desc d = mkdesc(id);

		ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
		run(3);
	}
	advance(3, 100);
	for (i = 1; i <= 3; i++) {
		struct prbd_px_status st;

		prbd_px_status(&nodes[i], &st);
		ASSERT_EQ(l, st.leader);
		ASSERT_EQ(nodes[l].commit, st.commit);
		ASSERT_EQ(20, applied_n[i]);
		ASSERT_EQ(0, memcmp(applied_id[i], applied_id[l],
				    sizeof(applied_id[i])));
	}
}

TEST(reply_waits_for_durability)
{
	struct prbd_px_msg m;
	struct prbd_px_ready rd;

	setup(3);
	memset(&m, 0, sizeof(m));
	m.type = PRBD_PX_M_P2A;
	m.from = 2;
	m.to = 1;
	m.ballot = (1 << 8) | 2;
	m.n_ent = 1;
	m.ent[0].slot = 1;
	m.ent[0].ballot = m.ballot;
	m.ent[0].kind = PRBD_PX_K_DATA;
	m.ent[0].n_desc = 1;
	m.ent[0].desc[0] = mkdesc(9);
	prbd_px_step(&nodes[1], &m);
	prbd_px_ready(&nodes[1], &rd);
	ASSERT_EQ(0, rd.n_msgs);		/* P2B is held */
	ASSERT_NE(0, rd.persist_token);
	ASSERT_EQ(1, rd.n_ents);
	ASSERT_EQ(m.ballot, rd.hs.promised);
	prbd_px_persisted(&nodes[1], rd.persist_token);
	prbd_px_ready(&nodes[1], &rd);
	ASSERT_EQ(1, rd.n_msgs);
	ASSERT_EQ(PRBD_PX_M_P2B, rd.msgs[0].type);
	ASSERT_EQ(1, rd.msgs[0].ent[0].slot);
}

TEST(malformed_message_is_dropped)
{
	struct prbd_px_msg m;
	struct prbd_px_ready rd;

	setup(3);
	memset(&m, 0, sizeof(m));
	m.type = PRBD_PX_M_P2A;
	m.from = 2;
	m.to = 1;
	m.ballot = (1 << 8) | 2;
	m.n_ent = 1;
	m.ent[0].slot = 1;
	m.ent[0].kind = PRBD_PX_K_DATA;
	m.ent[0].n_desc = PRBD_PX_BATCH + 1;
	prbd_px_step(&nodes[1], &m);
	prbd_px_ready(&nodes[1], &rd);
	ASSERT_EQ(0, rd.n_msgs);
	ASSERT_EQ(0, rd.persist_token);
	ASSERT_EQ(0, nodes[1].promised);
	m.ent[0].n_desc = 1;
	m.to = 3;	/* not for us */
	prbd_px_step(&nodes[1], &m);
	prbd_px_ready(&nodes[1], &rd);
	ASSERT_EQ(0, rd.persist_token);
}

TEST(lower_ballot_is_rejected)
{
	struct prbd_px_msg m;
	struct prbd_px_ready rd;

	setup(3);
	memset(&m, 0, sizeof(m));
	m.type = PRBD_PX_M_P2A;
	m.from = 2;
	m.to = 1;
	m.ballot = (5 << 8) | 2;
	prbd_px_step(&nodes[1], &m);
	prbd_px_ready(&nodes[1], &rd);
	prbd_px_persisted(&nodes[1], rd.persist_token);
	prbd_px_ready(&nodes[1], &rd);
	m.ballot = (4 << 8) | 3;
	m.from = 3;
	prbd_px_step(&nodes[1], &m);
	prbd_px_ready(&nodes[1], &rd);
	ASSERT_EQ(1, rd.n_msgs);
	ASSERT_EQ(PRBD_PX_F_NACK, rd.msgs[0].flags & PRBD_PX_F_NACK);
	ASSERT_EQ((5 << 8) | 2, rd.msgs[0].ballot);
}

TEST(new_leader_recovers_highest_ballot_value)
{
	struct prbd_px_msg m;
	struct prbd_px_ready rd;
	const struct prbd_px_entry *e;
	int i;

	setup(3);
	/*
	 * node 1 accepted id 11 at ballot 1.2, node 3 accepted id 22 at the
	 * higher ballot 2.3; node 2 is down, so the only quorum is {1, 3}
	 * and whoever leads must recover 22, not 11.
	 */
	for (i = 1; i <= 3; i += 2) {
		memset(&m, 0, sizeof(m));
		m.type = PRBD_PX_M_P2A;
		m.from = 2;
		m.to = (u8)i;
		m.ballot = i == 1 ? (1 << 8) | 2 : (2 << 8) | 3;
		m.n_ent = 1;
		m.ent[0].slot = 1;
		m.ent[0].kind = PRBD_PX_K_DATA;
		m.ent[0].n_desc = 1;
		m.ent[0].desc[0] = mkdesc(i == 1 ? 11 : 22);
		prbd_px_step(&nodes[i], &m);
		prbd_px_ready(&nodes[i], &rd);
		prbd_px_persisted(&nodes[i], rd.persist_token);
		prbd_px_ready(&nodes[i], &rd);
	}
	cut[2] = 1;
	advance(3, 800);
	ASSERT_NE(0, leader_of(3));
	for (i = 1; i <= 3; i += 2) {
		/* slot 1 may be truncated already: check what was applied */
		e = prbd_px_entry_at(&nodes[i], 1);
		if (e)
			ASSERT_TRUE(e->chosen);
		ASSERT_EQ(1, applied_n[i]);
		ASSERT_EQ(22, applied_id[i][0]);
	}
}

TEST(prevote_refused_while_leader_alive)
{
	int l, f;
	u64 b;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	b = nodes[l].ballot;
	f = l == 1 ? 2 : 1;
	/* the follower is cut off, times out, rejoins: it must not depose */
	cut[f] = 1;
	advance(3, 1000);
	cut[f] = 0;
	advance(3, 500);
	ASSERT_EQ(l, leader_of(3));
	ASSERT_EQ(b, nodes[l].ballot);
	ASSERT_EQ(b, nodes[f].promised);
}

TEST(check_quorum_steps_down_and_lease_expires)
{
	int l, i;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	ASSERT_TRUE(prbd_px_may_read(&nodes[l], clk));
	for (i = 1; i <= 3; i++)
		if (i != l)
			cut[i] = 1;
	/* the lease must lapse within L of the last acknowledged beat */
	advance(3, prbd_px_lease_ms(100, 20000) + 25);
	ASSERT_FALSE(prbd_px_may_read(&nodes[l], clk));
	ASSERT_EQ(PRBD_PX_EBUSY, prbd_px_propose(&nodes[l],
						 &(struct prbd_px_desc){ .id = 5 }));
	advance(3, 300);
	ASSERT_NE(PRBD_PX_LEADER, nodes[l].role);
}

TEST(leader_transfer)
{
	int l, t;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	t = l == 3 ? 1 : l + 1;
	ASSERT_EQ(0, prbd_px_transfer(&nodes[l], (u8)t));
	ASSERT_FALSE(prbd_px_may_read(&nodes[l], clk));
	run(3);
	advance(3, 100);
	ASSERT_EQ(t, leader_of(3));
}

TEST(config_change_rules)
{
	int l;
	u16 v;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	v = nodes[l].voters;
	/* two voters at once: refused */
	ASSERT_EQ(PRBD_PX_EINVAL, prbd_px_propose_conf(&nodes[l],
						       v | 0x30, 0));
	/* one learner: fine; a second change while in flight: busy */
	hold_disk[l] = 1;
	ASSERT_EQ(0, prbd_px_propose_conf(&nodes[l], v, 0x10));
	ASSERT_EQ(PRBD_PX_EBUSY, prbd_px_propose_conf(&nodes[l], v, 0x30));
	hold_disk[l] = 0;
	run(3);
	prbd_px_persisted(&nodes[l], held_tok[l]);
	advance(3, 200);
	ASSERT_EQ(0x10, nodes[l].learners);
	/* remove a voter: takes effect everywhere */
	l = leader_of(3);
	ASSERT_NE(0, l);
	ASSERT_EQ(0, prbd_px_propose_conf(&nodes[l], v & ~(1u << (l == 1 ? 2 : 1)),
					  0x10));
	advance(3, 300);
	ASSERT_EQ(2, __builtin_popcount(nodes[l].voters));
}

TEST(flow_control_bounds_pending)
{
	int l, i, rc = 0;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	hold_disk[l] = 1;	/* leader disk stalls: its window fills */
	for (i = 1; i < 1000 && rc == 0; i++) {
		struct prbd_px_desc d = mkdesc((u64)i);

		rc = prbd_px_propose(&nodes[l], &d);
		run(3);
	}
	ASSERT_EQ(PRBD_PX_EBUSY, rc);
	ASSERT_LE(i, PRBD_PX_PENDING_MAX + PRBD_PX_WINDOW_MAX *
		  PRBD_PX_BATCH + 2);
}

TEST(truncated_prefix_asks_for_resync)
{
	struct prbd_px_msg m;
	struct prbd_px_ready rd;
	int l;
	u64 id;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	cut[l == 1 ? 2 : 1] = 1;
	for (id = 1; id <= 400; id++) {
		struct prbd_px_desc d = mkdesc(id);

		prbd_px_propose(&nodes[l], &d);
		advance(3, 5);
	}
	ASSERT_GT(nodes[l].log_start, 2);
	memset(&m, 0, sizeof(m));
	m.type = PRBD_PX_M_LEARN_REQ;
	m.from = (u8)(l == 1 ? 2 : 1);
	m.to = (u8)l;
	m.slot = 1;
	prbd_px_step(&nodes[l], &m);
	prbd_px_ready(&nodes[l], &rd);
	ASSERT_GT(rd.n_msgs, 0);
	ASSERT_EQ(PRBD_PX_M_LEARN, rd.msgs[rd.n_msgs - 1].type);
	ASSERT_TRUE(rd.msgs[rd.n_msgs - 1].flags & PRBD_PX_F_RESYNC);
}

TEST(restart_restores_durable_state)
{
	struct prbd_px_config c;
	int l, f, k;
	u64 id, s, commit, applied;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	for (id = 1; id <= 10; id++) {
		struct prbd_px_desc d = mkdesc(id);

		ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
		run(3);
	}
	advance(3, 100);
	f = l == 1 ? 2 : 1;
	commit = nodes[f].commit;
	applied = nodes[f].applied;	/* the disk's own applied point */
	ASSERT_EQ(10, applied_n[f]);
	/* crash f: everything in memory is lost, the disk image stays */
	c = mkcfg((u8)f, nodes[f].voters);
	prbd_px_init(&nodes[f], &c);
	prbd_px_restore(&nodes[f], &dhs[f], applied);
	for (s = dhs[f].log_start; s < DSLOTS; s++)
		if (dlog[f][s].kind)
			prbd_px_restore_entry(&nodes[f], &dlog[f][s]);
	ASSERT_GE(nodes[f].commit, commit);
	ASSERT_EQ(dhs[f].promised, nodes[f].promised);
	/* it must refuse to promise for E after the restart */
	ASSERT_LT(nodes[f].elapsed, 100);
	for (id = 11; id <= 15; id++) {
		struct prbd_px_desc d = mkdesc(id);

		ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
		run(3);
	}
	advance(3, 200);
	ASSERT_EQ(15, applied_n[f]);
	for (k = 10; k < 15; k++)
		ASSERT_EQ(applied_id[l][k], applied_id[f][k]);
}

TEST(resync_then_install_catches_up)
{
	int l, f;
	u64 id;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	f = l == 1 ? 2 : 1;
	cut[f] = 1;
	for (id = 1; id <= 400; id++) {
		struct prbd_px_desc d = mkdesc(id);

		prbd_px_propose(&nodes[l], &d);
		advance(3, 5);
	}
	cut[f] = 0;
	advance(3, 300);
	ASSERT_TRUE(nodes[f].needs_resync);
	ASSERT_NE(PRBD_PX_LEADER, nodes[f].role);
	/* the embedder copies the leader's disk, then installs */
	prbd_px_install(&nodes[f], nodes[l].applied, nodes[l].cfg_slot,
			nodes[l].voters, nodes[l].learners);
	ASSERT_FALSE(nodes[f].needs_resync);
	for (id = 401; id <= 410; id++) {
		struct prbd_px_desc d = mkdesc(id);

		ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
		run(3);
	}
	advance(3, 200);
	ASSERT_EQ(nodes[l].commit, nodes[f].commit);
	ASSERT_EQ(nodes[l].applied, nodes[f].applied);
}

/* the two followers of leader l */
static void others(int l, int *a, int *b)
{
	*a = l == 1 ? 2 : 1;
	*b = 6 - l - *a;
}

TEST(novote_p2b_not_counted)
{
	struct prbd_px_status st;
	struct prbd_px_desc d;
	int l, a, b;
	u64 c0;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	others(l, &a, &b);
	prbd_px_set_novote(&nodes[a], true);
	advance(3, 30);		/* a heartbeat answer tells the leader */
	prbd_px_status(&nodes[l], &st);
	ASSERT_EQ(1u << a, st.novote_peers);
	ASSERT_EQ(1, st.can_commit);	/* l and b vote */
	/* only the non-voting follower answers: nothing commits */
	cut[b] = 1;
	c0 = nodes[l].commit;
	d = mkdesc(1);
	ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
	run(3);
	ASSERT_EQ(c0, nodes[l].commit);
	ASSERT_EQ(0, applied_n[l]);
	/* a accepted it, and the leader will not resend it to a */
	ASSERT_NE(NULL, prbd_px_entry_at(&nodes[a], c0 + 1));
	ASSERT_EQ(PRBD_PX_K_DATA, prbd_px_entry_at(&nodes[a], c0 + 1)->kind);
	ASSERT_TRUE(nodes[l].log[(c0 + 1) & (PRBD_PX_LOG_CAP - 1)].rcvd &
		    (1u << a));
	ASSERT_FALSE(nodes[l].log[(c0 + 1) & (PRBD_PX_LOG_CAP - 1)].acks &
		     (1u << a));
	/* the voting follower is back: it commits */
	cut[b] = 0;
	advance(3, 50);
	ASSERT_GT(nodes[l].commit, c0);
	ASSERT_EQ(1, applied_n[l]);
	/* a votes again: no other call needed, its acks count */
	prbd_px_set_novote(&nodes[a], false);
	advance(3, 30);
	prbd_px_status(&nodes[l], &st);
	ASSERT_EQ(0, st.novote_peers);
	cut[b] = 1;
	c0 = nodes[l].commit;
	d = mkdesc(2);
	ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
	run(3);
	ASSERT_GT(nodes[l].commit, c0);
	ASSERT_EQ(2, applied_n[l]);
}

TEST(novote_acked_while_novote_counts_once_voting)
{
	int l, a, b;
	u64 c0;
	struct prbd_px_desc d = mkdesc(3);

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	others(l, &a, &b);
	prbd_px_set_novote(&nodes[a], true);
	advance(3, 30);
	cut[b] = 1;
	c0 = nodes[l].commit;
	ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
	run(3);
	ASSERT_EQ(c0, nodes[l].commit);
	/* a turns voting: the leader resends and a's new ack commits */
	prbd_px_set_novote(&nodes[a], false);
	advance(3, 30);
	ASSERT_GT(nodes[l].commit, c0);
	ASSERT_EQ(1, applied_n[l]);
}

TEST(propose_ebusy_with_only_novote_peers)
{
	struct prbd_px_status st;
	struct prbd_px_desc d = mkdesc(1);
	int l, a, b;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	others(l, &a, &b);
	prbd_px_set_novote(&nodes[a], true);
	prbd_px_set_novote(&nodes[b], true);
	advance(3, 150);	/* > E, both heard all along */
	ASSERT_EQ(l, leader_of(3));	/* check-quorum counts them */
	ASSERT_EQ(PRBD_PX_EBUSY, prbd_px_propose(&nodes[l], &d));
	prbd_px_status(&nodes[l], &st);
	ASSERT_EQ(PRBD_PX_LEADER, st.role);
	ASSERT_EQ((1u << a) | (1u << b), st.novote_peers);
	ASSERT_EQ(0, st.can_commit);
	ASSERT_EQ(0, st.novote);
	prbd_px_status(&nodes[a], &st);
	ASSERT_EQ(1, st.novote);
	ASSERT_EQ(0, st.can_commit);
	ASSERT_EQ(0, st.novote_peers);	/* leader view only */
	/* the lease still holds: they acknowledge heartbeats */
	ASSERT_TRUE(prbd_px_may_read(&nodes[l], clk));
	prbd_px_set_novote(&nodes[b], false);
	advance(3, 30);
	prbd_px_status(&nodes[l], &st);
	ASSERT_EQ(1u << a, st.novote_peers);
	ASSERT_EQ(1, st.can_commit);
	ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
	run(3);
	ASSERT_EQ(1, applied_n[l]);
}

/* Take the next reply of node i to a message stepped into it, durable. */
static int reply_of(int i, struct prbd_px_msg *out)
{
	struct prbd_px_ready rd;
	int k;

	for (k = 0; k < 3; k++) {
		prbd_px_ready(&nodes[i], &rd);
		if (rd.n_msgs) {
			*out = rd.msgs[0];
			if (rd.persist_token)
				prbd_px_persisted(&nodes[i],
						  rd.persist_token);
			return 1;
		}
		if (!rd.persist_token)
			break;
		prbd_px_persisted(&nodes[i], rd.persist_token);
	}
	return 0;
}

static struct prbd_px_msg mkmsg(u8 type, u8 from, u8 to, u64 ballot, u64 slot)
{
	struct prbd_px_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = from;
	m.to = to;
	m.ballot = ballot;
	m.slot = slot;
	return m;
}

TEST(novote_node_promises_but_never_elects)
{
	struct prbd_px_status st;
	struct prbd_px_ready rd;
	struct prbd_px_msg m, r;
	int i;

	setup(3);
	prbd_px_set_novote(&nodes[1], true);
	for (i = 0; i < 10; i++) {	/* E passes: no longer sticky */
		clk += 20;
		prbd_px_tick(&nodes[1], clk);
	}
	ASSERT_GE(nodes[1].elapsed, 100);
	prbd_px_ready(&nodes[1], &rd);
	ASSERT_EQ(0, rd.n_msgs);	/* no pre-vote of its own */
	/* it promises like a voting node, durably, and reports honestly */
	m = mkmsg(PRBD_PX_M_P1A, 2, 1, (1 << 8) | 2, 1);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(1, reply_of(1, &r));
	ASSERT_EQ(PRBD_PX_M_P1B, r.type);
	ASSERT_EQ(0, r.flags & PRBD_PX_F_NACK);
	ASSERT_EQ(m.ballot, r.ballot);
	ASSERT_EQ(1, r.aux2);		/* its log start */
	ASSERT_EQ(m.ballot, nodes[1].promised);
	/* ... and refuses a lower ballot */
	m = mkmsg(PRBD_PX_M_P1A, 3, 1, (0 << 8) | 3, 1);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(1, reply_of(1, &r));
	ASSERT_TRUE(r.flags & PRBD_PX_F_NACK);
	/* pre-vote: granted even to a candidate whose commit is behind */
	prbd_px_install(&nodes[1], 10, 0, nodes[1].voters, 0);
	ASSERT_EQ(10, nodes[1].commit);
	for (i = 0; i < 10; i++) {
		clk += 20;
		prbd_px_tick(&nodes[1], clk);
	}
	m = mkmsg(PRBD_PX_M_PREVOTE, 3, 1, (5 << 8) | 3, 0);
	m.commit = 2;
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(1, reply_of(1, &r));
	ASSERT_EQ(PRBD_PX_M_PREVOTE_R, r.type);
	ASSERT_EQ(0, r.flags & PRBD_PX_F_NACK);
	/* a voting node would refuse it */
	prbd_px_set_novote(&nodes[1], false);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(1, reply_of(1, &r));
	ASSERT_TRUE(r.flags & PRBD_PX_F_NACK);
	/* needs_resync alone makes it non-voting as well; it still promises */
	m = mkmsg(PRBD_PX_M_LEARN, 2, 1, 0, 11);
	m.flags = PRBD_PX_F_RESYNC;
	m.aux2 = 20;
	prbd_px_step(&nodes[1], &m);
	prbd_px_status(&nodes[1], &st);
	ASSERT_EQ(1, st.needs_resync);
	ASSERT_EQ(1, st.novote);
	m = mkmsg(PRBD_PX_M_P1A, 3, 1, (6 << 8) | 3, 11);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(1, reply_of(1, &r));
	ASSERT_EQ(0, r.flags & PRBD_PX_F_NACK);
	ASSERT_EQ(11, r.aux2);
	/* alone and non-voting: no pre-vote, no election, ever */
	prbd_px_set_novote(&nodes[1], true);
	cut[2] = cut[3] = 1;
	advance(3, 1000);
	ASSERT_EQ(PRBD_PX_FOLLOWER, nodes[1].role);
	ASSERT_EQ(0, nodes[1].ballot);
}

/*
 * The leader dies while a follower is being resynced (non-voting): the
 * other follower is elected with its promise, and writes resume as soon
 * as the resynced node votes again.
 */
TEST(novote_promise_elects_after_leader_death)
{
	struct prbd_px_status st;
	struct prbd_px_desc d = mkdesc(1);
	int l, a, b, n;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	others(l, &a, &b);
	prbd_px_set_novote(&nodes[b], true);
	advance(3, 30);
	cut[l] = 1;			/* the leader dies */
	advance(3, 1000);
	n = leader_of(3);
	ASSERT_EQ(a, n);		/* with b's promise */
	ASSERT_TRUE(nodes[n].peer[b].promised);
	ASSERT_EQ(PRBD_PX_FOLLOWER, nodes[b].role);
	prbd_px_status(&nodes[n], &st);
	ASSERT_EQ(0, st.can_commit);	/* b does not vote yet */
	ASSERT_EQ(PRBD_PX_EBUSY, prbd_px_propose(&nodes[n], &d));
	prbd_px_set_novote(&nodes[b], false);	/* its copy is complete */
	advance(3, 30);
	prbd_px_status(&nodes[n], &st);
	ASSERT_EQ(1, st.can_commit);
	ASSERT_EQ(0, prbd_px_propose(&nodes[n], &d));
	advance(3, 30);
	ASSERT_EQ(1, applied_n[n]);
	ASSERT_EQ(1, applied_n[b]);
}

/*
 * Four voters; the leader l removes r with a configuration entry at slot
 * S, which every node accepts and l alone learns chosen (what it sends
 * afterwards is lost), then l dies.  The embedder of r, told REMOVED,
 * calls prbd_px_set_nocampaign() (prbd.ko) or, as before issue 15's fix,
 * prbd_px_set_novote().  Returns S; *pl and *pr get l and r.
 */
static u64 removal_chosen_at_dead_leader(bool nocampaign, int *pl, int *pr)
{
	int l, r, i;
	u64 s;

	setup(4);
	advance(4, 500);
	l = leader_of(4);
	if (!l)
		return 0;
	r = l == 4 ? 3 : 4;
	s = nodes[l].next_slot;
	mute[l] = s;
	if (prbd_px_propose_conf(&nodes[l], nodes[l].voters & ~(1u << r), 0))
		return 0;
	run(4);
	if (nodes[l].cfg_slot != s)
		return 0;
	for (i = 1; i <= 4; i++)
		if (i != l && (nodes[i].commit >= s ||
			       prbd_px_entry_at(&nodes[i], s)->kind !=
			       PRBD_PX_K_CONFIG))
			return 0;
	if (nocampaign)
		prbd_px_set_nocampaign(&nodes[r], true);
	else
		prbd_px_set_novote(&nodes[r], true);
	cut[l] = 1;
	*pl = l;
	*pr = r;
	return s;
}

/* issue 15: the removed node's vote decides its removal again */
TEST(removed_node_votes_until_its_removal_is_decided)
{
	struct prbd_px_status st;
	struct prbd_px_desc d = mkdesc(1);
	int l, r, n, i, t;
	u64 s = removal_chosen_at_dead_leader(true, &l, &r);

	ASSERT_NE(0, s);
	for (t = 0; t < 40; t++) {
		advance(4, 50);
		ASSERT_EQ(PRBD_PX_FOLLOWER, nodes[r].role);	/* never runs */
	}
	n = leader_of(4);
	ASSERT_NE(0, n);
	ASSERT_NE(r, n);
	ASSERT_EQ(s, nodes[n].cfg_slot);
	ASSERT_EQ(0, nodes[n].voters & (1u << r));
	for (i = 1; i <= 4; i++)
		if (i != l && i != r)
			ASSERT_EQ(s, nodes[i].cfg_slot);
	prbd_px_status(&nodes[r], &st);
	ASSERT_EQ(1, st.nocampaign);
	ASSERT_EQ(0, st.novote);
	/* the new configuration (2 of 3 live) takes writes */
	ASSERT_EQ(0, prbd_px_propose(&nodes[n], &d));
	advance(4, 50);
	ASSERT_EQ(1, applied_n[n]);
}

/* ... which a non-voting removed node would withhold for good */
TEST(removed_node_novote_stalls_its_removal)
{
	int l, r, i;
	u64 s = removal_chosen_at_dead_leader(false, &l, &r);

	ASSERT_NE(0, s);
	advance(4, 2000);
	for (i = 1; i <= 4; i++)
		if (i != l)
			ASSERT_GT(s, nodes[i].cfg_slot);
}

/* The disk of node i is wiped: fresh state, amnesiac from its start. */
static void wipe(int i)
{
	struct prbd_px_config c = mkcfg((u8)i, nodes[i].voters);

	prbd_px_init(&nodes[i], &c);
	memset(&dhs[i], 0, sizeof(dhs[i]));
	memset(dlog[i], 0, sizeof(dlog[i]));
	applied_n[i] = 0;
	prbd_px_set_nopromise(&nodes[i], true);
}

/* 2E (1 + rho) / (1 - rho) + 3E of the test configuration, and a tick */
#define QUIET_MS	(2 * 100 * 1020000 / 980000 + 300 + 5)

TEST(nopromise_quiet_then_flagged_promise)
{
	const struct prbd_px_entry *e;
	struct prbd_px_status st;
	struct prbd_px_msg m, r;

	setup(3);
	wipe(1);
	prbd_px_status(&nodes[1], &st);
	ASSERT_EQ(1, st.nopromise);
	/* quiet: whoever counted on its lost promises must be gone first */
	m = mkmsg(PRBD_PX_M_P2A, 2, 1, (7 << 8) | 2, 0);
	m.n_ent = 1;
	m.ent[0].slot = 5;
	m.ent[0].kind = PRBD_PX_K_DATA;
	m.ent[0].n_desc = 1;
	m.ent[0].desc[0] = mkdesc(5);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(0, reply_of(1, &r));
	ASSERT_EQ(0, nodes[1].promised);
	e = prbd_px_entry_at(&nodes[1], 5);
	ASSERT_TRUE(!e || !e->kind);	/* nothing accepted */
	m = mkmsg(PRBD_PX_M_P1A, 2, 1, (7 << 8) | 2, 5);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(0, reply_of(1, &r));
	m = mkmsg(PRBD_PX_M_HB, 2, 1, (7 << 8) | 2, 4);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(0, reply_of(1, &r));
	/* after the quiet: it promises, flagged, whatever the first slot */
	cut[2] = cut[3] = 1;
	advance(3, QUIET_MS);
	m = mkmsg(PRBD_PX_M_P1A, 2, 1, (7 << 8) | 2, 5);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(1, reply_of(1, &r));
	ASSERT_EQ(PRBD_PX_M_P1B, r.type);
	ASSERT_EQ(0, r.flags & PRBD_PX_F_NACK);
	ASSERT_TRUE(r.flags & PRBD_PX_F_NOPROMISE);
	ASSERT_EQ(m.ballot, nodes[1].promised);
	advance(3, 120);	/* its own candidacy ended: E, not sticky */
	m = mkmsg(PRBD_PX_M_P1A, 3, 1, (8 << 8) | 3, 1);
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(1, reply_of(1, &r));
	ASSERT_EQ(0, r.flags & PRBD_PX_F_NACK);
	ASSERT_TRUE(r.flags & PRBD_PX_F_NOPROMISE);
}

/*
 * A wiped follower, amnesiac, and the leader dies: one voting node and one
 * amnesiac promise are no majority, nobody is elected until a node that
 * remembers is back.
 */
TEST(nopromise_lone_amnesiac_promise_elects_nobody)
{
	u64 id;
	int l, a, b, n;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	others(l, &a, &b);
	for (id = 1; id <= 5; id++) {
		struct prbd_px_desc d = mkdesc(id);

		ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
		run(3);
	}
	wipe(b);
	cut[l] = 1;
	advance(3, 2000);
	ASSERT_EQ(0, leader_of(3));
	ASSERT_TRUE(nodes[b].nopromise);
	/* b did promise a's ballots, flagged, and that is not enough */
	ASSERT_EQ(a, nodes[b].promised & 0xff);
	cut[l] = 0;
	advance(3, 1500);
	n = leader_of(3);
	ASSERT_NE(0, n);
	ASSERT_NE(b, n);
	/* what b forgot is still there */
	ASSERT_EQ(5, applied_n[n]);
}

/* A new group: every disk fresh, every node amnesiac. */
TEST(nopromise_new_group_elects_and_clears)
{
	struct prbd_px_status st;
	int i, l;
	u64 id;

	setup(3);
	for (i = 1; i <= 3; i++)
		prbd_px_set_nopromise(&nodes[i], true);
	cut[3] = 1;			/* even with one node missing */
	advance(3, 500 + QUIET_MS);
	l = leader_of(3);
	ASSERT_NE(0, l);		/* two amnesiac promises */
	for (id = 1; id <= 3; id++) {
		struct prbd_px_desc d = mkdesc(id);

		ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
		run(3);
	}
	advance(3, 100);
	for (i = 1; i <= 2; i++) {
		prbd_px_status(&nodes[i], &st);
		ASSERT_EQ(0, st.nopromise);	/* its first slots are known */
		ASSERT_EQ(3, applied_n[i]);
	}
	prbd_px_status(&nodes[3], &st);
	ASSERT_EQ(1, st.nopromise);
	cut[3] = 0;		/* its clock ran not while cut: quiet now */
	advance(3, 200 + QUIET_MS);
	prbd_px_status(&nodes[3], &st);
	ASSERT_EQ(0, st.nopromise);
	ASSERT_EQ(3, applied_n[3]);
}

/*
 * Cleared by the commit: a wiped node catches up from the log and stops
 * being amnesiac once every slot the leader had proposed when it first
 * heard from it is chosen and applied.
 */
TEST(nopromise_cleared_by_commit_reaching_bound)
{
	struct prbd_px_status st;
	struct prbd_px_msg m;
	int l, a;
	u64 id, bound;

	setup(5);
	cut[5] = 1;		/* the log is kept: node 5 applies nothing */
	advance(5, 500);
	l = leader_of(5);
	ASSERT_NE(0, l);
	a = l == 1 ? 2 : 1;
	for (id = 1; id <= 5; id++) {
		struct prbd_px_desc d = mkdesc(id);

		ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
		run(5);
	}
	ASSERT_EQ(1, nodes[l].log_start);
	wipe(a);
	cut[a] = 1;		/* it hears nobody until we tell it the bound */
	for (id = 0; id < QUIET_MS; id += 5) {
		advance(5, 5);
		prbd_px_tick(&nodes[a], clk);
	}
	run(5);
	cut[a] = 0;
	ASSERT_TRUE(nodes[a].nopromise);
	ASSERT_FALSE(nodes[a].np_bound_set);
	ASSERT_EQ(l, leader_of(5));
	/* the bound: all the leader proposed; not known chosen yet here */
	hold_disk[a] = 1;
	bound = nodes[l].next_slot - 1;
	m = mkmsg(PRBD_PX_M_HB, (u8)l, (u8)a, nodes[l].ballot, bound);
	prbd_px_step(&nodes[a], &m);
	ASSERT_TRUE(nodes[a].np_bound_set);
	ASSERT_EQ(bound, nodes[a].np_bound);
	run(5);
	prbd_px_status(&nodes[a], &st);
	ASSERT_EQ(1, st.nopromise);
	hold_disk[a] = 0;
	prbd_px_persisted(&nodes[a], held_tok[a]);
	advance(5, 200);
	prbd_px_status(&nodes[a], &st);
	ASSERT_GE(nodes[a].applied, bound);
	ASSERT_EQ(0, st.nopromise);
	ASSERT_EQ(5, applied_n[a]);
}

/*
 * Cleared by an install, but only one at or past the bound: slots above
 * the install point may hold what it accepted before the wipe.
 */
TEST(nopromise_cleared_by_install_past_bound)
{
	struct prbd_px_status st;
	struct prbd_px_ready rd;
	struct prbd_px_msg m;

	setup(3);
	wipe(1);
	cut[2] = cut[3] = 1;
	advance(3, QUIET_MS);
	m = mkmsg(PRBD_PX_M_HB, 2, 1, (3 << 8) | 2, 50);
	m.commit = 45;
	prbd_px_step(&nodes[1], &m);
	ASSERT_EQ(50, nodes[1].np_bound);
	prbd_px_install(&nodes[1], 40, 0, nodes[1].voters, 0);
	prbd_px_ready(&nodes[1], &rd);
	prbd_px_status(&nodes[1], &st);
	ASSERT_EQ(40, st.commit);
	ASSERT_EQ(1, st.nopromise);	/* 41..50 may be what it lost */
	prbd_px_install(&nodes[1], 50, 0, nodes[1].voters, 0);
	prbd_px_ready(&nodes[1], &rd);
	prbd_px_status(&nodes[1], &st);
	ASSERT_EQ(0, st.nopromise);
}

TEST(novote_leader_steps_down_and_stays_out)
{
	int l, i;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	prbd_px_set_novote(&nodes[l], true);
	ASSERT_EQ(PRBD_PX_FOLLOWER, nodes[l].role);
	ASSERT_FALSE(prbd_px_may_read(&nodes[l], clk));
	for (i = 0; i < 10; i++) {
		advance(3, 100);
		ASSERT_NE(PRBD_PX_LEADER, nodes[l].role);
		ASSERT_NE(PRBD_PX_CANDIDATE, nodes[l].role);
	}
	ASSERT_NE(0, leader_of(3));
	ASSERT_NE(l, leader_of(3));
}

TEST(install_while_novote_then_clear)
{
	struct prbd_px_status st;
	int l, f;
	u64 id;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	f = l == 1 ? 2 : 1;
	cut[f] = 1;
	for (id = 1; id <= 400; id++) {
		struct prbd_px_desc d = mkdesc(id);

		prbd_px_propose(&nodes[l], &d);
		advance(3, 5);
	}
	cut[f] = 0;
	advance(3, 300);
	ASSERT_TRUE(nodes[f].needs_resync);
	/* bulk resync starts: non-voting, install at the source's applied */
	prbd_px_set_novote(&nodes[f], true);
	prbd_px_install(&nodes[f], nodes[l].applied, nodes[l].cfg_slot,
			nodes[l].voters, nodes[l].learners);
	prbd_px_status(&nodes[f], &st);
	ASSERT_EQ(0, st.needs_resync);
	ASSERT_EQ(1, st.novote);
	/* it keeps up with new writes while the copy runs */
	for (id = 401; id <= 410; id++) {
		struct prbd_px_desc d = mkdesc(id);

		ASSERT_EQ(0, prbd_px_propose(&nodes[l], &d));
		run(3);
	}
	advance(3, 200);
	ASSERT_EQ(nodes[l].commit, nodes[f].commit);
	ASSERT_EQ(nodes[l].applied, nodes[f].applied);
	prbd_px_status(&nodes[l], &st);
	ASSERT_EQ(1u << f, st.novote_peers);
	/* the copy is complete: clearing the flag is all it takes */
	prbd_px_set_novote(&nodes[f], false);
	advance(3, 30);
	prbd_px_status(&nodes[l], &st);
	ASSERT_EQ(0, st.novote_peers);
	ASSERT_EQ(1, st.can_commit);
}

/*
 * Flush mode, an orphaned epoch: a node holds an epoch of a lossy
 * election nobody followed (numbered above the group's), while the group
 * went on at its own epoch under a higher ballot.  Ranks decide: the
 * orphan resets to the group's epoch, and its messages, which carry the
 * larger epoch number, make nobody in the group reset to it.
 */
TEST(orphaned_epoch_yields_to_higher_rank)
{
	struct prbd_px_config c;
	struct prbd_px_hardstate hs;
	struct prbd_px_desc d;
	int l, l2, o, i;
	u64 id, s, n;

	setup(3);
	advance(3, 500);
	l = leader_of(3);
	ASSERT_NE(0, l);
	/* a second election: the group's ballot is of round 2 or more */
	cut[l] = 1;
	advance(3, 600);
	cut[l] = 0;
	advance(3, 300);
	l2 = leader_of(3);
	ASSERT_NE(0, l2);
	ASSERT_GE(nodes[l2].ballot >> 8, 2);
	for (id = 1; id <= 4; id++) {
		d = mkdesc(id);
		ASSERT_EQ(0, prbd_px_propose(&nodes[l2], &d));
		run(3);
	}
	advance(3, 100);
	/* every member ranks its epoch by the leader it follows */
	for (i = 1; i <= 3; i++)
		ASSERT_EQ(nodes[l2].ballot, dhs[i].erank);
	/* o restarts holding an orphaned epoch of round 1 */
	o = l2 == 1 ? 2 : 1;
	hs = dhs[o];
	hs.epoch = (1 << 8) | (u64)o;
	hs.erank = hs.epoch;
	ASSERT_GT(hs.epoch, 0);
	ASSERT_LT(hs.erank, nodes[l2].ballot);
	c = mkcfg((u8)o, nodes[o].voters);
	prbd_px_init(&nodes[o], &c);
	prbd_px_restore(&nodes[o], &hs, nodes[o].applied);
	for (s = hs.log_start; s < DSLOTS; s++)
		if (dlog[o][s].kind)
			prbd_px_restore_entry(&nodes[o], &dlog[o][s]);
	advance(3, 200);
	/* the orphan resets to the group's epoch ... */
	ASSERT_EQ(1, nodes[o].needs_resync);
	ASSERT_EQ(0, nodes[o].reset_epoch);
	ASSERT_EQ(nodes[l2].ballot, nodes[o].reset_rank);
	/* ... and nobody in the group resets to the orphan's */
	for (i = 1; i <= 3; i++) {
		if (i == o)
			continue;
		ASSERT_EQ(0, nodes[i].reset_rank);
		ASSERT_EQ(0, nodes[i].epoch);
	}
	ASSERT_EQ(l2, leader_of(3));
	/* the group still commits */
	d = mkdesc(5);
	n = applied_n[l2];
	ASSERT_EQ(0, prbd_px_propose(&nodes[l2], &d));
	advance(3, 100);
	ASSERT_EQ(n + 1, applied_n[l2]);
}

TEST_HARNESS_MAIN
