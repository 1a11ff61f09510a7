// With Postgres unreachable the API answers 503 with Retry-After (a retryable answer), never a 500.
import { Client, Connection } from '@temporalio/client';
import knex, { type Knex } from 'knex';
import net from 'node:net';
import { startApi, type RunningApi } from '../../api/server';
import { isDatabaseUnavailable } from '../../api/db-unavailable';
import { temporalTestAddress } from '../support/services';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

let db: Knex;
let api: RunningApi;
let connection: Connection;
beforeAll(async () => {
  // A database URL nothing listens on: every query fails to connect (ECONNREFUSED).
  db = knex({ client: 'pg', connection: { host: '127.0.0.1', port: await freePort(), user: 'x', database: 'x' }, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 2000 });
  connection = await Connection.connect({ address: temporalTestAddress() });
  api = await startApi({ db, temporal: new Client({ connection }), logger: { info() {}, warn() {}, error() {} } });
});
afterAll(async () => {
  await api?.close();
  await connection?.close();
  await db?.destroy();
});

describe('Postgres down', () => {
  test.each([
    ['GET', '/customers/x', undefined],
    ['POST', '/events', { event: { transaction_id: 't', external_subscription_id: 's', code: 'c' } }],
  ])('%s %s is a 503 service_unavailable with Retry-After', async (method, path, body) => {
    const res = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: { authorization: 'Bearer ml_whatever', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toMatchObject({ status: 503, error: 'Service Unavailable', code: 'service_unavailable' });
  });

  test('connection failures are told apart from other errors', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: '08006' }) }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
  });
});
