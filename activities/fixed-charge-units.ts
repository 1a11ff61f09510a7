// The units of a pay-in-advance fixed charge raised mid-period with apply_units_immediately (units11, issue 11):
// Lago's Invoices::CreatePayInAdvanceFixedChargesService + Fees::BuildPayInAdvanceFixedChargeService. Each units
// change of the subscription's timeline effective inside the open period (PUT /subscriptions/:id/fixed_charges/:code,
// units-only plan_overrides, a plan's units change fanned out: api/services/plan-fixed-charge-units.ts) bills
// new units − the units already billed in advance for the period, prorated when the fixed charge is
// (billing/fixed-charges.ts fixedChargeUnitsDeltaFee); nothing when that is not positive (a decrease is not refunded,
// and a deferred change, effective at the period start, was billed by the period's advance fee).
// - One invoice per change instant (Lago: one invoice for the fixed charges changed together), issued finalized at
//   once (type in_advance_charge, shown as `subscription`), issuing date the change's (test clocks).
// - Exactly once: under the subscription row lock; the invoice is unique on its business key `fixed_charge_units:`
//   + the instant + a digest of the changes billed (row id and units), and a billed delta counts as paid, so a
//   retried activity, a replayed workflow or a second signal bills nothing twice. Every call returns the period's
//   units invoices, so a restart between the commit and the invoice workflow's start still starts it.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { fixedChargeUnitsDeltaFee } from '../billing/fixed-charges';
import type { Fee } from '../billing/invoice';
import { advanceUnitsBilledFor, fixedChargesForBilling, unitsChangesWithin, type StoredUnitsChange } from '../db/repositories/fixed-charges';
import { finalizeLockedInvoice, lockSubscriptionForAdjustments, replaceDraftFees } from '../db/repositories/invoices';
import { claimFeeInvoice, invoicesWithKeyPrefix } from '../db/repositories/pay-in-advance';
import { loadPlan } from '../db/repositories/plans';
import { loadSubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import type { FixedChargeUnitsActivities, FixedChargeUnitsResult } from './fixed-charge-units-types';
import { classified, invoiceCurrency } from './invoices';
import { withInvoiceTaxes } from './taxes';
import type { AdvancePeriodInput } from './types';

export const UNITS_INVOICE_KEY_PREFIX = 'fixed_charge_units:';

function unitsInvoiceKey(at: string, changes: StoredUnitsChange[]): string {
  const digest = createHash('sha256').update(changes.map((c) => `${c.id}:${c.units}`).sort().join(',')).digest('hex').slice(0, 32);
  return `${UNITS_INVOICE_KEY_PREFIX}${at}:${digest}`;
}

/** The changes grouped by instant, oldest first. */
function byInstant(changes: StoredUnitsChange[]): [string, StoredUnitsChange[]][] {
  const out = new Map<string, StoredUnitsChange[]>();
  for (const c of changes) out.set(c.effectiveAt, [...(out.get(c.effectiveAt) ?? []), c]);
  return [...out.entries()];
}

export async function billFixedChargeUnitsChanges(db: Knex, input: AdvancePeriodInput): Promise<FixedChargeUnitsResult> {
  return db.transaction(async (trx) => {
    const ctx = await loadSubscriptionBillingContext(trx, input.organizationId, input.subscriptionId);
    if (ctx.status === 'terminated') return { invoices: [] };
    const charges = (await fixedChargesForBilling(trx, input.organizationId, ctx.planId)).filter((c) => c.payInAdvance);
    if (charges.length === 0) return { invoices: [] };
    await lockSubscriptionForAdjustments(trx, input.organizationId, input.subscriptionId);
    const plan = await loadPlan(trx, input.organizationId, ctx.planId);
    const currency = invoiceCurrency(ctx, plan);
    const byId = new Map(charges.map((c) => [c.id, c]));
    const changes = await unitsChangesWithin(trx, input.organizationId, input.subscriptionId, [...byId.keys()], input.period);
    const pair = { period: input.period, fullPeriod: input.fullPeriod };
    const issued = new Set<string>();
    const position = new Map(charges.map((c, i) => [c.id, i]));
    for (const [at, group] of byInstant(changes)) {
      const fees: Fee[] = [];
      // The invoice's lines in the plan's order of fixed charges.
      for (const change of [...group].sort((a, b) => position.get(a.fixedChargeId)! - position.get(b.fixedChargeId)!)) {
        const paidUnits = await advanceUnitsBilledFor(trx, input.organizationId, input.subscriptionId, change.fixedChargeId, input.period);
        const fee = fixedChargeUnitsDeltaFee({ fixedCharge: byId.get(change.fixedChargeId)!, paidUnits, newUnits: change.units, changeAt: at, pair, timezone: ctx.timezone, currency });
        if (fee) fees.push(fee);
      }
      if (fees.length === 0) continue;
      const invoice = await claimFeeInvoice(trx, {
        organizationId: input.organizationId, subscriptionId: input.subscriptionId, customerId: ctx.customerId,
        period: { start: at, end: at }, fullPeriod: input.fullPeriod, currency, feeId: unitsInvoiceKey(at, group),
      });
      if (invoice.status !== 'draft') continue; // billed already: its fees count as paid above
      const total = fees.reduce((s, f) => s + f.amountCents, 0);
      const draft = await withInvoiceTaxes(trx, ctx, plan, { currency, fees, feesAmountCents: total, totalAmountCents: total }, { start: at, end: at });
      await finalizeLockedInvoice(trx, await replaceDraftFees(trx, invoice, draft), { now: new Date(at) });
      issued.add(invoice.id);
    }
    const all = await invoicesWithKeyPrefix(trx, input.organizationId, input.subscriptionId, UNITS_INVOICE_KEY_PREFIX, input.period);
    return { invoices: all.map((i) => ({ ...i, created: issued.has(i.invoiceId), gracePeriodDays: 0 })) };
  });
}

export function createFixedChargeUnitsActivities(deps: { db: Knex }): FixedChargeUnitsActivities {
  return {
    async billFixedChargeUnitsChanges(input) {
      return classified(() => billFixedChargeUnitsChanges(deps.db, input));
    },
  };
}
