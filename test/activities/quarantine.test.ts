// One stored row billing cannot use (stored before the door checked values) never blocks a period: it is
// quarantined, reported, and the rest is invoiced.
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { getInvoice } from '../../db/repositories/invoices';
import { listQuarantinedEvents } from '../../db/repositories/quarantine';
import { createBillingSetup, ingestEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_quar');
});
afterAll(async () => {
  await t.drop();
});

async function setup() {
  const s = await createBillingSetup(t.db, {
    planAmountCents: 1000,
    metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
    charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '0.01' } }],
  });
  const activities = createActivities({ db: t.db });
  const input = { organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription' as const, period: NOV, fullPeriod: NOV };
  return { ...s, activities, input };
}

describe('poison rows at period close', () => {
  it('a stored sum value of 1e79 is quarantined and reported; the period is invoiced from the other events', async () => {
    const s = await setup();
    await ingestEvents(t.db, s.ref, [
      { code: 'tokens', timestamp: '2026-11-10T10:15:00.000Z', properties: { tokens: 100 }, transactionId: 'good-1' },
      { code: 'tokens', timestamp: '2026-11-10T10:45:00.000Z', properties: { tokens: 1e79 }, transactionId: 'poison-1' },
      { code: 'tokens', timestamp: '2026-11-20T00:00:00.000Z', properties: { tokens: '50' }, transactionId: 'good-2' },
    ]);

    const res = await s.activities.createPeriodInvoice(s.input);

    // 1000 (fee) + 150 tokens × 0.01 = 150 cents
    expect(res).toMatchObject({ created: true, totalAmountCents: 1150 });
    const inv = await getInvoice(t.db, s.org.id, res.invoiceId);
    expect(inv!.fees.find((f) => f.metricCode === 'tokens')).toMatchObject({ units: '150', eventsCount: 2 });
    // Moved, not dropped: the whole row is in quarantined_events, listed for operators.
    expect(await t.db('events').where({ organization_id: s.org.id, transaction_id: 'poison-1' })).toHaveLength(0);
    const { rows } = await listQuarantinedEvents(t.db, s.org.id, 1, 20);
    expect(rows).toEqual([
      expect.objectContaining({ transactionId: 'poison-1', code: 'tokens', field: 'properties.tokens', reasonCode: 'value_is_out_of_range' }),
    ]);
    expect(String(rows[0]!.properties.tokens)).toMatch(/^1e\+?79$|^10{79}$/);
    // Reported in the event-error log with a code.
    const errors = await t.db('event_errors').where({ organization_id: s.org.id, transaction_id: 'poison-1' });
    expect(errors.map((e) => [e.error_code, e.field])).toEqual([['event_quarantined', 'properties.tokens']]);
    // The hourly rollup the poison row was counted in is rebuilt without it (current usage reads rollups).
    const rollups = await t.db('usage_rollups')
      .where({ organization_id: s.org.id, subscription_id: s.sub.id, bucket_start: new Date('2026-11-10T10:00:00.000Z') })
      .select(t.db.raw('events_count::int AS n, sum::text AS sum, max::text AS max'));
    expect(rollups).toEqual([{ n: 1, sum: '100', max: '100' }]);
  });

  it('closing the period again changes nothing (the quarantine is not repeated, the invoice is the same)', async () => {
    const s = await setup();
    await ingestEvents(t.db, s.ref, [
      { code: 'tokens', timestamp: '2026-11-10T10:15:00.000Z', properties: { tokens: 7 } },
      { code: 'tokens', timestamp: '2026-11-11T00:00:00.000Z', properties: { tokens: '9'.repeat(60) }, transactionId: 'poison-again' },
    ]);
    const first = await s.activities.createPeriodInvoice(s.input);
    const second = await s.activities.createPeriodInvoice(s.input);
    expect(second).toMatchObject({ invoiceId: first.invoiceId, totalAmountCents: first.totalAmountCents, created: false });
    expect(await t.db('quarantined_events').where({ organization_id: s.org.id })).toHaveLength(1);
    const errors = await t.db('event_errors').where({ organization_id: s.org.id, transaction_id: 'poison-again' });
    expect(errors).toHaveLength(1);
  });

  it('a failure no single row explains (one line beyond 2^53 cents from in-range values) still fails, nothing is quarantined', async () => {
    const s = await createBillingSetup(t.db, {
      metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
      charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '99999999999999' } }],
    });
    const activities = createActivities({ db: t.db });
    await ingestEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-10T00:00:00.000Z', properties: { tokens: '99999999999999' } }]);
    const err = await activities
      .createPeriodInvoice({ organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription', period: NOV, fullPeriod: NOV })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('amount_out_of_range');
    expect(await t.db('quarantined_events').where({ organization_id: s.org.id })).toHaveLength(0);
  });
});
