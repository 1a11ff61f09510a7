// A fee on no invoice (a pay-in-advance charge's fee with invoiceable false), written as the advance-billing
// activity writes it (activities/advance-billing.ts insertInAdvanceFees), for suites that need one without waiting
// for a subscription workflow to bill an event (the route tests: OpenAPI shapes, tenant isolation, the official
// client). test/api/everyday.test.ts proves the real path (event → workflow → fee).
import type { Knex } from 'knex';

export async function seedUninvoicedFee(
  db: Knex,
  input: { organizationId: string; subscriptionId: string; transactionId: string; /** Decimal string, major units. */ amount: string; amountCents: number; displayName?: string },
): Promise<string> {
  const charge: { id: string; code: string } | undefined = await db('subscriptions as s')
    .join('charges as c', 'c.plan_id', 's.plan_id')
    .join('billable_metrics as m', 'm.id', 'c.billable_metric_id')
    .where({ 's.organization_id': input.organizationId, 's.id': input.subscriptionId })
    .orderBy('c.id')
    .first('c.id', 'm.code');
  if (!charge) throw new Error(`subscription ${input.subscriptionId} has no charge`);
  const now = Date.now();
  const [row] = await db('pay_in_advance_fees')
    .insert({
      organization_id: input.organizationId,
      subscription_id: input.subscriptionId,
      charge_id: charge.id,
      metric_code: charge.code,
      transaction_id: input.transactionId,
      event_timestamp: new Date(now),
      period_start: new Date(now - 86_400_000),
      period_end: new Date(now + 86_400_000),
      display_name: input.displayName ?? charge.code,
      units: '1',
      unit_amount: input.amount,
      precise_amount: input.amount,
      amount_cents: input.amountCents,
      currency: 'USD',
      invoiceable: false,
    })
    .returning('id');
  return row.id as string;
}
