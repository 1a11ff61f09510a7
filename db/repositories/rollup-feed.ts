// What changed in the rollups since a cursor (issue 14, usage14): the read side of usage/closed-hours-cache.ts.
// Rollup rows change in two ways only: an inserted event (every insert into `events` goes through
// db/repositories/events.ts, and the ingest statement writes the event and its rollup rows together), and a
// rewrite without new events (rollup backfill, quarantine), which appends a row to `rollup_rewrites`
// (recordRollupRewrite, in the rewriting transaction). The ingest path is not touched: this only READS.
//
// pollRollupFeed(db, afterId) — ONE statement, one snapshot: the snapshot's xmin / xmax (pg_current_snapshot is
// the statement's snapshot in READ COMMITTED), per subscription the earliest timestamp of the events with
// id > afterId visible now, the largest such id, and the number of rewrites ever recorded. The scan uses each
// partition's primary key (id, "timestamp") from afterId on, so it reads the events inserted since the cursor
// (all subscriptions: this is a per-process change feed, not a per-subscription query; no organization scope,
// because subscription ids are globally unique UUIDs and nothing of an organization leaves the process).
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface RollupFeedPoll {
  /** The snapshot's xmin and xmax (xid8 as bigint): every xid < xmin finished; every xid >= xmax not yet started. */
  xmin: bigint;
  xmax: bigint;
  /** The largest event id visible with id > afterId (afterId when none). */
  maxId: bigint;
  /** Per subscription, the earliest and latest event timestamps (ms) among the events with id > afterId. */
  timestampsBySubscription: Map<string, { earliestMs: number; latestMs: number }>;
  /** rollup_rewrites rows ever recorded (append-only). */
  rewrites: bigint;
}

const POLL_SQL = `WITH fresh AS (
    SELECT id, subscription_id, "timestamp" FROM events WHERE id > ?::bigint
  ), per_sub AS (
    SELECT subscription_id, min("timestamp") AS t, max("timestamp") AS u FROM fresh WHERE subscription_id IS NOT NULL GROUP BY subscription_id
  )
  SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
         pg_snapshot_xmax(pg_current_snapshot())::text AS xmax,
         (SELECT max(id) FROM fresh)::text AS max_id,
         (SELECT count(*) FROM rollup_rewrites)::text AS rewrites,
         (SELECT coalesce(json_agg(json_build_array(subscription_id, (extract(epoch FROM t) * 1000)::float8, (extract(epoch FROM u) * 1000)::float8)), '[]'::json) FROM per_sub) AS subs`;

/** The feed since `afterId` (see the header). */
export async function pollRollupFeed(db: Db, afterId: bigint): Promise<RollupFeedPoll> {
  const r = (await db.raw(POLL_SQL, [afterId.toString()])) as {
    rows: { xmin: string; xmax: string; max_id: string | null; rewrites: string; subs: [string, number, number][] | string }[];
  };
  const row = r.rows[0]!;
  const subs = typeof row.subs === 'string' ? (JSON.parse(row.subs) as [string, number, number][]) : row.subs;
  return {
    xmin: BigInt(row.xmin),
    xmax: BigInt(row.xmax),
    maxId: row.max_id === null ? afterId : BigInt(row.max_id),
    // Floor / ceil to the millisecond: the range only ever widens (an entry is dropped when in doubt).
    timestampsBySubscription: new Map(subs.map(([s, t, u]) => [s, { earliestMs: Math.floor(t), latestMs: Math.ceil(u) }])),
    rewrites: BigInt(row.rewrites),
  };
}

/** The largest event id (-1 when there is none), and the snapshot's xmax, for a feed's first cursor. */
export async function feedStart(db: Db): Promise<{ maxId: bigint; xmax: bigint }> {
  const r = (await db.raw(`SELECT coalesce(max(id), -1)::text AS max_id, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax FROM events`)) as {
    rows: { max_id: string; xmax: string }[];
  };
  return { maxId: BigInt(r.rows[0]!.max_id), xmax: BigInt(r.rows[0]!.xmax) };
}

/** Records, inside the transaction that rewrites a subscription's rollup rows, that it did (see the header). */
export async function recordRollupRewrite(trx: Knex.Transaction, organizationId: string, subscriptionId: string): Promise<void> {
  await trx('rollup_rewrites').insert({ organization_id: organizationId, subscription_id: subscriptionId });
}
