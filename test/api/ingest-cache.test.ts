// The ingest caches (api/ingest/catalog-cache.ts on cache/ttl-cache.ts): TTLs, the reload-on-miss rule, the
// negative-entry TTL, single-flight loads, invalidation and the bound, on a fake clock and counted loaders
// (the loaders are what the cache reads through; the database queries themselves are covered by the ingest
// route tests).
import type { Knex } from 'knex';
import { IngestCache, type MetricInfo } from '../../api/ingest/catalog-cache';
import type { SubscriptionLookup } from '../../db/repositories/subscriptions';

const ORG = 'org-1';

function metric(code: string): MetricInfo {
  return { id: `bm-${code}`, code, aggregationType: 'count_agg', fieldName: null };
}

function sub(externalId: string): SubscriptionLookup {
  return { externalId, id: `s-${externalId}` } as unknown as SubscriptionLookup;
}

function setup(opts: { ttlMs?: number; missRefreshMs?: number; maxSubscriptionEntries?: number } = {}) {
  let clock = 1_000_000;
  const catalog = { metrics: [] as MetricInfo[], subscriptions: [] as SubscriptionLookup[] };
  const calls = { metrics: 0, subscriptions: [] as string[][] };
  let gate: Promise<void> | null = null;
  const cache = new IngestCache(null as unknown as Knex, {
    ttlMs: opts.ttlMs ?? 30_000,
    missRefreshMs: opts.missRefreshMs ?? 1_000,
    maxSubscriptionEntries: opts.maxSubscriptionEntries,
    now: () => clock,
    loaders: {
      metrics: async () => {
        calls.metrics += 1;
        const snapshot = [...catalog.metrics];
        if (gate) await gate;
        return snapshot;
      },
      subscriptions: async (_org, ids) => {
        calls.subscriptions.push([...ids]);
        return catalog.subscriptions.filter((s) => ids.includes(s.externalId));
      },
    },
  });
  return {
    cache,
    catalog,
    calls,
    advance: (ms: number) => {
      clock += ms;
    },
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

describe('IngestCache metrics', () => {
  it('serves a fresh entry without reloading until it is older than ttlMs', async () => {
    const t = setup();
    t.catalog.metrics = [metric('a')];
    expect([...(await t.cache.metrics(ORG, ['a'])).keys()]).toEqual(['a']);
    t.advance(30_000);
    await t.cache.metrics(ORG, ['a']);
    expect(t.calls.metrics).toBe(1);
    t.advance(1);
    await t.cache.metrics(ORG, ['a']);
    expect(t.calls.metrics).toBe(2);
  });

  it('reloads on an unknown code only when the entry is older than missRefreshMs, and the reload replaces it', async () => {
    const t = setup();
    t.catalog.metrics = [metric('a')];
    await t.cache.metrics(ORG, ['a']);
    t.catalog.metrics = [metric('a'), metric('b')];
    t.advance(1_000);
    expect((await t.cache.metrics(ORG, ['b'])).has('b')).toBe(false);
    expect(t.calls.metrics).toBe(1);
    t.advance(1);
    expect((await t.cache.metrics(ORG, ['b'])).has('b')).toBe(true);
    expect(t.calls.metrics).toBe(2);
    // The replaced entry is fresh again: a still-unknown code does not reload before missRefreshMs.
    t.advance(500);
    expect((await t.cache.metrics(ORG, ['c'])).has('c')).toBe(false);
    await t.cache.metrics(ORG, ['a', 'b']);
    expect(t.calls.metrics).toBe(2);
    t.advance(501);
    await t.cache.metrics(ORG, ['c']);
    expect(t.calls.metrics).toBe(3);
  });

  it('shares one load between concurrent callers of one organization', async () => {
    const t = setup();
    t.catalog.metrics = [metric('a')];
    const release = t.hold();
    const both = Promise.all([t.cache.metrics(ORG, ['a']), t.cache.metrics(ORG, ['a'])]);
    release();
    const [x, y] = await both;
    expect(x).toBe(y);
    expect(t.calls.metrics).toBe(1);
  });

  it('reloads after invalidateMetrics, and does not keep a load that was running when it was invalidated', async () => {
    const t = setup();
    t.catalog.metrics = [metric('a')];
    await t.cache.metrics(ORG, ['a']);
    t.catalog.metrics = [metric('a'), metric('b')];
    t.cache.invalidateMetrics(ORG);
    expect((await t.cache.metrics(ORG, ['b'])).has('b')).toBe(true);
    expect(t.calls.metrics).toBe(2);

    t.advance(30_001);
    const release = t.hold();
    const stale = t.cache.metrics(ORG, ['a']); // reads the catalog before the change below
    t.catalog.metrics = [metric('a'), metric('b'), metric('c')];
    t.cache.invalidateMetrics(ORG);
    release();
    expect((await stale).has('c')).toBe(false);
    expect((await t.cache.metrics(ORG, ['c'])).has('c')).toBe(true);
    expect(t.calls.metrics).toBe(4);
  });

  it('keeps organizations apart', async () => {
    const t = setup();
    t.catalog.metrics = [metric('a')];
    await t.cache.metrics(ORG, ['a']);
    await t.cache.metrics('org-2', ['a']);
    expect(t.calls.metrics).toBe(2);
    t.cache.invalidateMetrics('org-2');
    await t.cache.metrics(ORG, ['a']);
    expect(t.calls.metrics).toBe(2);
  });
});

describe('IngestCache subscriptions', () => {
  it('keeps a hit for ttlMs and a miss for missRefreshMs', async () => {
    const t = setup();
    t.catalog.subscriptions = [sub('s1')];
    expect([...(await t.cache.subscriptions(ORG, ['s1', 's2'])).keys()]).toEqual(['s1']);
    expect(t.calls.subscriptions).toEqual([['s1', 's2']]);
    t.catalog.subscriptions = [sub('s1'), sub('s2')];
    t.advance(999);
    expect([...(await t.cache.subscriptions(ORG, ['s1', 's2'])).keys()]).toEqual(['s1']);
    expect(t.calls.subscriptions).toHaveLength(1);
    t.advance(1); // the miss expires at missRefreshMs
    expect([...(await t.cache.subscriptions(ORG, ['s1', 's2'])).keys()].sort()).toEqual(['s1', 's2']);
    expect(t.calls.subscriptions[1]).toEqual(['s2']);
    t.advance(29_000); // s1 loaded 30 000 ms ago: expired
    await t.cache.subscriptions(ORG, ['s1', 's2']);
    expect(t.calls.subscriptions[2]).toEqual(['s1']);
  });

  it('looks every miss of one call up in one query, each external id once', async () => {
    const t = setup();
    await t.cache.subscriptions(ORG, ['x', 'y', 'x']);
    expect(t.calls.subscriptions).toEqual([['x', 'y']]);
  });

  it('re-reads an invalidated subscription at once, even a cached miss', async () => {
    const t = setup();
    expect((await t.cache.subscriptions(ORG, ['s1'])).size).toBe(0);
    t.catalog.subscriptions = [sub('s1')];
    t.cache.invalidateSubscription(ORG, 's1');
    expect((await t.cache.subscriptions(ORG, ['s1'])).has('s1')).toBe(true);
    expect(t.calls.subscriptions).toHaveLength(2);
  });

  it('keeps organizations apart', async () => {
    const t = setup();
    t.catalog.subscriptions = [sub('s1')];
    await t.cache.subscriptions(ORG, ['s1']);
    await t.cache.subscriptions('org-2', ['s1']);
    expect(t.calls.subscriptions).toHaveLength(2);
  });

  it('holds at most maxSubscriptionEntries entries', async () => {
    const t = setup({ maxSubscriptionEntries: 2 });
    t.catalog.subscriptions = [sub('a'), sub('b'), sub('c')];
    await t.cache.subscriptions(ORG, ['a', 'b', 'c']);
    expect(t.calls.subscriptions).toHaveLength(1);
    // 'a' was evicted, 'b' and 'c' remain.
    await t.cache.subscriptions(ORG, ['b', 'c']);
    expect(t.calls.subscriptions).toHaveLength(1);
    await t.cache.subscriptions(ORG, ['a']);
    expect(t.calls.subscriptions[1]).toEqual(['a']);
  });
});
