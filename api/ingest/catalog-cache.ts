// In-memory, per-organization caches for ingest: metric codes and subscriptions are looked up once per
// TTL, not per event. This process's writes invalidate them; other processes' writes show up after the TTL
// (a miss re-reads at most once per `missRefreshMs`, so a brand-new metric/subscription is found quickly).
import type { Knex } from 'knex';
import type { AggregationType } from '../../billing/types';
import { listMetricIngestInfo } from '../../db/repositories/billable-metrics';
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

interface SubscriptionEntry {
  value: SubscriptionLookup | null;
  expiresAt: number;
}

export class IngestCache {
  private readonly ttlMs: number;
  private readonly missRefreshMs: number;
  private readonly maxSubscriptionEntries: number;
  private readonly metricEntries = new Map<string, MetricEntry>();
  private readonly metricLoads = new Map<string, Promise<MetricEntry>>();
  private readonly subscriptionEntries = new Map<string, SubscriptionEntry>();

  constructor(private readonly db: Knex, options: IngestCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.missRefreshMs = options.missRefreshMs ?? 1_000;
    this.maxSubscriptionEntries = options.maxSubscriptionEntries ?? 100_000;
  }

  /** Metrics by code; `codes` that are unknown trigger one reload if the cache is older than missRefreshMs. */
  async metrics(organizationId: string, codes: Iterable<string>): Promise<Map<string, MetricInfo>> {
    const now = Date.now();
    let entry = this.metricEntries.get(organizationId);
    if (!entry || now - entry.loadedAt > this.ttlMs) entry = await this.loadMetrics(organizationId);
    const missing = [...codes].some((c) => !entry!.metrics.has(c));
    if (missing && Date.now() - entry.loadedAt > this.missRefreshMs) entry = await this.loadMetrics(organizationId);
    return entry.metrics;
  }

  invalidateMetrics(organizationId: string): void {
    this.metricEntries.delete(organizationId);
  }

  private loadMetrics(organizationId: string): Promise<MetricEntry> {
    let load = this.metricLoads.get(organizationId);
    if (!load) {
      load = (async () => {
        const rows = await listMetricIngestInfo(this.db, organizationId);
        const entry: MetricEntry = { loadedAt: Date.now(), metrics: new Map(rows.map((m) => [m.code, m])) };
        this.metricEntries.set(organizationId, entry);
        return entry;
      })().finally(() => this.metricLoads.delete(organizationId));
      this.metricLoads.set(organizationId, load);
    }
    return load;
  }

  /** Subscriptions by external id (one query for all cache misses). */
  async subscriptions(organizationId: string, externalIds: Iterable<string>): Promise<Map<string, SubscriptionLookup>> {
    const now = Date.now();
    const out = new Map<string, SubscriptionLookup>();
    const misses: string[] = [];
    for (const ext of new Set(externalIds)) {
      const e = this.subscriptionEntries.get(key(organizationId, ext));
      if (e && e.expiresAt > now) {
        if (e.value) out.set(ext, e.value);
      } else {
        misses.push(ext);
      }
    }
    if (misses.length > 0) {
      const found = await lookupSubscriptions(this.db, organizationId, misses);
      if (this.subscriptionEntries.size + misses.length > this.maxSubscriptionEntries) this.subscriptionEntries.clear();
      const byExt = new Map(found.map((s) => [s.externalId, s]));
      for (const ext of misses) {
        const value = byExt.get(ext) ?? null;
        this.subscriptionEntries.set(key(organizationId, ext), {
          value,
          expiresAt: Date.now() + (value ? this.ttlMs : this.missRefreshMs),
        });
        if (value) out.set(ext, value);
      }
    }
    return out;
  }

  invalidateSubscription(organizationId: string, externalId: string): void {
    this.subscriptionEntries.delete(key(organizationId, externalId));
  }
}

function key(organizationId: string, externalId: string): string {
  return `${organizationId}\u0000${externalId}`;
}
