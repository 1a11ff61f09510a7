// The one in-process cache utility: a bounded LRU with a time-to-live and single-flight loading, on the
// maintained `lru-cache` package. Every per-process cache of the API is one of these, so eviction, expiry and
// invalidation behave the same everywhere: plans for current usage, ingest's metrics and subscriptions
// (api/ingest/catalog-cache.ts), rollup metric specs, and api/auth.ts's unknown-API-key negative cache.
//
// - `get(key)` returns the cached value or loads it once: concurrent misses of one key share one load; a
//   failed load is not cached.
// - `set(key, value, ttlMs?)` stores a value (per-entry TTL: e.g. a shorter one for a negative lookup).
// - `invalidate(key)` / `invalidateWhere(pred)` drop entries (a catalog change drops its organization's).
// Values may be any non-undefined value; `null` is stored as-is (negative caching).
import { LRUCache } from 'lru-cache';

export interface TtlCacheOptions<K extends string, V> {
  /** At most this many entries (least recently used evicted first). */
  maxEntries: number;
  /** Default time to live of an entry. */
  ttlMs: number;
  /** How `get` fills a miss. */
  load?: (key: K) => Promise<V>;
  /** The clock of the time-to-live, in milliseconds (default `performance.now`; tests pass a manual one). */
  now?: () => number;
}

type Boxed<V> = { value: V };

export class TtlCache<K extends string, V> {
  private readonly lru: LRUCache<K, Boxed<V>>;
  private readonly loads = new Map<K, Promise<V>>();
  private readonly load?: (key: K) => Promise<V>;
  /** Bumped by every invalidation: a load started before it does not store its (possibly stale) result. */
  private generation = 0;

  constructor(options: TtlCacheOptions<K, V>) {
    this.lru = new LRUCache<K, Boxed<V>>({ max: options.maxEntries, ttl: options.ttlMs, ttlAutopurge: false, updateAgeOnGet: false, ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}) });
    this.load = options.load;
  }

  /** The cached value, or undefined (expired entries count as absent). */
  peek(key: K): V | undefined {
    return this.lru.get(key)?.value;
  }

  has(key: K): boolean {
    return this.lru.has(key);
  }

  set(key: K, value: V, ttlMs?: number): void {
    this.lru.set(key, { value }, ttlMs === undefined ? undefined : { ttl: ttlMs });
  }

  /** The cached value, else loads it (once for concurrent callers) with `load` (the constructor's by default). */
  get(key: K, load: ((key: K) => Promise<V>) | undefined = this.load): Promise<V> {
    const hit = this.lru.get(key);
    if (hit) return Promise.resolve(hit.value);
    return this.reload(key, load);
  }

  /** Loads `key` again even when cached (concurrent reloads of one key share one load). */
  reload(key: K, load: ((key: K) => Promise<V>) | undefined = this.load): Promise<V> {
    const pending = this.loads.get(key);
    if (pending) return pending;
    if (!load) return Promise.reject(new Error('TtlCache: no loader'));
    const generation = this.generation;
    const p = load(key)
      .then((value) => {
        if (generation === this.generation) this.set(key, value);
        return value;
      })
      .finally(() => {
        // An invalidation may have replaced this load by a newer one: only forget our own.
        if (this.loads.get(key) === p) this.loads.delete(key);
      });
    this.loads.set(key, p);
    return p;
  }

  invalidate(key: K): void {
    this.generation += 1;
    this.loads.delete(key);
    this.lru.delete(key);
  }

  invalidateWhere(pred: (key: K) => boolean): void {
    this.generation += 1;
    for (const k of [...this.loads.keys()]) if (pred(k)) this.loads.delete(k);
    for (const k of [...this.lru.keys()]) if (pred(k)) this.lru.delete(k);
  }

  clear(): void {
    this.generation += 1;
    this.loads.clear();
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

/** A key scoped by organization (`invalidateOrganization` matches on the prefix). */
export function orgKey(organizationId: string, id: string): string {
  return `${organizationId}\u0000${id}`;
}

export function isOrgKey(key: string, organizationId: string): boolean {
  return key.startsWith(`${organizationId}\u0000`);
}
