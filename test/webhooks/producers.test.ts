// The producers wired today write their outbox rows in the same transaction as the change, once, in Lago's
// payload shape: alert.triggered (recordAlertTriggers), event.error (recordEventErrors), invoice.created
// (finalization) and invoice.drafted (a new draft in a grace period), the invoices rendered at delivery by the
// API's invoice serializer.
import { createActivities } from '../../activities';
import { createWebhookActivities } from '../../activities/webhooks';
import { renderWebhookObject } from '../../api/serializers/webhook-objects';
import { createAlert } from '../../db/repositories/alerts';
import { recordEventErrors } from '../../db/repositories/event-errors';
import { getInvoice } from '../../db/repositories/invoices';
import { createWebhookEndpoint, listWebhooks } from '../../db/repositories/webhooks';
import { createBillingSetup, ingestEvents, insertEvents } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const NOV = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

let t: TestDatabase;
let r: WebhookReceiver;
beforeAll(async () => {
  t = await createTestDatabase('wh_prod');
  r = await startWebhookReceiver();
});
afterAll(async () => {
  await r.close();
  await t.drop();
});
beforeEach(async () => {
  await t.db('webhook_endpoints').delete();
  r.received.length = 0;
});

const deliver = () => createWebhookActivities({ db: t.db, renderWebhookObject }).deliverPendingWebhooks();

describe('webhook producers', () => {
  it('alert.triggered: one webhook per recorded trigger, even when the evaluation runs twice concurrently', async () => {
    const periodStartMs = Math.floor((Date.now() - 10 * DAY_MS) / HOUR_MS) * HOUR_MS;
    const period = { start: new Date(periodStartMs).toISOString(), end: new Date(periodStartMs + 30 * DAY_MS).toISOString() };
    const s = await createBillingSetup(t.db, {
      planAmountCents: 2000,
      metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
      charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '0.01' } }],
      subscriptionAt: period.start,
    });
    await createWebhookEndpoint(t.db, s.org.id, { webhookUrl: r.url, signatureAlgo: 'hmac', eventTypes: ['alert.triggered'] });
    await createAlert(t.db, s.org.id, {
      subscriptionId: s.sub.id,
      alertType: 'current_usage_amount',
      code: 'spend',
      name: 'Spend',
      billableMetricId: null,
      thresholds: [{ code: 'warn', value: '500', recurring: false }, { code: 'limit', value: '1000', recurring: false }],
    });
    await ingestEvents(t.db, s.ref, [{ code: 'tokens', timestamp: new Date(periodStartMs + HOUR_MS).toISOString(), properties: { tokens: 1200 } }]);
    const activities = createActivities({ db: t.db });
    const input = { organizationId: s.org.id, subscriptionId: s.sub.id, period, fullPeriod: period };
    await Promise.all([activities.evaluateUsageThresholds(input), activities.evaluateUsageThresholds(input)]);

    expect((await listWebhooks(t.db, s.org.id, { page: 1, perPage: 20 })).totalCount).toBe(2);
    expect(await deliver()).toMatchObject({ claimed: 2, succeeded: 2 });
    const bodies = r.received.map((x) => x.json).sort((a, b) => a.triggered_alert.crossed_thresholds[0].value - b.triggered_alert.crossed_thresholds[0].value);
    expect(bodies.map((b) => [b.webhook_type, b.object_type, b.organization_id])).toEqual([
      ['alert.triggered', 'triggered_alert', s.org.id],
      ['alert.triggered', 'triggered_alert', s.org.id],
    ]);
    expect(bodies[0].triggered_alert).toMatchObject({
      lago_organization_id: s.org.id,
      lago_subscription_id: s.sub.id,
      external_subscription_id: s.sub.externalId,
      alert_type: 'current_usage_amount',
      alert_code: 'spend',
      alert_name: 'Spend',
      billable_metric_code: null,
      current_value: '1200',
      crossed_thresholds: [{ code: 'warn', value: '500', recurring: false }],
    });
    expect(bodies[1].triggered_alert.crossed_thresholds).toEqual([{ code: 'limit', value: '1000', recurring: false }]);
  });

  it('event.error: one webhook per newly recorded rejected event; the same bad event again adds none', async () => {
    const s = await createBillingSetup(t.db, { metrics: [], charges: () => [] });
    await createWebhookEndpoint(t.db, s.org.id, { webhookUrl: r.url, signatureAlgo: 'jwt' });
    const bad = {
      organizationId: s.org.id,
      transactionId: 'tx-bad-1',
      externalSubscriptionId: 'nope',
      code: 'tokens',
      timestamp: '1764547200',
      properties: { tokens: 5 },
      errorCode: 'subscription_not_found',
      field: 'external_subscription_id',
      requestId: 'req-1',
      raw: {},
    };
    expect(await recordEventErrors(t.db, [bad])).toBe(1);
    expect(await recordEventErrors(t.db, [bad])).toBe(0);
    const { webhooks } = await listWebhooks(t.db, s.org.id, { page: 1, perPage: 20 });
    expect(webhooks).toHaveLength(1);
    expect(JSON.parse(webhooks[0]!.payload!)).toEqual({
      webhook_type: 'event.error',
      object_type: 'event_error',
      organization_id: s.org.id,
      event_error: {
        status: 422,
        error: 'Unprocessable entity',
        message: { external_subscription_id: ['subscription_not_found'] },
        event: { transaction_id: 'tx-bad-1', external_subscription_id: 'nope', code: 'tokens', timestamp: '1764547200', properties: { tokens: 5 } },
      },
    });
  });

  async function invoiceSetup(orgGrace: number) {
    const s = await createBillingSetup(t.db, {
      planAmountCents: 2000,
      org: { invoiceGracePeriod: orgGrace },
      metrics: [{ code: 'tokens', aggregationType: 'sum_agg', fieldName: 'tokens' }],
      charges: ([tokens]) => [{ metricId: tokens!.id, properties: { amount: '0.000002' } }],
    });
    await insertEvents(t.db, s.ref, [{ code: 'tokens', timestamp: '2026-11-15T12:00:00.000Z', properties: { tokens: 1000000 } }]);
    await createWebhookEndpoint(t.db, s.org.id, { webhookUrl: r.url, signatureAlgo: 'hmac' });
    const activities = createActivities({ db: t.db });
    const input = { organizationId: s.org.id, subscriptionId: s.sub.id, kind: 'subscription' as const, period: NOV, fullPeriod: NOV };
    return { ...s, activities, input };
  }

  it('invoice.created: enqueued with the finalization (once, even finalized twice) and delivered as GET /invoices/:id serializes it', async () => {
    const s = await invoiceSetup(0);
    const created = await s.activities.createPeriodInvoice(s.input);
    // Without a grace period the draft is finalized next: no invoice.drafted (Lago's behaviour).
    expect((await listWebhooks(t.db, s.org.id, { page: 1, perPage: 20 })).totalCount).toBe(0);
    await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: created.invoiceId });
    await s.activities.finalizeInvoice({ organizationId: s.org.id, invoiceId: created.invoiceId });
    const { webhooks } = await listWebhooks(t.db, s.org.id, { page: 1, perPage: 20 });
    expect(webhooks.map((w) => [w.webhookType, w.objectType, w.objectId, w.payload])).toEqual([['invoice.created', 'invoice', created.invoiceId, null]]);

    expect(await deliver()).toMatchObject({ claimed: 1, succeeded: 1 });
    const [body] = r.received.map((x) => x.json);
    const stored = await getInvoice(t.db, s.org.id, created.invoiceId);
    expect(body).toMatchObject({ webhook_type: 'invoice.created', object_type: 'invoice', organization_id: s.org.id });
    expect(body.invoice).toEqual(await renderWebhookObject(t.db, s.org.id, 'invoice', created.invoiceId));
    expect(body.invoice).toMatchObject({ lago_id: created.invoiceId, status: 'finalized', number: stored!.number, total_amount_cents: 2200 });
    // The rendered body is stored: every later attempt sends (and signs) the same bytes.
    const [after] = (await listWebhooks(t.db, s.org.id, { page: 1, perPage: 20 })).webhooks;
    expect(after!.payload).toBe(r.received[0]!.body);
  });

  it('invoice.drafted: enqueued for a new draft that waits in a grace period, once', async () => {
    const s = await invoiceSetup(3);
    const first = await s.activities.createPeriodInvoice(s.input);
    await s.activities.createPeriodInvoice(s.input); // a retried close
    const { webhooks } = await listWebhooks(t.db, s.org.id, { page: 1, perPage: 20 });
    expect(webhooks.map((w) => [w.webhookType, w.objectId])).toEqual([['invoice.drafted', first.invoiceId]]);
    expect(await deliver()).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(r.received[0]!.json.invoice).toMatchObject({ lago_id: first.invoiceId, status: 'draft', total_amount_cents: 2200 });
  });
});
