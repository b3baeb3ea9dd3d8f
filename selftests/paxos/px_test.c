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
		if (nq < QMAX && !cut[i] && !cut[rd.msgs[k].to])
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

TEST_HARNESS_MAIN
