// Dunning consequence suspend_subscription on real Postgres: applyDunningConsequence (activities/payments.ts) and
// syncSubscriptionSuspension (activities/suspensions.ts) are idempotent on their business keys.
import type { SubscriptionSuspensionSignalPayload } from '../../contracts/workflows';
import { createPaymentActivities } from '../../activities/payments';
import { createSuspensionActivities } from '../../activities/suspensions';
import { listPaymentEvents } from '../../db/repositories/payments';
import { finalizedInvoiceSetup } from '../support/payment-fixtures';
import { createTestDatabase, type TestDatabase } from '../support/services';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase('act_suspend');
});
afterAll(async () => {
  await t.drop();
});

async function suspendedSetup() {
  const s = await finalizedInvoiceSetup(t.db);
  const signals: { subscriptionId: string; payload: SubscriptionSuspensionSignalPayload }[] = [];
  const payments = createPaymentActivities({ ...s.deps, notifySubscriptionSuspension: async (_org, subscriptionId, payload) => void signals.push({ subscriptionId, payload }) });
  const input = { ...s.ref, subscriptionId: s.sub.id, consequence: 'suspend_subscription' as const, attempts: 3 };
  const suspensions = createSuspensionActivities({ db: t.db });
  return { s, payments, input, signals, suspensions };
}

test('suspend_subscription applied twice suspends once: one suspension row, one subscription.suspended record, the workflow signalled each time', async () => {
  const { s, payments, input, signals, suspensions } = await suspendedSetup();
  await payments.applyDunningConsequence(input);
  await payments.applyDunningConsequence(input);
  expect(await t.db('subscription_suspensions').where({ subscription_id: s.sub.id }).select('invoice_id')).toEqual([{ invoice_id: s.ref.invoiceId }]);
  const types = (await listPaymentEvents(t.db, s.ref.organizationId, s.ref.invoiceId)).map((e) => e.eventType);
  expect(types.filter((x) => x === 'subscription.suspended')).toHaveLength(1);
  expect(types.filter((x) => x === 'dunning.exhausted')).toHaveLength(1);
  expect(signals).toEqual([1, 2].map(() => ({ subscriptionId: s.sub.id, payload: { reason: 'dunning_suspended', invoiceId: s.ref.invoiceId } })));
  expect((await t.db('invoices').where({ id: s.ref.invoiceId }).first()).payment_status).toBe('failed');
  const state = await suspensions.syncSubscriptionSuspension({ organizationId: s.ref.organizationId, subscriptionId: s.sub.id });
  expect(state).toMatchObject({ invoiceIds: [s.ref.invoiceId], resumedInvoiceIds: [] });
  expect(state.since).toMatch(/^\d{4}-\d{2}-\d{2}T/);
});

test('the suspension closes once its invoice is paid: one subscription.resumed record, later syncs change nothing', async () => {
  const { s, payments, input, suspensions } = await suspendedSetup();
  await payments.applyDunningConsequence(input);
  const ref = { organizationId: s.ref.organizationId, subscriptionId: s.sub.id };
  await t.db('invoices').where({ id: s.ref.invoiceId }).update({ payment_status: 'succeeded' });
  expect(await suspensions.syncSubscriptionSuspension(ref)).toEqual({ invoiceIds: [], since: null, resumedInvoiceIds: [s.ref.invoiceId] });
  expect(await suspensions.syncSubscriptionSuspension(ref)).toEqual({ invoiceIds: [], since: null, resumedInvoiceIds: [] });
  const resumed = (await listPaymentEvents(t.db, s.ref.organizationId, s.ref.invoiceId)).filter((e) => e.eventType === 'subscription.resumed');
  expect(resumed).toHaveLength(1);
  expect(resumed[0]!.payload).toMatchObject({ subscription_id: s.sub.id, reason: 'invoice_paid' });
});

test('an unpaid suspending invoice keeps the subscription suspended; voiding it resumes the subscription', async () => {
  const { s, payments, input, suspensions } = await suspendedSetup();
  await payments.applyDunningConsequence(input);
  const ref = { organizationId: s.ref.organizationId, subscriptionId: s.sub.id };
  await t.db('invoices').where({ id: s.ref.invoiceId }).update({ total_paid_amount_cents: 1000 });
  expect((await suspensions.syncSubscriptionSuspension(ref)).invoiceIds).toEqual([s.ref.invoiceId]);
  await t.db('invoices').where({ id: s.ref.invoiceId }).update({ voided_at: t.db.fn.now() });
  expect(await suspensions.syncSubscriptionSuspension(ref)).toMatchObject({ invoiceIds: [], resumedInvoiceIds: [s.ref.invoiceId] });
});

test('suspend_subscription without a Temporal client in the worker fails non-retryably and writes nothing', async () => {
  const s = await finalizedInvoiceSetup(t.db);
  const err = await createPaymentActivities(s.deps).applyDunningConsequence({ ...s.ref, subscriptionId: s.sub.id, consequence: 'suspend_subscription', attempts: 3 }).catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'dunning_consequence_unavailable', nonRetryable: true });
  expect(await t.db('subscription_suspensions').where({ subscription_id: s.sub.id })).toHaveLength(0);
  expect(await listPaymentEvents(t.db, s.ref.organizationId, s.ref.invoiceId)).toHaveLength(0);
});
