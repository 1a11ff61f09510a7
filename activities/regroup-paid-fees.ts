// Lago's regroup_paid_fees: 'invoice' (issue 11), the activity the subscription workflow calls at a period close
// (workflows/regroup-paid-fees.ts, patch regroup-paid-fees-v1). Lago: the fees of a pay-in-advance charge with
// `invoiceable: false` never get an invoice of their own; with regroup_paid_fees 'invoice', those whose
// payment_status is `succeeded` are grouped at the end of the billing period into one invoice, marked paid; unpaid
// ones are left out and join a later regrouping invoice once an operator marks them succeeded (PUT /fees/:id).
//
// One transaction under the subscription's adjustment lock: the period's `advance_charges` invoice is claimed once
// (db/repositories/regroup-paid-fees.ts), its lines are the fees as they were billed (one line per fee, the amount
// already computed when the event came: nothing re-priced), taxed like the per-event invoices of invoiceable
// charges (withInvoiceTaxes), finalized (numbered), linked to its fees and marked paid. A retried activity or a
// replayed close finds the invoice finalized and returns it; a fee can never be on two invoices, and the period
// invoice never rates pay-in-advance charges (ratePeriod 'per_event'), so nothing is billed twice. No paid fee:
// no invoice. The invoice gets no invoice workflow: it is paid, so there is nothing to collect or dun.
import type { Knex } from 'knex';
import type { Period } from '../billing/types';
import { finalizeLockedInvoice, lockSubscriptionForAdjustments, replaceDraftFees } from '../db/repositories/invoices';
import { loadPlan } from '../db/repositories/plans';
import { claimRegroupInvoice, paidFeesToRegroup, regroupInvoiceOfPeriod, settleRegroupInvoice, type PaidFeeToRegroup } from '../db/repositories/regroup-paid-fees';
import { loadSubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { BillingError } from '../billing/errors';
import { feeLine } from './advance-billing';
import { classified } from './invoices';
import { withInvoiceTaxes } from './taxes';

export interface RegroupPaidFeesInput {
  organizationId: string;
  subscriptionId: string;
  /** The closed period [start, end) and its unclipped period. */
  period: Period;
  fullPeriod: Period;
}

export interface RegroupPaidFeesResult {
  /** The period's regrouping invoice (null: no paid fee to regroup). */
  invoiceId: string | null;
  /** Fees this call put on it (0 when it existed already). */
  feesRegrouped: number;
}

export interface RegroupPaidFeesActivities {
  regroupPaidFees(input: RegroupPaidFeesInput): Promise<RegroupPaidFeesResult>;
}

/** Σ of integer minor units, checked safe (the amounts were rounded when each fee was billed). */
function sumCents(fees: PaidFeeToRegroup[]): number {
  const total = fees.reduce((n, f) => n + f.amountCents, 0);
  if (!Number.isSafeInteger(total)) throw new BillingError('amount_out_of_range', 'Regrouped fees sum is not a safe integer');
  return total;
}

export function createRegroupPaidFeesActivities(deps: { db: Knex }): RegroupPaidFeesActivities {
  const { db } = deps;
  return {
    async regroupPaidFees(input: RegroupPaidFeesInput): Promise<RegroupPaidFeesResult> {
      return classified(() => db.transaction(async (trx) => {
        await lockSubscriptionForAdjustments(trx, input.organizationId, input.subscriptionId);
        const existing = await regroupInvoiceOfPeriod(trx, input.organizationId, input.subscriptionId, input.period);
        if (existing && existing.status !== 'draft') return { invoiceId: existing.id, feesRegrouped: 0 };
        const fees = await paidFeesToRegroup(trx, input.organizationId, input.subscriptionId, input.period.end);
        if (fees.length === 0) return { invoiceId: existing?.id ?? null, feesRegrouped: 0 };
        const ctx = await loadSubscriptionBillingContext(trx, input.organizationId, input.subscriptionId);
        const plan = await loadPlan(trx, input.organizationId, ctx.planId);
        const currency = fees[0]!.currency;
        const invoice = existing ?? (await claimRegroupInvoice(trx, { ...input, customerId: ctx.customerId, currency }));
        const lines = fees.map((f) => feeLine(f, f.period));
        const amount = sumCents(fees);
        const draft = await withInvoiceTaxes(trx, ctx, plan, { currency, fees: lines, feesAmountCents: amount, totalAmountCents: amount }, input.period);
        const finalized = await finalizeLockedInvoice(trx, await replaceDraftFees(trx, invoice, draft));
        await settleRegroupInvoice(trx, input.organizationId, finalized.id, fees.map((f) => f.id), finalized.totalAmountCents);
        return { invoiceId: finalized.id, feesRegrouped: fees.length };
      }));
    },
  };
}
