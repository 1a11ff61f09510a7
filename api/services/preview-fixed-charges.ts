// Fixed charges on an invoice preview (fixed11, issue 11): the stored plan's fixed charges (an override child's own,
// else its parent's: db/repositories/fixed-charges effectiveFixedCharges), every one priced over the previewed
// period (ratePeriod 'on_period_total': the period's whole cost, advance ones included), with the subscription's
// units timeline when the preview is of a real subscription (plan-level units otherwise).
import type { Knex } from 'knex';
import type { FixedChargesToRate } from '../../billing/fixed-charges';
import type { PeriodPair } from '../../billing/period';
import { fixedChargesForBilling, unitsChangesOf } from '../../db/repositories/fixed-charges';

export async function previewFixedCharges(
  db: Knex,
  organizationId: string,
  planId: string,
  subscriptionId: string | null,
  pair: PeriodPair,
): Promise<{ fixedCharges?: FixedChargesToRate }> {
  const charges = await fixedChargesForBilling(db, organizationId, planId);
  if (charges.length === 0) return {};
  const changes = subscriptionId ? await unitsChangesOf(db, organizationId, subscriptionId, charges.map((c) => c.id)) : {};
  return { fixedCharges: { charges, changes, arrears: pair, advance: null } };
}
