// A per-process cache of the rollup totals of a subscription's CLOSED hours, for current usage (issue 14,
// usage14). Without it every GET current_usage summed the period's rollup rows: 744 hours × 21 dims = 15,624
// rows for a 31-day period with 20 filter/group combinations (HashAggregate over jsonb dims: ~40 ms on a quiet
// core here, ~110 ms at load average 12), whatever the event count. With it a request sums the rows of the open
// hours only (the previous, the current and the next hour) and takes the other hours' totals from memory.
//
// Exact, across any number of API processes, under late events — how:
// - Rollup rows change only through an inserted event (the ingest statement writes the event and its rollup rows
//   in one statement) or a recorded rewrite (backfill, quarantine: rollup_rewrites). Every process follows both
//   with ONE feed query (db/repositories/rollup-feed.ts pollRollupFeed): the events with id > cursor, grouped by
//   subscription with their earliest and latest timestamps. An entry of a subscription whose cached range holds
//   such a timestamp is dropped (a late event); a new rewrite drops every entry. Events of the open window
//   (the normal case) invalidate nothing.
// - Every request waits for a feed poll that STARTED after the request did (polls are single-flight and run
//   back to back while requests arrive), so whatever was committed before the request is seen: read-your-writes
//   for a client that posted a late event and then reads its usage, and for a write through another process.
// - Event ids come from one sequence but commit out of order. The cursor only moves past an id once every
//   transaction that could still commit a smaller id has finished: each poll records (largest id seen, the
//   snapshot's xmax); a later poll whose snapshot xmin ≥ that xmax proves every transaction of that time ended,
//   so every event with an id up to that largest id is visible (or will never be), and the cursor moves there.
//   Ids between the cursor and the newest id are re-read by the next polls (invalidating twice is harmless).
//   This relies on a writer having its transaction id before it draws an event id: every insert path draws ids in
//   its `src` CTE behind the EVENT_ID_XID_FIRST qual (db/repositories/events.ts), which assigns the xid first.
// - A fill (a cached range's query) is stored only if no poll saw an event of its subscription inside its range
//   (nor a rewrite) while it ran, so a poll that ran during the fill cannot be lost. Until the first cursor is
//   proven safe (the first poll after start-up whose xmin ≥ the start xmax), nothing is stored.
// - Cached ranges: every hour of the period outside the open window [previous hour, next hour) of the wall
//   clock — the hours before it, and the hours after it (events stamped ahead of time, as bench:usage loads them).
//   Correctness does not depend on the window or on the clock (an event anywhere in a cached range drops it); the
//   window only keeps the normal flow of events (stamped now) from dropping entries.
// - Bounded: an LRU of `maxEntries` (default 10,000 subscriptions × metric sets), each a few dozen rows.
// Reads mix two snapshots (cached closed hours as of a poll after the request began, open hours as of their own
// query), like the uncached reader's rollup and edge-event queries.
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { rollupTotalsOfHours, type RollupTotalsRow } from '../db/repositories/rollups';
import { feedStart, pollRollupFeed } from '../db/repositories/rollup-feed';
import { rollupUsage, type TotalsOfHours } from './rollup-usage';
import type { UsageSource } from './period-usage';

type Db = Knex | Knex.Transaction;

const HOUR_MS = 3_600_000;


interface Entry {
  subscriptionId: string;
  /** The cached hours [loMs, hiMs). */
  loMs: number;
  hiMs: number;
  rows: RollupTotalsRow[];
}

/** A fill running now: dropped (not stored) when a poll sees an event of its subscription inside its range. */
interface Fill {
  subscriptionId: string;
  loMs: number;
  hiMs: number;
  invalidated: boolean;
}

export interface ClosedHoursCacheStats {
  hits: number;
  fills: number;
  invalidations: number;
  polls: number;
}

export class ClosedHoursCache {
  private readonly entries: LRUCache<string, Entry>;
  /** Keys of the entries of each subscription (for invalidation). */
  private readonly keysBySubscription = new Map<string, Set<string>>();
  private readonly fills = new Set<Fill>();
  private cursor: bigint | null = null;
  private readonly pending: { maxId: bigint; xmax: bigint }[] = [];
  private safe = false;
  private rewrites: bigint | null = null;
  private inFlight: { startedAt: number; done: Promise<void> } | null = null;
  private queued: Promise<void> | null = null;
  readonly stats: ClosedHoursCacheStats = { hits: 0, fills: 0, invalidations: 0, polls: 0 };

  constructor(
    private readonly db: Knex,
    private readonly options: { maxEntries?: number; now?: () => number } = {},
  ) {
    this.entries = new LRUCache<string, Entry>({
      max: options.maxEntries ?? 10_000,
      dispose: (e, key) => this.keysBySubscription.get(e.subscriptionId)?.delete(key),
    });
  }

  /** The rollup usage source (usage/period-usage.ts rollupUsageSource) reading closed hours through this cache. */
  readonly usageSource: UsageSource = (db, scope, charges, period) =>
    rollupUsage(db, scope.organizationId, scope.subscriptionId, charges, period, this.totalsOfHours);

  /**
   * rollupTotalsOfHours with every hour outside the open window [previous hour, next hour) of the wall clock from
   * the cache (the hours before it and, for events stamped ahead, after it); the window's hours are read per call.
   */
  readonly totalsOfHours: TotalsOfHours = async (db, organizationId, subscriptionId, codes, fromHour, toHour) => {
    if (codes.length === 0 || fromHour >= toHour) return rollupTotalsOfHours(db, organizationId, subscriptionId, codes, fromHour, toHour);
    const nowHour = Math.floor((this.options.now ?? Date.now)() / HOUR_MS) * HOUR_MS;
    const from = fromHour.getTime();
    const to = toHour.getTime();
    const openLo = Math.min(to, Math.max(from, nowHour - HOUR_MS));
    const openHi = Math.max(openLo, Math.min(to, nowHour + HOUR_MS));
    await this.fresh();
    const codesKey = [...codes].sort().join(',');
    const parts = await Promise.all([
      openLo > from ? this.cachedRows(db, organizationId, subscriptionId, codes, codesKey, from, openLo) : [],
      openHi > openLo ? rollupTotalsOfHours(db, organizationId, subscriptionId, codes, new Date(openLo), new Date(openHi)) : [],
      to > openHi ? this.cachedRows(db, organizationId, subscriptionId, codes, codesKey, openHi, to) : [],
    ]);
    return parts.flat();
  };

  private async cachedRows(db: Db, org: string, sub: string, codes: string[], codesKey: string, loMs: number, hiMs: number): Promise<RollupTotalsRow[]> {
    const key = `${org}|${sub}|${codesKey}|${loMs}|${hiMs}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.stats.hits += 1;
      return hit.rows;
    }
    const fill: Fill = { subscriptionId: sub, loMs, hiMs, invalidated: !this.safe };
    this.fills.add(fill);
    try {
      const rows = await rollupTotalsOfHours(db, org, sub, codes, new Date(loMs), new Date(hiMs));
      if (!fill.invalidated) {
        this.entries.set(key, { subscriptionId: sub, loMs, hiMs, rows });
        let keys = this.keysBySubscription.get(sub);
        if (!keys) this.keysBySubscription.set(sub, (keys = new Set()));
        keys.add(key);
        this.stats.fills += 1;
      }
      return rows;
    } finally {
      this.fills.delete(fill);
    }
  }

  /** Resolves after a feed poll that started after this call (single-flight; see the header). */
  fresh(): Promise<void> {
    const calledAt = performance.now();
    const cur = this.inFlight;
    if (cur && cur.startedAt >= calledAt) return cur.done;
    if (!cur) return this.startPoll();
    // A poll is running that started before this call: the next one (shared by every caller waiting now).
    if (!this.queued) {
      this.queued = cur.done.then(
        () => this.startPollAfterQueue(),
        () => this.startPollAfterQueue(),
      );
    }
    return this.queued;
  }

  private startPollAfterQueue(): Promise<void> {
    this.queued = null;
    return this.startPoll();
  }

  private startPoll(): Promise<void> {
    const startedAt = performance.now();
    const done = this.poll().finally(() => {
      if (this.inFlight?.done === done) this.inFlight = null;
    });
    this.inFlight = { startedAt, done };
    return done;
  }

  private async poll(): Promise<void> {
    this.stats.polls += 1;
    if (this.cursor === null) {
      const start = await feedStart(this.db);
      this.cursor = start.maxId;
      this.pending.push({ maxId: start.maxId, xmax: start.xmax });
    }
    const p = await pollRollupFeed(this.db, this.cursor);
    if (this.rewrites !== null && p.rewrites !== this.rewrites) this.clear();
    this.rewrites = p.rewrites;
    for (const [sub, t] of p.timestampsBySubscription) this.invalidate(sub, t.earliestMs, t.latestMs);
    this.pending.push({ maxId: p.maxId, xmax: p.xmax });
    // While a long transaction holds xmin back, keep the oldest and the newest checkpoints only (dropping the
    // ones between only delays the cursor; it never moves it past an unfinished transaction).
    if (this.pending.length > 64) this.pending.splice(1, this.pending.length - 2);
    // Move the cursor to the newest checkpoint whose transactions have all ended (see the header).
    let i = 0;
    while (i < this.pending.length && this.pending[i]!.xmax <= p.xmin) {
      if (this.pending[i]!.maxId > this.cursor) this.cursor = this.pending[i]!.maxId;
      i += 1;
    }
    if (i > 0) {
      this.pending.splice(0, i);
      this.safe = true;
    }
  }

  /** Drops the subscription's entries (and running fills) whose hours meet [earliestMs, latestMs]. */
  private invalidate(subscriptionId: string, earliestMs: number, latestMs: number): void {
    const meets = (r: { loMs: number; hiMs: number }) => earliestMs < r.hiMs && latestMs >= r.loMs;
    for (const f of this.fills) if (f.subscriptionId === subscriptionId && meets(f)) f.invalidated = true;
    const keys = this.keysBySubscription.get(subscriptionId);
    if (!keys) return;
    for (const k of [...keys]) {
      const e = this.entries.peek(k);
      if (e && meets(e)) {
        this.entries.delete(k);
        this.stats.invalidations += 1;
      }
    }
  }

  private clear(): void {
    for (const f of this.fills) f.invalidated = true;
    this.stats.invalidations += this.entries.size;
    this.entries.clear();
    this.keysBySubscription.clear();
  }
}
