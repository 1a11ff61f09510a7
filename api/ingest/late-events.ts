// Late events → refresh of draft invoices. The usage signaller hands every subscription's committed, new
// usage deltas (metric, hour bucket) to this notifier at each flush; when an hour bucket overlaps the period of
// one of the subscription's DRAFT invoices (an invoice in its grace period), the invoice workflow
// `invoice:<id>` gets a `refreshInvoiceSignal` and re-rates the draft from Postgres.
//
// - Cheap: the drafts of a subscription are read from Postgres at most once per `cacheTtlMs` (default 10 s),
//   for all subscriptions with expired entries in ONE query per flush (draftInvoicePeriodsOfSubscriptions),
//   and kept in a bounded in-process cache (cache/ttl-cache.ts, the one cache utility). No per-event work beyond adding an hour bucket to a set.
// - Stale cache: an entry is dropped when a signal finds the invoice workflow gone (it finalized), and expires
//   after the TTL, so a draft created by a period close is seen within `cacheTtlMs`. A cached answer may predate
//   a draft (a termination or period close committed after the lookup): buckets matched against a cached entry
//   that overlap none of its drafts are kept and matched again once, after the entry is read again. Without that,
//   a late event arriving within `cacheTtlMs` of a lookup that found no draft would never refresh the new draft.
//   Buckets matched against a fresh lookup are dropped: their events were committed before it, so any draft
//   created after it already counts them.
// - Conservative matching: the API knows an event's hour bucket, not its exact timestamp, so a bucket that
//   merely overlaps a draft's period counts (at worst one superfluous refresh; never a missed one).
// - Coalesced: at most one signal per invoice per `minSignalIntervalMs` (default 1 s) from this process;
//   later matches wait for the next flush. Temporal allows about 5 signals/s per workflow.
// - Advisory, like usage signals: correctness never depends on them. finalizeInvoice re-rates the draft from
//   Postgres inside its own transaction, so a lost signal cannot drop an event committed during the grace
//   period; events for already finalized periods become adjustments on the next invoice (activities/invoices.ts).
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Period } from '../../billing/types';
import { draftInvoicePeriodsOfSubscriptions, type DraftInvoicePeriod } from '../../db/repositories/invoices';
import { invoiceWorkflowId, refreshInvoiceSignal, type UsageDelta } from '../../workflows/messages';
import { TtlCache } from '../../cache/ttl-cache';
import { consoleLogger, type Logger } from '../errors';

const HOUR_MS = 3_600_000;

export interface LateEventNotifierOptions {
  /** How long a subscription's draft invoice periods are trusted before they are read again. */
  cacheTtlMs?: number;
  /** The clock of the draft cache's time-to-live (tests: a manual clock, so expiry never depends on machine speed). */
  now?: () => number;
  /** At most one refresh signal per invoice per this many ms. */
  minSignalIntervalMs?: number;
  /** Subscriptions kept in the cache (oldest entries are evicted first). */
  maxCacheEntries?: number;
  /** Subscription ids per lookup query. */
  lookupBatchSize?: number;
  logger?: Logger;
}

export interface LateEventNotifierCounters {
  lookups: number;
  lookupFailures: number;
  /** Subscription flushes whose usage fell in a draft invoice's period. */
  lateMatches: number;
  signalsSent: number;
  signalFailures: number;
}

interface PendingRefresh {
  subscriptionId: string;
}

/** True when the hour starting at `bucketStart` overlaps [period.start, period.end). */
export function bucketOverlapsPeriod(bucketStart: string, period: Period): boolean {
  const b = Date.parse(bucketStart);
  return b < Date.parse(period.end) && b + HOUR_MS > Date.parse(period.start);
}

export class LateEventNotifier {
  private readonly minSignalIntervalMs: number;
  private readonly lookupBatchSize: number;
  private readonly logger: Logger;
  /** subscription id → its drafts (the project's one cache utility: bounded LRU, entries expire after cacheTtlMs). */
  private readonly cache: TtlCache<string, DraftInvoicePeriod[]>;
  private observed = new Map<string, Set<string>>(); // subscription id → hour buckets seen since the last run
  /** subscription id → buckets that overlapped no draft of a cached (possibly stale) entry: matched again after re-reading it. */
  private readonly recheck = new Map<string, Set<string>>();
  private readonly pendingRefresh = new Map<string, PendingRefresh>(); // invoice id → why
  private readonly lastSentAt = new Map<string, number>(); // invoice id → ms
  private running: Promise<void> | null = null;
  private rerun = false;
  readonly counters: LateEventNotifierCounters = { lookups: 0, lookupFailures: 0, lateMatches: 0, signalsSent: 0, signalFailures: 0 };

  constructor(
    private readonly db: Knex,
    private readonly temporal: Client,
    options: LateEventNotifierOptions = {},
  ) {
    this.cache = new TtlCache({ ttlMs: Math.max(1, options.cacheTtlMs ?? 10_000), maxEntries: options.maxCacheEntries ?? 100_000, ...(options.now ? { now: options.now } : {}) });
    this.minSignalIntervalMs = options.minSignalIntervalMs ?? 1_000;
    this.lookupBatchSize = options.lookupBatchSize ?? 5_000;
    this.logger = options.logger ?? consoleLogger;
  }

  /** Record the hour buckets of a subscription's committed, new events (called by the usage signaller). */
  observe(subscriptionId: string, deltas: Iterable<UsageDelta>): void {
    const buckets: string[] = [];
    for (const d of deltas) buckets.push(d.bucketStart);
    this.addBuckets(subscriptionId, buckets);
  }

  private addBuckets(subscriptionId: string, bucketStarts: Iterable<string>): void {
    let buckets = this.observed.get(subscriptionId);
    if (!buckets) {
      buckets = new Set();
      this.observed.set(subscriptionId, buckets);
    }
    for (const b of bucketStarts) buckets.add(b);
  }

  /** Start matching and signalling in the background (one run at a time). */
  tick(): void {
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = this.run()
      .catch((err: unknown) => this.logger.warn('late-event notifier run failed', { error: String(err) }))
      .finally(() => {
        this.running = null;
        if (this.rerun) {
          this.rerun = false;
          this.tick();
        }
      });
  }

  /** Process everything observed so far and wait for the signals (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    this.tick();
    while (this.running) await this.running;
  }

  /** Forget a subscription's cached drafts (e.g. after this process learned they changed). */
  invalidate(subscriptionId: string): void {
    this.cache.invalidate(subscriptionId);
  }

  /** Invoices waiting for their next allowed signal. */
  pendingInvoices(): number {
    return this.pendingRefresh.size;
  }

  private async run(): Promise<void> {
    const observed = this.observed;
    this.observed = new Map();
    for (const [subscriptionId, buckets] of this.recheck) {
      if (this.cache.has(subscriptionId)) continue; // still trusted: matched again once it expires
      this.recheck.delete(subscriptionId);
      let into = observed.get(subscriptionId);
      if (!into) observed.set(subscriptionId, (into = new Set()));
      for (const b of buckets) into.add(b);
    }
    if (observed.size > 0) await this.match(observed);
    await this.sendDue();
  }

  private async match(observed: Map<string, Set<string>>): Promise<void> {
    // The drafts each subscription is matched against in this run: the cached ones still trusted now, or the ones
    // read below (an entry expiring or evicted while this run reads others is still used for this run).
    const known = new Map<string, DraftInvoicePeriod[]>();
    const stale = [...observed.keys()].filter((id) => {
      const cached = this.cache.peek(id);
      if (cached) known.set(id, cached);
      return !cached;
    });
    const freshlyRead = new Set<string>();
    for (let i = 0; i < stale.length; i += this.lookupBatchSize) {
      const batch = stale.slice(i, i + this.lookupBatchSize);
      try {
        this.counters.lookups += 1;
        const found = await draftInvoicePeriodsOfSubscriptions(this.db, batch);
        for (const id of batch) {
          const drafts = found.get(id)?.drafts ?? [];
          this.cache.set(id, drafts);
          known.set(id, drafts);
          freshlyRead.add(id);
        }
      } catch (err) {
        // Keep the buckets for the next flush: a database hiccup delays a refresh, it does not lose it.
        this.counters.lookupFailures += 1;
        this.logger.warn('draft invoice lookup failed; retrying on the next flush', { subscriptions: batch.length, error: String(err) });
        for (const id of batch) {
          const buckets = observed.get(id);
          observed.delete(id);
          if (buckets) this.addBuckets(id, buckets);
        }
      }
    }
    for (const [subscriptionId, buckets] of observed) {
      const drafts = known.get(subscriptionId);
      if (!drafts) continue; // its lookup failed: the buckets were put back for the next flush
      let matched = false;
      const unmatched = new Set(buckets);
      for (const draft of drafts) {
        for (const b of buckets) {
          if (bucketOverlapsPeriod(b, draft.period)) {
            this.pendingRefresh.set(draft.invoiceId, { subscriptionId });
            matched = true;
            unmatched.delete(b);
          }
        }
      }
      if (matched) this.counters.lateMatches += 1;
      if (!freshlyRead.has(subscriptionId) && unmatched.size > 0) {
        // The cached entry may predate a draft that covers these buckets: match them again after re-reading it.
        let keep = this.recheck.get(subscriptionId);
        if (!keep) this.recheck.set(subscriptionId, (keep = new Set()));
        for (const b of unmatched) keep.add(b);
      }
    }
  }

  private async sendDue(): Promise<void> {
    const now = Date.now();
    for (const [id, at] of this.lastSentAt) if (now - at >= this.minSignalIntervalMs) this.lastSentAt.delete(id);
    const due = [...this.pendingRefresh].filter(([invoiceId]) => !this.lastSentAt.has(invoiceId));
    await Promise.all(due.map(([invoiceId, why]) => this.send(invoiceId, why)));
  }

  private async send(invoiceId: string, why: PendingRefresh): Promise<void> {
    this.pendingRefresh.delete(invoiceId);
    this.lastSentAt.set(invoiceId, Date.now());
    try {
      await this.temporal.workflow.getHandle(invoiceWorkflowId(invoiceId)).signal(refreshInvoiceSignal);
      this.counters.signalsSent += 1;
    } catch (err) {
      this.counters.signalFailures += 1;
      if (err instanceof WorkflowNotFoundError) {
        // The invoice workflow finished (the invoice was finalized): the cached drafts are stale.
        this.cache.invalidate(why.subscriptionId);
        this.logger.warn('invoice refresh signal dropped: invoice workflow not found (finalized?)', { invoiceId });
        return;
      }
      this.logger.warn('invoice refresh signal failed; retrying on the next flush', { invoiceId, error: String(err) });
      if (!this.pendingRefresh.has(invoiceId)) this.pendingRefresh.set(invoiceId, why);
    }
  }
}
