// The ingest machinery on its own: group commit failure isolation, usage-signal coalescing and retry,
// decimal and timestamp parsing.
import type { Client } from '@temporalio/client';
import { EventWriter } from '../../api/ingest/event-writer';
import { UsageSignaller } from '../../api/ingest/usage-signaller';
import { addDecimal, shiftDecimal, toDecimalString } from '../../api/ingest/decimal';
import { hourBucket, parseEventTimestamp } from '../../api/ingest/timestamp';
import type { EventRow } from '../../db/repositories/events';
import { ensureOrganization } from '../../db/repositories/organizations';
import { createTestDatabase, type TestDatabase } from '../support/services';

const silent = { info() {}, warn() {}, error() {} };

describe('EventWriter', () => {
  let database: TestDatabase;
  let orgId: string;
  beforeAll(async () => {
    database = await createTestDatabase('api_writer');
    orgId = (await ensureOrganization(database.db, 'w', 'W')).id;
  });
  afterAll(async () => {
    await database?.drop();
  });

  const row = (tx: string, timestamp = '2026-01-01T00:00:00.000Z'): EventRow => ({
    organizationId: orgId,
    transactionId: tx,
    externalSubscriptionId: 's',
    subscriptionId: '00000000-0000-4000-8000-000000000000',
    code: 'm',
    timestamp,
    properties: { n: 1 },
    preciseTotalAmount: null,
  });

  test('a failing request in a group fails alone: none of its rows are committed, the others are', async () => {
    const writer = new EventWriter(database.db, { maxDelayMs: 20, logger: silent });
    const results = await Promise.allSettled([
      writer.write([row('ok-1'), row('ok-2')]),
      writer.write([row('bad-1'), row('bad-2', 'not-a-timestamp')]),
      writer.write([row('ok-3')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const txs = (await database.db('events').select('transaction_id')).map((r) => r.transaction_id).sort();
    expect(txs).toEqual(['ok-1', 'ok-2', 'ok-3']);
    await writer.close();
  });

  test('concurrent writers of one transaction id: exactly one of them inserts it', async () => {
    const writer = new EventWriter(database.db, { maxDelayMs: 5, logger: silent });
    const results = await Promise.all(Array.from({ length: 20 }, () => writer.write([row('same')])));
    expect(results.filter((r) => r.length === 1)).toHaveLength(1);
    expect(await database.db('events').where({ transaction_id: 'same' })).toHaveLength(1);
    await writer.close();
  });
});

describe('UsageSignaller', () => {
  function fakeClient(behaviour: () => Promise<void>) {
    const sent: { workflowId: string; payload: any }[] = [];
    const client = {
      workflow: {
        getHandle: (workflowId: string) => ({
          signal: async (_def: unknown, payload: unknown) => {
            await behaviour();
            sent.push({ workflowId, payload });
          },
        }),
      },
    } as unknown as Client;
    return { client, sent };
  }

  test('deltas are coalesced per subscription, metric and hour, with exact decimal units', async () => {
    const { client, sent } = fakeClient(async () => {});
    const s = new UsageSignaller(client, { logger: silent });
    for (let i = 0; i < 1000; i++) s.add('sub-a', { metricCode: 'tokens', bucketStart: '2026-01-01T00:00:00.000Z', eventsCount: 1, units: '0.1' });
    s.add('sub-a', { metricCode: 'tokens', bucketStart: '2026-01-01T01:00:00.000Z', eventsCount: 1, units: '5' });
    s.add('sub-b', { metricCode: 'calls', bucketStart: '2026-01-01T00:00:00.000Z', eventsCount: 2, units: '0' });
    await s.flush();
    expect(s.counters.signalsSent).toBe(2);
    const a = sent.find((x) => x.workflowId === 'subscription:sub-a')!;
    expect(a.payload.deltas).toEqual([
      { metricCode: 'tokens', bucketStart: '2026-01-01T00:00:00.000Z', eventsCount: 1000, units: '100' },
      { metricCode: 'tokens', bucketStart: '2026-01-01T01:00:00.000Z', eventsCount: 1, units: '5' },
    ]);
  });

  test('a failed send is retried on the next flush with the deltas merged', async () => {
    let fail = true;
    const { client, sent } = fakeClient(async () => {
      if (fail) throw new Error('temporal unavailable');
    });
    const s = new UsageSignaller(client, { logger: silent });
    s.add('sub', { metricCode: 'm', bucketStart: '2026-01-01T00:00:00.000Z', eventsCount: 1, units: '1.5' });
    await s.flush();
    expect(s.counters.signalFailures).toBe(1);
    fail = false;
    s.add('sub', { metricCode: 'm', bucketStart: '2026-01-01T00:00:00.000Z', eventsCount: 2, units: '2.5' });
    await s.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0].payload.deltas).toEqual([{ metricCode: 'm', bucketStart: '2026-01-01T00:00:00.000Z', eventsCount: 3, units: '4' }]);
  });

  test('the timer sends each subscription at most once per interval', async () => {
    const { client } = fakeClient(async () => {});
    const s = new UsageSignaller(client, { intervalMs: 200, logger: silent });
    s.start();
    const started = Date.now();
    while (Date.now() - started < 1000) {
      s.add('sub', { metricCode: 'm', bucketStart: '2026-01-01T00:00:00.000Z', eventsCount: 1, units: '1' });
      await new Promise((r) => setTimeout(r, 5));
    }
    await s.stop();
    // ~1000 ms / 200 ms = 5 ticks, plus the final flush.
    expect(s.counters.signalsSent).toBeLessThanOrEqual(7);
    expect(s.counters.signalsSent).toBeGreaterThanOrEqual(3);
  });
});

describe('decimal and timestamp parsing (no floats)', () => {
  test.each([
    [12, '12'],
    ['0.1', '0.1'],
    ['1e3', '1000'],
    [1e-7, '0.0000001'],
    ['-2.50', '-2.5'],
    ['abc', null],
    ['1,5', null],
    [true, null],
    [Number.NaN, null],
  ])('toDecimalString(%p) = %p', (input, expected) => {
    expect(toDecimalString(input)).toBe(expected);
  });

  test('addition and shifting are exact', () => {
    expect(addDecimal('0.1', '0.2')).toBe('0.3');
    expect(addDecimal('999999999999999999.999', '0.001')).toBe('1000000000000000000');
    expect(shiftDecimal('1.5', 2)).toBe('150');
    expect(shiftDecimal('0.000002', 2)).toBe('0.0002');
  });

  test.each([
    ['1767225600', '2026-01-01T00:00:00.000Z'],
    ['1767225600.999999', '2026-01-01T00:00:00.999Z'],
    ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01', null],
    ['1767225600.', null],
    ['99999999999999', null],
  ])('parseEventTimestamp(%p) = %p', (input, expected) => {
    expect(parseEventTimestamp(input)).toBe(expected);
  });

  test('hour buckets floor to the UTC hour', () => {
    expect(hourBucket('2026-01-01T13:59:59.999Z')).toBe('2026-01-01T13:00:00.000Z');
  });
});
