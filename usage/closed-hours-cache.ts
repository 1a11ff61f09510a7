// A per-process cache of the rollup totals of a subscription's CLOSED hours, for current usage (issue 14,
// usage14). Without it every GET current_usage summed the period's rollup rows: 744 hours × 21 dims = 15,624
// rows for a 31-day period with 20 filter/group combinations (HashAggregate over jsonb dims: ~40 ms on a quiet
// core here, ~110 ms at load average 12), whatever the event count. With it a request sums the rows of the open
// hours only (the current and the previous hour) and takes the closed hours' totals from memory.
//
// Exact, across any number of API processes, under late events — how:
// - Rollup rows change only through an inserted event (the ingest statement writes the event and its rollup rows
//   in one statement) or a recorded rewrite (backfill, quarantine: rollup_rewrites). Every process follows both
//   with ONE feed query (db/repositories/rollup-feed.ts pollRollupFeed): the events with id > cursor, grouped by
//   subscription with their earliest timestamp. An entry of a subscription whose sealed range [from, seal) holds
//   such a timestamp is dropped (a late event); a new rewrite drops every entry. Events of the open hours
//   (the normal case) invalidate nothing.
// - Every request waits for a feed poll that STARTED after the request did (polls are single-flight and run
//   back to back while requests arrive), so whatever was committed before the request is seen: read-your-writes
//   for a client that posted a late event and then reads its usage, and for a write through another process.
// - Event ids come from one sequence but commit out of order. The cursor only moves past an id once every
//   transaction that could still commit a smaller id has finished: each poll records (largest id seen, the
//   snapshot's xmax); a later poll whose snapshot xmin ≥ that xmax proves every transaction of that time ended,
//   so every event with an id up to that largest id is visible (or will never be), and the cursor moves there.
//   Ids between the cursor and the newest id are re-read by the next polls (invalidating twice is harmless).
//   This relies on a writer having its transaction id before it draws an event id, which holds for the ingest
//   statement and insertEvents (db/repositories/events.ts: the event rows join the dedup keys inserted first).
// - A fill (the closed hours' query) is stored only if no invalidation of its subscription (and no clear)
//   happened since it started (per-subscription generations), so a poll that ran during the fill cannot be
//   lost. Until the first cursor is proven safe (the first poll after start-up whose xmin ≥ the start xmax),
//   nothing is stored.
// - The seal (end of the cached range) is the start of the previous wall-clock hour (at most the period's last
//   whole hour). Correctness does not depend on it or on the clock (a late event is caught whatever its
//   timestamp); it only decides how often an entry is refilled (once an hour) and how many rows a request reads.
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
  sealMs: number;
  rows: RollupTotalsRow[];
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
  /** Per subscription: bumped on each invalidation of it. */
  private readonly generations = new Map<string, number>();
  private clearGeneration = 0;
  private cursor: bigint | null = null;
  private readonly pending: { maxId: bigint; xmax: bigint }[] = [];
  private safe = false;
  private rewrites: bigint | null = null;
  /** Largest seal ever used (invalidation compares against it, so a clock step back cannot hide a late event). */
  private maxSealMs = Number.NEGATIVE_INFINITY;
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

  /** rollupTotalsOfHours with the closed hours [fromHour, seal) from the cache (see the header). */
  readonly totalsOfHours: TotalsOfHours = async (db, organizationId, subscriptionId, codes, fromHour, toHour) => {
    const nowMs = (this.options.now ?? Date.now)();
    const sealMs = Math.min(toHour.getTime(), Math.floor(nowMs / HOUR_MS) * HOUR_MS - HOUR_MS);
    if (sealMs <= fromHour.getTime() || codes.length === 0) return rollupTotalsOfHours(db, organizationId, subscriptionId, codes, fromHour, toHour);
    await this.fresh();
    const seal = new Date(sealMs);
    const closed = await this.closedRows(db, organizationId, subscriptionId, codes, fromHour, sealMs);
    const open = await rollupTotalsOfHours(db, organizationId, subscriptionId, codes, seal, toHour);
    return closed.concat(open);
  };

  private async closedRows(db: Db, org: string, sub: string, codes: string[], fromHour: Date, sealMs: number): Promise<RollupTotalsRow[]> {
    const key = `${org}|${sub}|${[...codes].sort().join(',')}|${fromHour.getTime()}`;
    const hit = this.entries.get(key);
    if (hit && hit.sealMs === sealMs) {
      this.stats.hits += 1;
      return hit.rows;
    }
    const gen = this.generations.get(sub) ?? 0;
    const clear = this.clearGeneration;
    if (sealMs > this.maxSealMs) this.maxSealMs = sealMs;
    const rows = await rollupTotalsOfHours(db, org, sub, codes, fromHour, new Date(sealMs));
    if (this.safe && (this.generations.get(sub) ?? 0) === gen && this.clearGeneration === clear) {
      this.entries.set(key, { subscriptionId: sub, sealMs, rows });
      let keys = this.keysBySubscription.get(sub);
      if (!keys) this.keysBySubscription.set(sub, (keys = new Set()));
      keys.add(key);
      this.stats.fills += 1;
    }
    return rows;
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
    for (const [sub, earliestMs] of p.earliestBySubscription) {
      if (earliestMs < this.maxSealMs) this.invalidate(sub, earliestMs);
    }
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

  private invalidate(subscriptionId: string, earliestMs: number): void {
    this.generations.set(subscriptionId, (this.generations.get(subscriptionId) ?? 0) + 1);
    const keys = this.keysBySubscription.get(subscriptionId);
    if (!keys) return;
    for (const k of [...keys]) {
      const e = this.entries.peek(k);
      if (e && earliestMs < e.sealMs) {
        this.entries.delete(k);
        this.stats.invalidations += 1;
      }
    }
  }

  private clear(): void {
    this.clearGeneration += 1;
    this.stats.invalidations += this.entries.size;
    this.entries.clear();
    this.keysBySubscription.clear();
  }
}
