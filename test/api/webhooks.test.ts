// Outgoing webhooks through the real HTTP API, a real worker running the webhook delivery workflow on the
// Temporal dev server, and a real local receiver that verifies both signatures with the keys the API serves.
// Retries use short intervals (options), and the tests wait for deliveries to arrive, never for a time.
import crypto from 'node:crypto';
import { webhookDeliveryWorkflow } from '../../workflows/webhook-delivery';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { startApiHarness, type ApiHarness } from './harness';
import { startHarnessWorker, type HarnessWorker } from '../support/harness-worker';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

let h: ApiHarness;
let worker: HarnessWorker;
const workflowId = `webhook-delivery-test-${crypto.randomBytes(4).toString('hex')}`;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  h = await startApiHarness({ prefix: 'webhooks' });
  worker = await startHarnessWorker(h, { webhooks: { baseDelayMs: 100, timeoutMs: 5_000 } });
  await h.client.workflow.start(webhookDeliveryWorkflow, { workflowId, taskQueue: h.taskQueue, args: [{ pollIntervalMs: 100, maxIterations: 50 }] });
});

afterAll(async () => {
  await h.client.workflow.getHandle(workflowId).terminate('test cleanup').catch(() => undefined);
  await Promise.all(receivers.map((r) => r.close()));
  await worker.stop();
  await h.stop();
});

async function receiver(answer?: (n: number) => number): Promise<WebhookReceiver> {
  const hmac = await h.request('GET', '/webhooks/hmac_key');
  const publicKey = await h.raw('GET', '/webhooks/public_key', undefined, { authorization: `Bearer ${h.apiKey}` });
  expect(publicKey.headers.get('content-type')).toMatch(/^text\/plain/);
  const r = await startWebhookReceiver({ hmacKey: hmac.body.webhook.hmac_key, publicKeyBase64: publicKey.body as string, answer });
  receivers.push(r);
  return r;
}

/**
 * The log once no webhook of this type is still pending or retrying: the receiver sees a delivery before the
 * activity records its attempt, so the log is read after that (polling, no timed assertion).
 */
async function settledLog(webhookType: string): Promise<any[]> {
  for (let i = 0; i < 300; i++) {
    const log = await h.request('GET', `/webhooks?webhook_type=${webhookType}`);
    if (log.body.webhooks.every((w: any) => w.status === 'succeeded' || w.status === 'failed')) return log.body.webhooks;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${webhookType} webhooks never settled`);
}

async function deleteAllEndpoints(): Promise<void> {
  const list = await h.request('GET', '/webhook_endpoints?per_page=100');
  for (const e of list.body.webhook_endpoints) await h.request('DELETE', `/webhook_endpoints/${e.lago_id}`);
}

describe('/webhook_endpoints', () => {
  afterEach(deleteAllEndpoints);

  it('creates, reads, lists, updates and deletes an endpoint in Lago\'s shape', async () => {
    const created = await h.request('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: 'https://example.test/hooks', name: 'prod' } });
    expect(created.status).toBe(200);
    const e = created.body.webhook_endpoint;
    expect(e).toEqual({
      lago_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      lago_organization_id: h.org.id,
      webhook_url: 'https://example.test/hooks',
      signature_algo: 'jwt', // Lago's default
      name: 'prod',
      event_types: null,
      created_at: expect.any(String),
    });
    expect((await h.request('GET', `/webhook_endpoints/${e.lago_id}`)).body).toEqual(created.body);

    const updated = await h.request('PUT', `/webhook_endpoints/${e.lago_id}`, {
      webhook_endpoint: { webhook_url: 'http://example.test/v2', signature_algo: 'hmac', event_types: ['invoice.created'] },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.webhook_endpoint).toMatchObject({ webhook_url: 'http://example.test/v2', signature_algo: 'hmac', event_types: ['invoice.created'], name: 'prod' });

    const list = await h.request('GET', '/webhook_endpoints');
    expect(list.body).toEqual({
      webhook_endpoints: [updated.body.webhook_endpoint],
      meta: { current_page: 1, next_page: null, prev_page: null, total_pages: 1, total_count: 1 },
    });

    const deleted = await h.request('DELETE', `/webhook_endpoints/${e.lago_id}`);
    expect(deleted.body).toEqual(updated.body);
    expect((await h.request('GET', `/webhook_endpoints/${e.lago_id}`)).body).toMatchObject({ status: 404, code: 'webhook_endpoint_not_found' });
    expect((await h.request('PUT', `/webhook_endpoints/${crypto.randomUUID()}`, { webhook_endpoint: { webhook_url: 'https://x.test' } })).status).toBe(404);
  });

  it('refuses an 11th endpoint with a 422 and keeps 10', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await h.request('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: `https://example.test/${i}` } })).status).toBe(200);
    }
    const eleventh = await h.request('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: 'https://example.test/10' } });
    expect(eleventh.status).toBe(422);
    expect(eleventh.body).toMatchObject({ status: 422, code: 'validation_errors', error_details: { base: ['exceeded_limit'] } });
    expect((await h.request('GET', '/webhook_endpoints')).body.meta.total_count).toBe(10);
  });

  it.each([['ftp://example.test/x'], ['not a url'], ['javascript:alert(1)'], ['file:///etc/passwd']])('refuses webhook_url %s (http and https only)', async (url) => {
    const res = await h.request('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: url } });
    expect(res.status).toBe(422);
    expect(res.body.error_details).toEqual({ webhook_url: ['url_invalid_format'] });
  });

  it('refuses an unknown signature_algo and a missing webhook_url', async () => {
    const algo = await h.request('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: 'https://x.test', signature_algo: 'md5' } });
    expect(algo.body.error_details).toEqual({ signature_algo: ['value_is_invalid'] });
    const missing = await h.request('POST', '/webhook_endpoints', { webhook_endpoint: {} });
    expect(missing.body.error_details).toEqual({ webhook_url: ['value_is_mandatory'] });
  });

  it("never shows another organization's endpoints", async () => {
    const created = await h.request('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: 'https://example.test/mine' } });
    const other = await ensureOrganization(h.database.db, `other-${crypto.randomBytes(3).toString('hex')}`, 'Other');
    const otherKey = await createApiKey(h.database.db, other.id);
    const auth = { authorization: `Bearer ${otherKey}` };
    expect((await h.raw('GET', `/webhook_endpoints/${created.body.webhook_endpoint.lago_id}`, undefined, auth)).status).toBe(404);
    expect((await h.raw('GET', '/webhook_endpoints', undefined, auth)).body.webhook_endpoints).toEqual([]);
    expect((await h.raw('DELETE', `/webhook_endpoints/${created.body.webhook_endpoint.lago_id}`, undefined, auth)).status).toBe(404);
    // Each organization has its own keys.
    const mine = await h.request('GET', '/webhooks/json_public_key');
    const theirs = await h.raw('GET', '/webhooks/json_public_key', undefined, auth);
    expect(mine.body.webhook.public_key).not.toEqual(theirs.body.webhook.public_key);
  });

  it('serves the same public key as text and as JSON, generated once', async () => {
    const text = await h.raw('GET', '/webhooks/public_key', undefined, { authorization: `Bearer ${h.apiKey}` });
    const json = await h.request('GET', '/webhooks/json_public_key');
    expect(json.body).toEqual({ webhook: { public_key: text.body } });
    expect(Buffer.from(text.body as string, 'base64').toString('utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(JSON.stringify(json.body)).not.toMatch(/PRIVATE/);
  });
});

describe('delivery by the webhook delivery workflow', () => {
  afterEach(deleteAllEndpoints);

  it('a customer.created webhook arrives once at each endpoint, with valid HMAC and JWT signatures', async () => {
    const r = await receiver();
    for (const algo of ['hmac', 'jwt']) {
      const ep = await h.request('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: r.url, signature_algo: algo, event_types: ['customer.created'] } });
      expect(ep.status).toBe(200);
    }
    const customer = await h.request('POST', '/customers', { customer: { external_id: 'wh-cust-1', name: 'Ada', currency: 'EUR' } });
    expect(customer.status).toBe(200);

    const delivered = await r.waitForDeliveries(2);
    expect(delivered.map((d) => [d.algorithm, d.signatureValid]).sort()).toEqual([['hmac', true], ['jwt', true]]);
    for (const d of delivered) {
      expect(d.json).toEqual({ webhook_type: 'customer.created', object_type: 'customer', organization_id: h.org.id, customer: customer.body.customer });
    }
    // The log says both succeeded on their first attempt, and nothing else was sent.
    const log = await settledLog('customer.created');
    expect(log.map((w: any) => [w.status, w.attempts, w.http_status])).toEqual([['succeeded', 1, 200], ['succeeded', 1, 200]]);
    expect(new Set(delivered.map((d) => d.uniqueKey))).toEqual(new Set(log.map((w: any) => w.lago_id)));
    expect(r.received).toHaveLength(2);

    // An update is customer.updated: these endpoints filter it out, so nothing is enqueued for them.
    await h.request('POST', '/customers', { customer: { external_id: 'wh-cust-1', name: 'Ada L.' } });
    expect((await h.request('GET', '/webhooks?webhook_type=customer.updated')).body.meta.total_count).toBe(0);
  });

  it('a receiver that answers 500 twice then 200 gets one successful delivery; the log shows 3 attempts', async () => {
    const r = await receiver((n) => (n < 2 ? 500 : 200));
    await h.request('POST', '/webhook_endpoints', { webhook_endpoint: { webhook_url: r.url, signature_algo: 'hmac', event_types: ['customer.updated'] } });
    await h.request('POST', '/customers', { customer: { external_id: 'wh-cust-2', name: 'Grace' } });
    await h.request('POST', '/customers', { customer: { external_id: 'wh-cust-2', name: 'Grace H.' } });

    const [d] = await r.waitForDeliveries(1);
    expect(d!.signatureValid).toBe(true);
    expect(d!.json).toMatchObject({ webhook_type: 'customer.updated', customer: { external_id: 'wh-cust-2', name: 'Grace H.' } });
    expect(r.received.map((x) => x.answeredStatus)).toEqual([500, 500, 200]);
    const list = await settledLog('customer.updated');
    expect(list).toHaveLength(1);
    const one = await h.request('GET', `/webhooks/${list[0].lago_id}`);
    expect(one.body.webhook).toMatchObject({ status: 'succeeded', attempts: 3, retries: 2, http_status: 200, next_attempt_at: null });
    expect(one.body.webhook.attempts_log.map((a: any) => [a.attempt, a.http_status, a.succeeded])).toEqual([[1, 500, false], [2, 500, false], [3, 200, true]]);
    // A succeeded webhook is not retried by hand.
    const retry = await h.request('POST', `/webhooks/${one.body.webhook.lago_id}/retry`);
    expect(retry.status).toBe(422);
    expect(retry.body.error_details).toEqual({ status: ['not_failed'] });
    expect((await h.request('POST', `/webhooks/${crypto.randomUUID()}/retry`)).status).toBe(404);
  });
});
