// Migration 20261201002500_fee_plan: subscription fees stored before it get the plan their invoice's period was rated
// with (the plan history's rule, db/repositories/plan-changes.ts planIdForPeriod), so an old plan's fee keeps its code.
import * as feePlan from '../../db/migrations/20261201002500_fee_plan';
import { createTestDatabase, type TestDatabase } from '../support/services';

describe('migration 20261201002500_fee_plan', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase('feeplan'); });
  afterAll(async () => { await t.drop(); });

  it('backfills each existing subscription fee with the plan of its invoice period: the old plan before an upgrade, the current plan after; other fees stay null', async () => {
    const db = t.db;
    const [org] = await db('organizations').insert({ name: 'o', slug: 'feeplan' }).returning('id');
    const plan = async (code: string) => (await db('plans').insert({ organization_id: org.id, code, name: code, interval: 'monthly', amount_cents: 10000, amount_currency: 'EUR', pay_in_advance: true }).returning('id'))[0].id as string;
    const basic = await plan('fp-basic');
    const pro = await plan('fp-pro');
    const [cus] = await db('customers').insert({ organization_id: org.id, external_id: 'fp-cus' }).returning('id');
    const [sub] = await db('subscriptions').insert({ organization_id: org.id, customer_id: cus.id, plan_id: pro, external_id: 'fp-sub', status: 'active', subscription_at: new Date('2026-01-01T00:00:00Z'), workflow_id: 'wf-fp' }).returning('id');
    await db('subscription_plan_changes').insert({ organization_id: org.id, subscription_id: sub.id, from_plan_id: basic, to_plan_id: pro, kind: 'upgrade', status: 'applied', effective_at: new Date('2026-01-15T00:00:00Z') });
    const invoice = async (start: string, end: string) => (await db('invoices').insert({ organization_id: org.id, customer_id: cus.id, subscription_id: sub.id, invoice_type: 'subscription', status: 'finalized', period_start: new Date(start), period_end: new Date(end), currency: 'EUR' }).returning('id'))[0].id as string;
    const startInvoice = await invoice('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
    const febInvoice = await invoice('2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z');
    await feePlan.down(db);
    const fee = async (invoiceId: string, feeType: string, position = 1) => (await db('fees').insert({ organization_id: org.id, invoice_id: invoiceId, position, fee_type: feeType, display_name: 'x', units: '1', unit_amount: '1', precise_amount: '1', amount_cents: 100, currency: 'EUR', from_datetime: new Date('2026-01-01T00:00:00Z'), to_datetime: new Date('2026-02-01T00:00:00Z') }).returning('id'))[0].id as string;
    const oldFee = await fee(startInvoice, 'subscription');
    const newFee = await fee(febInvoice, 'subscription');
    const chargeFee = await fee(febInvoice, 'charge', 2);
    await feePlan.up(db);
    const planOf = async (id: string) => (await db('fees').where({ id }).first('plan_id')).plan_id;
    expect([await planOf(oldFee), await planOf(newFee), await planOf(chargeFee)]).toEqual([basic, pro, null]);
  });
});
