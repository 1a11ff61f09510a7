import { isOrgKey, orgKey, TtlCache } from '../../cache/ttl-cache';

describe('TtlCache (cache/ttl-cache.ts)', () => {
  it('loads a miss once for concurrent callers and serves the hit afterwards', async () => {
    let loads = 0;
    const c = new TtlCache<string, number>({ maxEntries: 10, ttlMs: 3_600_000, load: async () => ++loads });
    const [a, b] = await Promise.all([c.get('k'), c.get('k')]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    expect(await c.get('k')).toBe(1);
    expect(loads).toBe(1);
  });

  it('invalidate drops an entry; invalidateWhere drops an organization; a failed load is not cached', async () => {
    let n = 0;
    const c = new TtlCache<string, number>({ maxEntries: 10, ttlMs: 3_600_000, load: async () => ++n });
    await c.get(orgKey('o1', 'p1'));
    await c.get(orgKey('o2', 'p1'));
    c.invalidate(orgKey('o1', 'p1'));
    expect(c.peek(orgKey('o1', 'p1'))).toBeUndefined();
    c.invalidateWhere((k) => isOrgKey(k, 'o2'));
    expect(c.size).toBe(0);
    await expect(c.get('bad', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(c.has('bad')).toBe(false);
  });

  it('a load that started before an invalidation does not store its stale result', async () => {
    let release!: (v: number) => void;
    const c = new TtlCache<string, number>({ maxEntries: 10, ttlMs: 3_600_000 });
    const pending = c.get('k', () => new Promise<number>((r) => (release = r)));
    c.invalidate('k');
    release(1);
    expect(await pending).toBe(1);
    expect(c.has('k')).toBe(false);
  });

  it('stores null (a negative lookup) and evicts the least recently used beyond maxEntries', () => {
    const c = new TtlCache<string, string | null>({ maxEntries: 2, ttlMs: 3_600_000 });
    c.set('a', null);
    expect(c.has('a')).toBe(true);
    expect(c.peek('a')).toBeNull();
    c.set('b', 'x');
    c.set('c', 'y');
    expect(c.has('a')).toBe(false);
    expect(c.size).toBe(2);
  });
});
