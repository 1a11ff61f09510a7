// The group-commit writer's scheduling (fake statements: deterministic) and the one-statement ingest step
// against real Postgres (insertEventsWithRollups: events + rollups in ONE autocommit statement).
import pg from 'pg';
import { EventWriter } from '../../api/ingest/event-writer';
import type { EventRow, InsertedEvent } from '../../db/repositories/events';
import { insertEventsWithRollups, loadRollupMetricSpecs } from '../../db/repositories/rollups';
import { createBillingSetup } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const silent = { info() {}, warn() {}, error() {} };
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function row(tx: string, over: Partial<EventRow> = {}): EventRow {
  return {
    organizationId: '00000000-0000-4000-8000-000000000001',
    transactionId: tx,
    externalSubscriptionId: 's',
    subscriptionId: '00000000-0000-4000-8000-000000000002',
    code: 'm',
    timestamp: '2026-11-01T00:00:00.000Z',
    properties: {},
    preciseTotalAmount: null,
    ...over,
  };
}

/** A fake statement per call: resolved by the test (commit) or rejected (failure). */
function fakeStatements() {
  const calls: { rows: EventRow[]; commit(): void; fail(err: Error): void }[] = [];
  const insert = (rows: EventRow[]) =>
    new Promise<InsertedEvent[]>((resolve, reject) => {
      calls.push({
        rows,
        commit: () => resolve(rows.map((r, i) => ({ organizationId: r.organizationId, transactionId: r.transactionId, id: String(i + 1), createdAt: new Date(0) }))),
        fail: reject,
      });
    });
  return { calls, insert };
}

describe('EventWriter scheduling', () => {
  test('an idle writer writes at once (no fixed delay), requests of the same event-loop turn share the statement', async () => {
    const { calls, insert } = fakeStatements();
    const writer = new EventWriter({} as never, { insert, logger: silent, maxDelayMs: 50 });
    const a = writer.write([row('a')]);
    const b = writer.write([row('b')]);
    await turn();
    expect(calls.map((c) => c.rows.map((r) => r.transactionId))).toEqual([['a', 'b']]);
    calls[0].commit();
    expect((await a).map((e) => e.transactionId)).toEqual(['a']);
    expect((await b).map((e) => e.transactionId)).toEqual(['b']);
  });

  test('while every slot is busy requests queue, and the queue is written as ONE group the moment a slot frees', async () => {
    const { calls, insert } = fakeStatements();
    const writer = new EventWriter({} as never, { insert, logger: silent, maxConcurrentWrites: 1 });
    const first = writer.write([row('1')]);
    await turn();
    expect(calls).toHaveLength(1);
    const queued = [writer.write([row('2'), row('3')]), writer.write([row('4')]), writer.write([row('5')])];
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toHaveLength(1); // no slot: nothing else is written, however long it takes
    calls[0].commit();
    await first;
    await turn();
    expect(calls.map((c) => c.rows.map((r) => r.transactionId))).toEqual([['1'], ['2', '3', '4', '5']]);
    let acknowledged = false;
    const all = Promise.all(queued).then((r) => ((acknowledged = true), r));
    await turn();
    expect(acknowledged).toBe(false); // acknowledged only after the statement committed
    calls[1].commit();
    expect((await all).map((r) => r.map((e) => e.transactionId))).toEqual([['2', '3'], ['4'], ['5']]);
  });

  test('maxRows caps a group without ever splitting a request; a single oversized request still goes alone', async () => {
    const { calls, insert } = fakeStatements();
    const writer = new EventWriter({} as never, { insert, logger: silent, maxConcurrentWrites: 1, maxRows: 3 });
    const p = [
      writer.write([row('big-1'), row('big-2'), row('big-3'), row('big-4')]),
      writer.write([row('a1'), row('a2')]),
      writer.write([row('b1')]),
      writer.write([row('c1'), row('c2')]),
    ];
    for (let i = 0; i < 3; i++) {
      await turn();
      calls[i]?.commit();
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(p);
    expect(calls.map((c) => c.rows.map((r) => r.transactionId))).toEqual([['big-1', 'big-2', 'big-3', 'big-4'], ['a1', 'a2', 'b1'], ['c1', 'c2']]);
  });

  test('a failed group is retried request by request; a transaction id repeated in a group is written once, owned by its first request', async () => {
    const { calls, insert } = fakeStatements();
    const writer = new EventWriter({} as never, { insert, logger: silent, maxConcurrentWrites: 1 });
    const p = [writer.write([row('x'), row('dup')]), writer.write([row('dup'), row('bad')]), writer.write([row('y')])].map((q) =>
      q.then((r) => r.map((e) => e.transactionId), (e: Error) => e.message),
    );
    await turn();
    expect(calls[0].rows.map((r) => r.transactionId)).toEqual(['x', 'dup', 'bad', 'y']);
    calls[0].fail(new Error('group failed'));
    for (const expected of [['x', 'dup'], ['dup', 'bad'], ['y']]) {
      await new Promise((r) => setTimeout(r, 1));
      const c = calls[calls.length - 1];
      expect(c.rows.map((r) => r.transactionId)).toEqual(expected);
      if (expected.includes('bad')) c.fail(new Error('bad row'));
      else c.commit();
    }
    expect(await Promise.all(p)).toEqual([['x', 'dup'], 'bad row', ['y']]);
    expect(writer.counters).toMatchObject({ statements: 4, requests: 3 });
  });

  test('flush waits for queued and in-flight statements; close rejects later writes', async () => {
    const { calls, insert } = fakeStatements();
    const writer = new EventWriter({} as never, { insert, logger: silent, maxConcurrentWrites: 1 });
    const a = writer.write([row('a')]);
    await turn();
    const b = writer.write([row('b')]); // queued: the only slot is busy
    let closed = false;
    const closing = writer.close().then(() => (closed = true));
    calls[0].commit();
    await a;
    await turn();
    expect(calls).toHaveLength(2);
    expect(closed).toBe(false);
    calls[1].commit();
    await Promise.all([b, closing]);
    expect(calls.flatMap((c) => c.rows.map((r) => r.transactionId))).toEqual(['a', 'b']);
    await expect(writer.write([row('c')])).rejects.toThrow('closed');
  });
});

describe('insertEventsWithRollups: one statement per group', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('event_writer');
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function setup() {
    const s = await createBillingSetup(t.db, {
      metrics: [
        { code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' },
        { code: 'uniq', aggregationType: 'unique_count_agg', fieldName: 'user' },
      ],
      charges: ([tokens, uniq]) => [
        { metricId: tokens!.id, properties: { amount: '0.000002' } },
        { metricId: uniq!.id, properties: { amount: '1' } },
      ],
    });
    const specs = await loadRollupMetricSpecs(t.db, s.org.id);
    const ev = (tx: string, tokens: unknown, code = 'tokens', timestamp = '2026-11-01T10:15:00.000Z'): EventRow => ({
      organizationId: s.org.id,
      transactionId: tx,
      externalSubscriptionId: s.ref.externalSubscriptionId,
      subscriptionId: s.sub.id,
      code,
      timestamp,
      properties: code === 'tokens' ? { tokens } : { user: tokens },
      preciseTotalAmount: null,
    });
    return { s, lookup: (_o: string, code: string) => specs.get(code), ev };
  }

  const rollups = async (subscriptionId: string) =>
    (
      await t.db.raw(
        `SELECT metric_code, bucket_start, events_count::int AS n, sum::text AS sum, max::text AS max, invalid_values_count::int AS bad
         FROM usage_rollups WHERE subscription_id = ? ORDER BY metric_code, bucket_start`,
        [subscriptionId],
      )
    ).rows.map((r: { bucket_start: Date }) => ({ ...r, bucket_start: r.bucket_start.toISOString() }));

  test('ONE autocommit statement (no BEGIN / COMMIT); returns the new rows with id and created_at; duplicates never count', async () => {
    const { s, lookup, ev } = await setup();
    const texts: string[] = [];
    const query = pg.Client.prototype.query;
    const spy = jest.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const c = args[0];
      texts.push(typeof c === 'string' ? c : (c as { text: string }).text);
      return (query as (...a: unknown[]) => unknown).apply(this, args) as never;
    });
    let first: InsertedEvent[];
    try {
      first = await insertEventsWithRollups(t.db, [ev('t1', 5), ev('t2', '0.000001'), ev('t3', 'abc'), ev('u1', 'x', 'uniq'), ev('t2', 1000)], lookup);
    } finally {
      spy.mockRestore();
    }
    expect(texts).toHaveLength(1);
    expect(texts[0]).not.toMatch(/\bBEGIN\b|\bCOMMIT\b/i);
    expect(first.map((e) => e.transactionId).sort()).toEqual(['t1', 't2', 't3', 'u1']);
    for (const e of first) {
      expect(e.id).toMatch(/^[0-9a-f-]{36}$/); // the lago_id (uuid)
      expect(e.createdAt).toBeInstanceOf(Date);
      expect(Math.abs(e.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    }
    // The repeated t2 kept its first occurrence (0.000001), exactly (no float on the way).
    expect((await t.db('events').where({ organization_id: s.org.id, transaction_id: 't2' }).first()).properties).toEqual({ tokens: '0.000001' });
    // Replays (and a replay mixed with one new row) insert and count only the new row.
    expect(await insertEventsWithRollups(t.db, [ev('t1', 5), ev('t3', 'abc')], lookup)).toEqual([]);
    expect((await insertEventsWithRollups(t.db, [ev('t2', 7), ev('t4', 2, 'tokens', '2026-11-01T11:00:00.000Z')], lookup)).map((e) => e.transactionId)).toEqual(['t4']);
    expect(await rollups(s.sub.id)).toEqual([
      { metric_code: 'tokens', bucket_start: '2026-11-01T10:00:00.000Z', n: 3, sum: '5.000001', max: '5', bad: 1 },
      { metric_code: 'tokens', bucket_start: '2026-11-01T11:00:00.000Z', n: 1, sum: '2', max: '2', bad: 0 },
    ]);
  });

  test('a failing row fails the whole statement: neither its events nor any rollup are written', async () => {
    const { s, lookup, ev } = await setup();
    await expect(insertEventsWithRollups(t.db, [ev('ok', 1), ev('bad', 1, 'tokens', 'not-a-timestamp')], lookup)).rejects.toThrow();
    expect(await t.db('events').where({ organization_id: s.org.id })).toHaveLength(0);
    expect(await rollups(s.sub.id)).toEqual([]);
  });

  test('concurrent statements over the same transaction ids in opposite orders and the same hot rollup rows: no deadlock, each event counted once', async () => {
    const { s, lookup, ev } = await setup();
    const ids = Array.from({ length: 3000 }, (_, i) => `c-${i}`);
    const groups = Array.from({ length: 8 }, (_, g) => {
      const order = g % 2 === 0 ? ids : [...ids].reverse();
      return order.filter((_, i) => (i + g) % 3 !== 0).map((id) => ev(id, Number(id.slice(2)) % 7));
    });
    const inserted = await Promise.all(groups.map((g) => insertEventsWithRollups(t.db, g, lookup)));
    const all = inserted.flat().map((e) => e.transactionId);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(3000);
    const expectedSum = ids.reduce((acc, id) => acc + (Number(id.slice(2)) % 7), 0);
    expect(await rollups(s.sub.id)).toEqual([{ metric_code: 'tokens', bucket_start: '2026-11-01T10:00:00.000Z', n: 3000, sum: String(expectedSum), max: '6', bad: 0 }]);
  });

  test('an event whose metric has no spec throws before anything is written', async () => {
    const { s, ev } = await setup();
    await expect(insertEventsWithRollups(t.db, [ev('n1', 1)], () => undefined)).rejects.toThrow(/no metric spec/);
    expect(await t.db('events').where({ organization_id: s.org.id })).toHaveLength(0);
  });
});
