// Structured JSON logs (pino, config/logger.ts): one line per request with its request id (the client's X-Request-Id
// or a generated one, the same as the response header), and never a key or a secret, whether it comes in a header,
// in a field of the app's own log lines or inside an error message. The lines are read from the logger's stream.
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { startApi, type RunningApi } from '../../api/server';
import { appLogger, createRootLogger, logLevelFromEnv, scrubSecrets } from '../../config/logger';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { temporalRuntimeLogger } from '../../worker/logging';
import { createTestDatabase, temporalTestAddress, type TestDatabase } from '../support/services';

let database: TestDatabase;
let connection: Connection;
let api: RunningApi;
let apiKey: string;
const lines: string[] = [];

function memoryStream(into: string[]): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      into.push(...String(chunk).split('\n').filter((l) => l.length > 0));
      done();
    },
  });
}

const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, any>);

beforeAll(async () => {
  database = await createTestDatabase('logs');
  connection = await Connection.connect({ address: temporalTestAddress() });
  const org = await ensureOrganization(database.db, `logs-${crypto.randomBytes(3).toString('hex')}`, 'Logs');
  apiKey = await createApiKey(database.db, org.id);
  const log = createRootLogger({ name: 'meterline-api', level: 'info', destination: memoryStream(lines) });
  api = await startApi({ db: database.db, temporal: new Client({ connection, namespace: 'default' }), log, subscriptionTaskQueue: `logs-${process.pid}` });
});

afterAll(async () => {
  await api?.close();
  await connection?.close();
  await database?.drop();
});

async function send(path: string, init: RequestInit = {}) {
  const res = await fetch(`${api.url}${path}`, init);
  await res.text();
  return res;
}

/** Waits for pino's line of the request with this id (written when the response finishes). */
async function requestLine(requestId: string): Promise<Record<string, any>> {
  for (let i = 0; i < 100; i++) {
    const line = parsed().find((l) => l.request_id === requestId && l.res);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request log line for ${requestId}: ${lines.join('\n')}`);
}

test("a request is logged as one JSON line with the client's X-Request-Id, method, path, status and duration", async () => {
  const res = await send('/api/v1/customers/nobody', { headers: { authorization: `Bearer ${apiKey}`, 'x-request-id': 'req-abc-123' } });
  expect(res.status).toBe(404);
  expect(res.headers.get('x-request-id')).toBe('req-abc-123');
  const line = await requestLine('req-abc-123');
  expect(line).toMatchObject({ level: 'info', service: 'meterline-api', request_id: 'req-abc-123', req: { method: 'GET', path: '/api/v1/customers/nobody' }, res: { status: 404 }, msg: 'GET /api/v1/customers/nobody 404' });
  expect(typeof line.duration_ms).toBe('number');
  expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
});

test('without X-Request-Id (or with a malformed one) the generated id is logged and answered in the header', async () => {
  for (const headers of [{}, { 'x-request-id': 'bad id with spaces' }] as Record<string, string>[]) {
    const res = await send('/api/v1/billable_metrics', { headers: { authorization: `Bearer ${apiKey}`, ...headers } });
    const id = res.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await requestLine(id)).res.status).toBe(200);
  }
});

test('a request carrying an API key, a Stripe key and a portal token logs none of them', async () => {
  const stripeKey = `sk_live_${crypto.randomBytes(12).toString('hex')}`;
  const id = `req-secret-${crypto.randomBytes(3).toString('hex')}`;
  const res = await send('/api/v1/customers', {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'x-api-key': apiKey, 'content-type': 'application/json', 'x-request-id': id, cookie: `session=${apiKey}` },
    body: JSON.stringify({ customer: { external_id: `c_${id}`, name: stripeKey } }),
  });
  expect(res.status).toBe(200);
  // A wrong key and a portal call with a bearer token are logged too, without their credentials.
  const wrong = `ml_${crypto.randomBytes(24).toString('base64url')}`;
  await send('/api/v1/customers', { headers: { authorization: `Bearer ${wrong}`, 'x-request-id': `${id}-401` } });
  await send('/portal/api/summary', { headers: { authorization: 'Bearer v1.eyJvIjoiYWFhYWFhYWFhYWFhYWFhYSJ9.c2lnbmF0dXJlc2lnbmF0dXJl', 'x-request-id': `${id}-403` } });
  expect((await requestLine(id)).res.status).toBe(200);
  expect((await requestLine(`${id}-401`)).res.status).toBe(401);
  expect((await requestLine(`${id}-403`)).res.status).toBe(403);
  const all = lines.join('\n');
  for (const secret of [apiKey, wrong, stripeKey, 'c2lnbmF0dXJlc2lnbmF0dXJl', 'Bearer']) expect(all).not.toContain(secret);
  // The check can fail: the key is in the request that was sent, and a line that carries it verbatim is found.
  expect([...lines, JSON.stringify({ raw: apiKey })].join('\n')).toContain(apiKey);
});

test("the app's own log lines are scrubbed: secret fields redacted, key-shaped strings in messages and errors replaced", () => {
  const out: string[] = [];
  const logger = appLogger(createRootLogger({ name: 't', level: 'info', destination: memoryStream(out) }));
  const sk = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc';
  logger.error(`payment provider refused ${sk}`, {
    provider: { code: 'stripe', secretKey: sk, webhookSecret: 'whsec_abcdef123456' },
    headers: { authorization: 'Bearer ml_AAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    hmac_key: 'aGVsbG8taG1hYy1rZXk=',
    error: new Error(`Invalid API Key provided: ${sk}`),
    note: 'plain text stays',
    amount_cents: 1234,
  });
  expect(out).toHaveLength(1);
  const line = JSON.parse(out[0]!);
  expect(line.msg).toBe('payment provider refused sk_test_[REDACTED]');
  expect(line.provider).toEqual({ code: 'stripe', secretKey: '[REDACTED]', webhookSecret: '[REDACTED]' });
  expect(line.headers.authorization).toBe('[REDACTED]');
  expect(line.hmac_key).toBe('[REDACTED]');
  expect(line.error.message).toBe('Invalid API Key provided: sk_test_[REDACTED]');
  expect(line).toMatchObject({ note: 'plain text stays', amount_cents: 1234, level: 'error' });
  expect(out[0]).not.toMatch(/4eC39HqLyjWDarjtT1zdp7dc|whsec_abcdef|ml_AAAA|aGVsbG8t/);
  expect(scrubSecrets('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----')).toBe('[REDACTED PRIVATE KEY]');
  expect(scrubSecrets('nothing secret here')).toBe('nothing secret here');
});

test('the worker writes the Temporal runtime log through the same scrubbed JSON logger', () => {
  const out: string[] = [];
  const runtime = temporalRuntimeLogger(createRootLogger({ name: 'meterline-worker', level: 'info', destination: memoryStream(out) }), 'info');
  runtime.warn('activity failed: whsec_leaked123', { workflowId: 'subscription:1', activityType: 'createPaymentIntent' });
  runtime.debug('below the level');
  expect(out.map((l) => JSON.parse(l))).toEqual([
    expect.objectContaining({ level: 'warn', service: 'meterline-worker', msg: 'activity failed: whsec_[REDACTED]', workflowId: 'subscription:1', activityType: 'createPaymentIntent' }),
  ]);
});

test('METERLINE_LOG_LEVEL picks the level (default info); an unknown level fails with the valid ones', () => {
  expect(logLevelFromEnv({})).toBe('info');
  expect(logLevelFromEnv({ METERLINE_LOG_LEVEL: 'WARN' })).toBe('warn');
  expect(logLevelFromEnv({ METERLINE_LOG_LEVEL: 'silent' })).toBe('silent');
  expect(() => logLevelFromEnv({ METERLINE_LOG_LEVEL: 'loud' })).toThrow(/expected one of fatal, error, warn, info, debug, trace, silent/);
  // The test runs are quiet (test/support/quiet-logs.ts).
  expect(process.env.METERLINE_LOG_LEVEL).toBe('silent');
});
