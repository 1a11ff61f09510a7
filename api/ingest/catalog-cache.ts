// In-memory, per-organization caches for ingest (cache/ttl-cache.ts): metric codes and subscriptions are looked
// up once per TTL, not per event. This process's writes invalidate them; other processes' writes show up after the TTL
// (a miss re-reads at most once per `missRefreshMs`, so a brand-new metric/subscription is found quickly).
import type { Knex } from 'knex';
import type { AggregationType } from '../../billing/types';
import { orgKey, TtlCache } from '../../cache/ttl-cache';
import { listMetricIngestInfo } from '../../db/repositories/catalog';
import { lookupSubscriptions, type SubscriptionLookup } from '../../db/repositories/subscriptions';

export interface MetricInfo {
  id: string;
  code: string;
  aggregationType: AggregationType;
  fieldName: string | null;
}

export interface IngestCacheOptions {
  ttlMs?: number;
  missRefreshMs?: number;
  maxSubscriptionEntries?: number;
}

interface MetricEntry {
  loadedAt: number;
  metrics: Map<string, MetricInfo>;
}

export class IngestCache {
  private readonly ttlMs: number;
  private readonly missRefreshMs: number;
  /** organization id → its metrics (cache/ttl-cache.ts: TTL, single-flight loads). */
  private readonly metricEntries: TtlCache<string, MetricEntry>;
  /** (organization, external id) → the subscription, or null (a miss, cached for missRefreshMs only). */
  private readonly subscriptionEntries: TtlCache<string, SubscriptionLookup | null>;

  constructor(private readonly db: Knex, options: IngestCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.missRefreshMs = options.missRefreshMs ?? 1_000;
    this.metricEntries = new TtlCache({ maxEntries: 10_000, ttlMs: this.ttlMs, load: (org) => this.loadMetrics(org) });
    this.subscriptionEntries = new TtlCache({ maxEntries: options.maxSubscriptionEntries ?? 100_000, ttlMs: this.ttlMs });
  }

  /** Metrics by code; `codes` that are unknown trigger one reload if the cache is older than missRefreshMs. */
  async metrics(organizationId: string, codes: Iterable<string>): Promise<Map<string, MetricInfo>> {
    const now = Date.now();
    let entry = await this.metricEntries.get(organizationId);
    const missing = [...codes].some((c) => !entry.metrics.has(c));
    if (missing && now - entry.loadedAt > this.missRefreshMs) entry = await this.metricEntries.reload(organizationId);
    return entry.metrics;
  }

  invalidateMetrics(organizationId: string): void {
    this.metricEntries.invalidate(organizationId);
  }

  private async loadMetrics(organizationId: string): Promise<MetricEntry> {
    const rows = await listMetricIngestInfo(this.db, organizationId);
    return { loadedAt: Date.now(), metrics: new Map(rows.map((m) => [m.code, m])) };
  }

  /** Subscriptions by external id (one query for all cache misses). */
  async subscriptions(organizationId: string, externalIds: Iterable<string>): Promise<Map<string, SubscriptionLookup>> {
    const out = new Map<string, SubscriptionLookup>();
    const misses: string[] = [];
    for (const ext of new Set(externalIds)) {
      const k = orgKey(organizationId, ext);
      if (this.subscriptionEntries.has(k)) {
        const value = this.subscriptionEntries.peek(k);
        if (value) out.set(ext, value);
      } else {
        misses.push(ext);
      }
    }
    if (misses.length > 0) {
      const found = await lookupSubscriptions(this.db, organizationId, misses);
      const byExt = new Map(found.map((s) => [s.externalId, s]));
      for (const ext of misses) {
        const value = byExt.get(ext) ?? null;
        this.subscriptionEntries.set(orgKey(organizationId, ext), value, value ? this.ttlMs : this.missRefreshMs);
        if (value) out.set(ext, value);
      }
    }
    return out;
  }

  invalidateSubscription(organizationId: string, externalId: string): void {
    this.subscriptionEntries.invalidate(orgKey(organizationId, externalId));
  }
}
