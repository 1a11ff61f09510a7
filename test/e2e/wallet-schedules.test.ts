// The wallet Schedules (worker/schedules.ts WALLET_SCHEDULES → workflows/wallet-fleet.ts) on the real system: HTTP
// API, worker, Postgres and the Temporal dev server. Each Schedule is ensured under a test id (a shared server),
// exists once however often it is ensured, and its triggered runs have the activities' effects: a wallet past its
// expiration_at is expired by the run (not by a read: the test reads Postgres directly), an interval rule tops up
// once per boundary (a second run adds nothing).
import { randomUUID } from 'node:crypto';
import { ALL_SCHEDULES, WALLET_EXPIRY_SCHEDULE_ID, WALLET_INTERVAL_TOP_UPS_SCHEDULE_ID, WALLET_SCHEDULES, ensureSchedule } from '../../worker/schedules';
import { startSystem, eventually, type System } from './harness';

jest.setTimeout(300_000);

let sys: System;
const r = (m: string, p: string, b?: unknown) => sys.request(m, p, b);
const DAY = 86_400_000;

beforeAll(async () => {
  sys = await startSystem('dev-server');
  expect((await r('POST', '/customers', { customer: { external_id: 'wal-sched', currency: 'USD', timezone: 'UTC' } })).status).toBe(200);
});
afterAll(async () => {
  await sys?.stop();
});

async function runResults(scheduleId: string, count: number): Promise<any[]> {
  const actions = await eventually(async () => {
    const recent = (await sys.client.schedule.getHandle(scheduleId).describe()).info.recentActions;
    return recent.length >= count ? recent : undefined;
  }, 60_000, `${count} run(s) of ${scheduleId}`);
  return Promise.all(actions.map((a) => sys.client.workflow.getHandle(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId).result()));
}

it('the worker ensures the wallet expiry and interval top-up Schedules at boot (they are in the list ensureAllSchedules creates)', () => {
  const ids = ALL_SCHEDULES.map((d) => d.scheduleId);
  expect(ids).toEqual(expect.arrayContaining([WALLET_EXPIRY_SCHEDULE_ID, WALLET_INTERVAL_TOP_UPS_SCHEDULE_ID]));
  expect(new Set(ids).size).toBe(ids.length);
});

it('each wallet Schedule is created once however often it is ensured; its runs expire due wallets and top up interval rules once per boundary', async () => {
  // A wallet with 5 granted credits, due to expire (moved into the past in Postgres: the API refuses a past date).
  const expiring = await r('POST', '/wallets', { wallet: { external_customer_id: 'wal-sched', name: 'expiring', rate_amount: '1', currency: 'USD', granted_credits: '5', expiration_at: new Date(Date.now() + 30 * DAY).toISOString() } });
  expect(expiring.status).toBe(200);
  const expiringId: string = expiring.body.wallet.lago_id;
  await sys.database.db('wallets').where({ id: expiringId }).update({ expiration_at: new Date(Date.now() - 60_000) });
  // A wallet whose monthly rule started 40 days ago: one boundary (30-31 days ago) reached, 2 granted credits each.
  const topped = await r('POST', '/wallets', { wallet: {
    external_customer_id: 'wal-sched', name: 'monthly', rate_amount: '1', currency: 'USD', granted_credits: '1',
    recurring_transaction_rules: [{ trigger: 'interval', interval: 'monthly', method: 'fixed', granted_credits: '2', started_at: new Date(Date.now() - 40 * DAY).toISOString() }],
  } });
  expect(topped.status).toBe(200);
  const toppedId: string = topped.body.wallet.lago_id;
  expect(topped.body.wallet.balance_cents).toBe(100);

  const suffix = randomUUID().slice(0, 8);
  const idOf = (base: string) => `${base}-${suffix}`;
  try {
    for (const def of WALLET_SCHEDULES) {
      expect(await ensureSchedule(sys.client, def, { scheduleId: idOf(def.scheduleId), taskQueue: sys.taskQueue })).toBe('created');
      expect(await ensureSchedule(sys.client, def, { scheduleId: idOf(def.scheduleId), taskQueue: sys.taskQueue })).toBe('exists');
      const desc = await sys.client.schedule.getHandle(idOf(def.scheduleId)).describe();
      expect(desc.action).toMatchObject({ type: 'startWorkflow', workflowType: def.workflowType, taskQueue: sys.taskQueue });
    }
    // Both are triggered once when created.
    expect(await runResults(idOf(WALLET_EXPIRY_SCHEDULE_ID), 1)).toEqual([{ expired: 1 }]);
    const expiredRow = await sys.database.db('wallets').where({ id: expiringId }).first();
    expect(expiredRow).toMatchObject({ status: 'terminated' });
    expect(Number(expiredRow.balance_cents)).toBe(0);
    const expiry = await sys.database.db('wallet_transactions').where({ wallet_id: expiringId, source: 'expiration' });
    expect(expiry.map((t: any) => [t.transaction_status, Number(t.amount_cents)])).toEqual([['expired', 500]]);

    expect(await runResults(idOf(WALLET_INTERVAL_TOP_UPS_SCHEDULE_ID), 1)).toEqual([{ topUps: 1 }]);
    const balanceOf = async () => Number((await sys.database.db('wallets').where({ id: toppedId }).first()).balance_cents);
    expect(await balanceOf()).toBe(300);
    // A second run in the same interval adds nothing (idempotent on rule and boundary).
    await sys.client.schedule.getHandle(idOf(WALLET_INTERVAL_TOP_UPS_SCHEDULE_ID)).trigger();
    const both = await runResults(idOf(WALLET_INTERVAL_TOP_UPS_SCHEDULE_ID), 2);
    expect(both).toEqual([{ topUps: 1 }, { topUps: 0 }]);
    expect(await balanceOf()).toBe(300);
    expect((await sys.database.db('wallet_transactions').where({ wallet_id: toppedId, source: 'interval' })).length).toBe(1);
    // And a second expiry run finds nothing left to expire.
    await sys.client.schedule.getHandle(idOf(WALLET_EXPIRY_SCHEDULE_ID)).trigger();
    expect(await runResults(idOf(WALLET_EXPIRY_SCHEDULE_ID), 2)).toEqual([{ expired: 1 }, { expired: 0 }]);
  } finally {
    for (const def of WALLET_SCHEDULES) await sys.client.schedule.getHandle(idOf(def.scheduleId)).delete().catch(() => undefined);
  }
});
