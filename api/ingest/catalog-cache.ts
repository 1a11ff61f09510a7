// In-memory, per-organization caches for ingest: metric codes and subscriptions are looked up once per
// TTL, not per event. This process's writes invalidate them; other processes' writes show up after the TTL
// (a miss re-reads at most once per `missRefreshMs`, so a brand-new metric/subscription is found quickly).
//
// Both caches are `TtlCache`s (cache/ttl-cache.ts). Freshness is decided at read time from the time stored
// in the entry (`loadedAt` / `expiresAt`, on the injectable `now` clock); the LRU's own TTL only reclaims
// memory and never keeps an entry alive longer than that check allows.
// - metrics: one entry per organization, stale when older than ttlMs; a code not in a fresh entry reloads it
//   once if the entry is older than missRefreshMs (the reload replaces the entry); concurrent loads of one
//   organization share one query. Bounded at maxMetricEntries organizations.
// - subscriptions: one entry per (organization, external id); a hit is kept ttlMs, a miss (null) missRefreshMs;
//   all misses of one call are looked up in one query. Bounded at maxSubscriptionEntries (LRU eviction).
import type { Knex } from 'knex';
import type { AggregationType } from '../../billing/types';
import { TtlCache, orgKey } from '../../cache/ttl-cache';
import { listMetricIngestInfo } from '../../db/repositories/billable-metrics';
import { lookupSubscriptions, type SubscriptionLookup } from '../../db/repositories/subscriptions';

export interface MetricInfo {
  id: string;
  code: string;
  aggregationType: AggregationType;
  fieldName: string | null;
}

export interface IngestCacheLoaders {
  metrics(organizationId: string): Promise<MetricInfo[]>;
  subscriptions(organizationId: string, externalIds: string[]): Promise<SubscriptionLookup[]>;
}

export interface IngestCacheOptions {
  ttlMs?: number;
  missRefreshMs?: number;
  maxSubscriptionEntries?: number;
  maxMetricEntries?: number;
  /** The clock freshness is decided on (tests pass a fake one). */
  now?: () => number;
  /** Where misses are read from (default: the database). */
  loaders?: IngestCacheLoaders;
}

interface MetricEntry {
  loadedAt: number;
  metrics: Map<string, MetricInfo>;
}

interface SubscriptionEntry {
  value: SubscriptionLookup | null;
  expiresAt: number;
}

export class IngestCache {
  private readonly ttlMs: number;
  private readonly missRefreshMs: number;
  private readonly now: () => number;
  private readonly loaders: IngestCacheLoaders;
  private readonly metricEntries: TtlCache<string, MetricEntry>;
  private readonly subscriptionEntries: TtlCache<string, SubscriptionEntry>;

  constructor(db: Knex, options: IngestCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.missRefreshMs = options.missRefreshMs ?? 1_000;
    this.now = options.now ?? Date.now;
    this.loaders = options.loaders ?? {
      metrics: (organizationId) => listMetricIngestInfo(db, organizationId),
      subscriptions: (organizationId, externalIds) => lookupSubscriptions(db, organizationId, externalIds),
    };
    this.metricEntries = new TtlCache<string, MetricEntry>({
      maxEntries: options.maxMetricEntries ?? 10_000,
      ttlMs: this.ttlMs,
      load: async (organizationId) => {
        const rows = await this.loaders.metrics(organizationId);
        return { loadedAt: this.now(), metrics: new Map(rows.map((m) => [m.code, m])) };
      },
    });
    this.subscriptionEntries = new TtlCache<string, SubscriptionEntry>({
      maxEntries: options.maxSubscriptionEntries ?? 100_000,
      ttlMs: this.ttlMs,
    });
  }

  /** Metrics by code; `codes` that are unknown trigger one reload if the cache is older than missRefreshMs. */
  async metrics(organizationId: string, codes: Iterable<string>): Promise<Map<string, MetricInfo>> {
    let entry = this.metricEntries.peek(organizationId);
    if (!entry || this.now() - entry.loadedAt > this.ttlMs) entry = await this.metricEntries.reload(organizationId);
    const current = entry;
    const missing = [...codes].some((c) => !current.metrics.has(c));
    if (missing && this.now() - entry.loadedAt > this.missRefreshMs) entry = await this.metricEntries.reload(organizationId);
    return entry.metrics;
  }

  invalidateMetrics(organizationId: string): void {
    this.metricEntries.invalidate(organizationId);
  }

  /** Subscriptions by external id (one query for all cache misses). */
  async subscriptions(organizationId: string, externalIds: Iterable<string>): Promise<Map<string, SubscriptionLookup>> {
    const now = this.now();
    const out = new Map<string, SubscriptionLookup>();
    const misses: string[] = [];
    for (const ext of new Set(externalIds)) {
      const e = this.subscriptionEntries.peek(orgKey(organizationId, ext));
      if (e && e.expiresAt > now) {
        if (e.value) out.set(ext, e.value);
      } else {
        misses.push(ext);
      }
    }
    if (misses.length > 0) {
      const found = await this.loaders.subscriptions(organizationId, misses);
      const byExt = new Map(found.map((s) => [s.externalId, s]));
      for (const ext of misses) {
        const value = byExt.get(ext) ?? null;
        const ttl = value ? this.ttlMs : this.missRefreshMs;
        this.subscriptionEntries.set(orgKey(organizationId, ext), { value, expiresAt: this.now() + ttl }, ttl);
        if (value) out.set(ext, value);
      }
    }
    return out;
  }

  invalidateSubscription(organizationId: string, externalId: string): void {
    this.subscriptionEntries.invalidate(orgKey(organizationId, externalId));
  }
}
