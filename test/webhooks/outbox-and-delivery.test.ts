// The outbox (enqueueWebhook in the producer's transaction) and the delivery activity against a real Postgres
// and a real local HTTP receiver that verifies both signatures. Time is the activity's injected clock: a retry
// becomes due by advancing it, never by waiting.
import crypto from 'node:crypto';
import { createWebhookActivities, retryDelayMs } from '../../activities/webhooks';
import { ensureOrganization, type Organization } from '../../db/repositories/organizations';
import {
  createWebhookEndpoint,
  enqueueWebhook,
  getWebhook,
  getWebhookKeys,
  listWebhooks,
  retryWebhook,
  type WebhookEvent,
} from '../../db/repositories/webhooks';
import { createTestDatabase, type TestDatabase } from '../support/services';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const BASE_DELAY_MS = 60_000;

describe('outgoing webhooks: outbox and delivery', () => {
  let t: TestDatabase;
  let clock: Date;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    t = await createTestDatabase('webhooks');
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await t.drop();
  });

  async function newOrg(): Promise<Organization> {
    return ensureOrganization(t.db, `org-${crypto.randomBytes(4).toString('hex')}`, 'Org');
  }

  function deliverer(maxAttempts = 8) {
    return createWebhookActivities({ db: t.db, webhooks: { baseDelayMs: BASE_DELAY_MS, maxAttempts, timeoutMs: 5_000, now: () => clock } });
  }

  async function receiver(opts: Parameters<typeof startWebhookReceiver>[0] = {}): Promise<WebhookReceiver> {
    const r = await startWebhookReceiver(opts);
    receivers.push(r);
    return r;
  }

  function event(org: Organization, key: string, webhookType = 'customer.created'): WebhookEvent {
    return { organizationId: org.id, webhookType, objectType: 'customer', object: { lago_id: key, external_id: `ext-${key}` }, uniqueKey: `${webhookType}:${key}` };
  }

  beforeEach(async () => {
    // Rows are enqueued due at the database's now(): the activity's clock starts an hour later, so they are due.
    clock = new Date(Date.now() + 3_600_000);
    // The delivery serves every organization of the database: each test starts with an empty outbox.
    await t.db('webhook_endpoints').delete();
  });

  it('a rolled-back producer transaction enqueues nothing', async () => {
    const org = await newOrg();
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: 'http://127.0.0.1:9/x', signatureAlgo: 'hmac' });
    await expect(
      t.db.transaction(async (trx) => {
        expect(await enqueueWebhook(trx, event(org, 'c1'))).toBe(1);
        throw new Error('the change this webhook announces failed');
      }),
    ).rejects.toThrow('the change this webhook announces failed');
    const { totalCount } = await listWebhooks(t.db, org.id, { page: 1, perPage: 20 });
    expect(totalCount).toBe(0);
  });

  it('the unique key makes a retried producer transaction enqueue once per endpoint', async () => {
    const org = await newOrg();
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: 'http://127.0.0.1:9/a', signatureAlgo: 'hmac' });
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: 'http://127.0.0.1:9/b', signatureAlgo: 'jwt' });
    const first = await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c2')));
    const second = await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c2')));
    expect([first, second]).toEqual([2, 0]);
    const { webhooks } = await listWebhooks(t.db, org.id, { page: 1, perPage: 20 });
    expect(webhooks).toHaveLength(2);
    expect(new Set(webhooks.map((w) => w.webhookEndpointId)).size).toBe(2);
  });

  it('event_types filters what an endpoint receives (null = every type)', async () => {
    const org = await newOrg();
    const invoicesOnly = await createWebhookEndpoint(t.db, org.id, { webhookUrl: 'http://127.0.0.1:9/i', eventTypes: ['invoice.created'] });
    const all = await createWebhookEndpoint(t.db, org.id, { webhookUrl: 'http://127.0.0.1:9/all', eventTypes: null });
    await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c3', 'customer.created')));
    await t.db.transaction((trx) => enqueueWebhook(trx, { ...event(org, 'i3', 'invoice.created'), objectType: 'invoice' }));
    const forInvoices = await listWebhooks(t.db, org.id, { webhookEndpointId: invoicesOnly.id, page: 1, perPage: 20 });
    const forAll = await listWebhooks(t.db, org.id, { webhookEndpointId: all.id, page: 1, perPage: 20 });
    expect(forInvoices.webhooks.map((w) => w.webhookType)).toEqual(['invoice.created']);
    expect(forAll.webhooks.map((w) => w.webhookType).sort()).toEqual(['customer.created', 'invoice.created']);
  });

  it('delivers once with a valid HMAC and a valid JWT signature, Lago payload and unique key', async () => {
    const org = await newOrg();
    const keys = await getWebhookKeys(t.db, org.id);
    const publicKeyBase64 = Buffer.from(keys.publicKeyPem).toString('base64');
    const r = await receiver({ hmacKey: keys.hmacKey, publicKeyBase64 });
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: r.url, signatureAlgo: 'hmac' });
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: r.url, signatureAlgo: 'jwt' });
    await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c4')));

    const result = await deliverer().deliverPendingWebhooks();
    expect(result).toMatchObject({ claimed: 2, succeeded: 2, retrying: 0, failed: 0, nextDueInMs: null });
    expect(r.received.map((x) => [x.algorithm, x.signatureValid]).sort()).toEqual([['hmac', true], ['jwt', true]]);
    for (const x of r.received) {
      expect(x.json).toEqual({ webhook_type: 'customer.created', object_type: 'customer', organization_id: org.id, customer: { lago_id: 'c4', external_id: 'ext-c4' } });
    }
    const { webhooks } = await listWebhooks(t.db, org.id, { page: 1, perPage: 20 });
    expect(r.received.map((x) => x.uniqueKey).sort()).toEqual(webhooks.map((w) => w.id).sort());
    // Nothing more is due: a second run sends nothing.
    expect((await deliverer().deliverPendingWebhooks()).claimed).toBe(0);
    expect(r.received).toHaveLength(2);
  });

  it('a receiver holding another organization\'s keys verifies neither signature', async () => {
    const org = await newOrg();
    const keys = await getWebhookKeys(t.db, org.id);
    const other = await getWebhookKeys(t.db, (await newOrg()).id);
    // The receiver holds ANOTHER organization's keys: neither signature may verify.
    const r = await receiver({ hmacKey: other.hmacKey, publicKeyBase64: Buffer.from(other.publicKeyPem).toString('base64') });
    expect(other.hmacKey).not.toBe(keys.hmacKey);
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: r.url, signatureAlgo: 'hmac' });
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: r.url, signatureAlgo: 'jwt' });
    await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c5')));
    await deliverer().deliverPendingWebhooks();
    expect(r.received.map((x) => x.signatureValid)).toEqual([false, false]);
  });

  it('a receiver answering 500 twice then 200 gets exactly one successful delivery; the log shows 3 attempts', async () => {
    const org = await newOrg();
    const keys = await getWebhookKeys(t.db, org.id);
    const r = await receiver({ hmacKey: keys.hmacKey, answer: (n) => (n < 2 ? 500 : 200) });
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: r.url, signatureAlgo: 'hmac' });
    await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c6')));
    const d = deliverer();

    expect(await d.deliverPendingWebhooks()).toMatchObject({ claimed: 1, retrying: 1, nextDueInMs: retryDelayMs(1, BASE_DELAY_MS) });
    // Not due yet: nothing is sent before the backoff elapses.
    clock = new Date(clock.getTime() + retryDelayMs(1, BASE_DELAY_MS) - 1);
    expect((await d.deliverPendingWebhooks()).claimed).toBe(0);
    clock = new Date(clock.getTime() + 1);
    expect(await d.deliverPendingWebhooks()).toMatchObject({ claimed: 1, retrying: 1, nextDueInMs: retryDelayMs(2, BASE_DELAY_MS) });
    clock = new Date(clock.getTime() + retryDelayMs(2, BASE_DELAY_MS));
    expect(await d.deliverPendingWebhooks()).toMatchObject({ claimed: 1, succeeded: 1, nextDueInMs: null });
    clock = new Date(clock.getTime() + 24 * 3600_000);
    expect((await d.deliverPendingWebhooks()).claimed).toBe(0);

    expect(r.received.map((x) => x.answeredStatus)).toEqual([500, 500, 200]);
    expect(r.delivered()).toHaveLength(1);
    expect(new Set(r.received.map((x) => x.uniqueKey)).size).toBe(1);
    const [w] = (await listWebhooks(t.db, org.id, { page: 1, perPage: 20 })).webhooks;
    const logged = await getWebhook(t.db, org.id, w!.id);
    expect(logged).toMatchObject({ status: 'succeeded', attempts: 3, httpStatus: 200 });
    expect(logged!.attemptsLog.map((a) => [a.attempt, a.httpStatus, a.succeeded])).toEqual([[1, 500, false], [2, 500, false], [3, 200, true]]);
  });

  it('a receiver that is down, then up, still gets the webhook', async () => {
    const org = await newOrg();
    const keys = await getWebhookKeys(t.db, org.id);
    const down = await startWebhookReceiver();
    const port = down.port;
    await down.close(); // nothing listens on that port now
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: `http://127.0.0.1:${port}/webhooks`, signatureAlgo: 'hmac' });
    await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c7')));
    const d = deliverer();
    expect(await d.deliverPendingWebhooks()).toMatchObject({ claimed: 1, retrying: 1 });
    const [w] = (await listWebhooks(t.db, org.id, { page: 1, perPage: 20 })).webhooks;
    const afterFailure = await getWebhook(t.db, org.id, w!.id);
    expect(afterFailure).toMatchObject({ status: 'retrying', httpStatus: null });
    expect(afterFailure!.attemptsLog[0]).toMatchObject({ attempt: 1, httpStatus: null, succeeded: false });
    expect(afterFailure!.attemptsLog[0]!.error).toMatch(/ECONNREFUSED/);

    const up = await receiver({ hmacKey: keys.hmacKey, port });
    clock = new Date(clock.getTime() + retryDelayMs(1, BASE_DELAY_MS));
    expect(await d.deliverPendingWebhooks()).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(up.delivered()).toHaveLength(1);
    expect(up.delivered()[0]!.signatureValid).toBe(true);
  });

  it('a worker that dies after claiming leaves the webhook due again after its lease (never lost)', async () => {
    const org = await newOrg();
    const r = await receiver();
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: r.url, signatureAlgo: 'hmac' });
    await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c8')));
    // A claim without the delivery that should follow it (the worker died in between).
    const { claimDueWebhooks } = await import('../../db/repositories/webhooks');
    const claimed = await claimDueWebhooks(t.db, { now: clock, limit: 10, leaseMs: 60_000 });
    expect(claimed).toHaveLength(1);
    const d = deliverer();
    expect((await d.deliverPendingWebhooks()).claimed).toBe(0); // leased
    clock = new Date(clock.getTime() + 60_000);
    expect(await d.deliverPendingWebhooks()).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(r.delivered()).toHaveLength(1);
  });

  it('after maxAttempts failures the webhook is failed; a manual retry delivers it', async () => {
    const org = await newOrg();
    let healthy = false;
    const r = await receiver({ answer: () => (healthy ? 200 : 503) });
    await createWebhookEndpoint(t.db, org.id, { webhookUrl: r.url, signatureAlgo: 'hmac' });
    await t.db.transaction((trx) => enqueueWebhook(trx, event(org, 'c9')));
    const d = deliverer(3);
    for (let n = 1; n <= 3; n++) {
      await d.deliverPendingWebhooks();
      clock = new Date(clock.getTime() + retryDelayMs(n, BASE_DELAY_MS));
    }
    const [w] = (await listWebhooks(t.db, org.id, { page: 1, perPage: 20 })).webhooks;
    expect(await getWebhook(t.db, org.id, w!.id)).toMatchObject({ status: 'failed', attempts: 3, httpStatus: 503 });
    clock = new Date(clock.getTime() + 30 * 24 * 3600_000);
    expect((await d.deliverPendingWebhooks()).claimed).toBe(0); // failed is final until a manual retry

    expect(await retryWebhook(t.db, org.id, crypto.randomUUID(), clock)).toBe('not_found');
    healthy = true;
    expect(await retryWebhook(t.db, org.id, w!.id, clock)).toMatchObject({ status: 'retrying' });
    expect(await d.deliverPendingWebhooks()).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(await retryWebhook(t.db, org.id, w!.id, clock)).toBe('not_failed');
    const logged = await getWebhook(t.db, org.id, w!.id);
    expect(logged!.attemptsLog.map((a) => a.httpStatus)).toEqual([503, 503, 503, 200]);
    expect(r.delivered()).toHaveLength(1);
  });
});
