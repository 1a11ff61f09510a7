// Pay in advance (issue 11), the activities' side. The rule of what a boundary invoice bills is pure
// (billing/advance-billing.ts boundaryBilling); this file feeds it from Postgres and issues the invoices.
//
// - Subscription fee in advance: the period-end invoice of an advance plan carries the ended period's usage and
//   the fee of the period that begins (rateInvoiceDraft calls boundaryRatingOptions below, so create, refresh,
//   finalize and late-event re-rating all agree). The first period's fee is on the START invoice: a `subscription`
//   invoice whose usage period is empty ([subscription_at, subscription_at)), issued by startAdvancePeriod when
//   the subscription's first run begins. Unique like every period invoice (subscription, period, type): a retried
//   or replayed start never issues it twice.
// - Pay-in-advance charges: billInAdvanceCharges prices every not-yet-billed event of the open period
//   (billing/inAdvanceChargeFees, arrival order) and writes one fee per (charge, event transaction_id) (unique
//   index: a duplicate event, a retried activity or a repeated signal never bills twice). `invoiceable: true` →
//   the fee gets its own invoice, issued finalized at once (type `in_advance_charge`, shown as `subscription`);
//   `invoiceable: false` → a fee only (Lago's instant fee). The period-end invoice never rates these charges
//   (ratePeriod 'per_event'). Under the subscription row lock, so concurrent runs serialize.
import type { Knex } from 'knex';
import { startInvoicePeriod, terminationCreditCents, upgradeCreditCents, type UnusedFeeCredit } from '../billing/advance-billing';
import { inAdvanceChargeFees } from '../billing/in-advance-charges';
import type { Fee } from '../billing/invoice';
import type { Period } from '../billing/types';
import { finalizeLockedInvoice, lockSubscriptionForAdjustments, replaceDraftFees } from '../db/repositories/invoices';
import {
  advanceFeeCovering,
  advanceFeeCoveringBefore,
  billedTransactionIds,
  claimFeeInvoice,
  eventsInArrivalOrder,
  insertInAdvanceFees,
  linkFeeInvoice,
} from '../db/repositories/pay-in-advance';
import { loadPlan } from '../db/repositories/plans';
import { loadSubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { classified, invoiceCurrency } from './invoices';
import { withInvoiceTaxes } from './taxes';
import { hasAdvanceFixedCharges } from './fixed-charges';
import type { AdvancePeriodInput, AdvancePeriodStart, InAdvanceChargesResult, PeriodInvoiceResult, SubscriptionActivities } from './types';

/** The fields of an in-advance charge fee that make its invoice line (a fee just rated, or a stored one regrouped). */
export type InAdvanceFeeFields = Pick<
  ReturnType<typeof inAdvanceChargeFees>[number],
  'chargeId' | 'metricCode' | 'filterIndex' | 'groupedBy' | 'displayName' | 'units' | 'unitAmount' | 'preciseAmount' | 'amountCents' | 'currency' | 'prorationRatio'
>;

/** The invoice line of one in-advance charge fee over `period` (one event's fee). */
export function feeLine(f: InAdvanceFeeFields, period: Period): Fee {
  return {
    kind: 'charge',
    chargeId: f.chargeId,
    metricCode: f.metricCode,
    filterIndex: f.filterIndex,
    filterValues: null,
    groupedBy: f.groupedBy,
    displayName: f.displayName,
    units: f.units,
    eventsCount: 1,
    unitAmount: f.unitAmount,
    preciseAmount: f.preciseAmount,
    amountCents: f.amountCents,
    currency: f.currency,
    fromDatetime: period.start,
    toDatetime: period.end,
    prorationRatio: f.prorationRatio,
  };
}

export interface AdvanceActivityDeps {
  db: Knex;
  /** The period-invoice activity (the start invoice is a period invoice with an empty usage period). */
  createPeriodInvoice: SubscriptionActivities['createPeriodInvoice'];
}

export function createAdvanceActivities(deps: AdvanceActivityDeps): Pick<SubscriptionActivities, 'startAdvancePeriod' | 'billInAdvanceCharges'> {
  const { db } = deps;
  return {
    async startAdvancePeriod(input: AdvancePeriodInput): Promise<AdvancePeriodStart> {
      const plan = await classified(async () => {
        const ctx = await loadSubscriptionBillingContext(db, input.organizationId, input.subscriptionId);
        return { ctx, plan: await loadPlan(db, input.organizationId, ctx.planId) };
      });
      const inAdvanceMetricCodes = [...new Set(plan.plan.charges.filter((c) => c.payInAdvance).map((c) => c.billableMetric.code))];
      const first = Date.parse(input.period.start) === Date.parse(plan.ctx.subscriptionAt);
      // Fixed charges billed in advance (activities/fixed-charges.ts) need the start invoice on an arrears plan too.
      const advanceFixedCharges = await hasAdvanceFixedCharges(db, input.organizationId, plan.ctx.planId);
      const startsInAdvance = plan.plan.payInAdvance || (first && advanceFixedCharges);
      if (!startsInAdvance || !first) return { startInvoice: null, inAdvanceMetricCodes, advanceFixedCharges };
      const startInvoice = await deps.createPeriodInvoice({
        organizationId: input.organizationId,
        subscriptionId: input.subscriptionId,
        kind: 'subscription',
        period: startInvoicePeriod(plan.ctx.subscriptionAt),
        fullPeriod: input.fullPeriod,
      });
      return { startInvoice, inAdvanceMetricCodes, advanceFixedCharges };
    },

    async billInAdvanceCharges(input: AdvancePeriodInput): Promise<InAdvanceChargesResult> {
      return classified(() => db.transaction(async (trx) => {
        const ctx = await loadSubscriptionBillingContext(trx, input.organizationId, input.subscriptionId);
        if (ctx.status === 'terminated') return { feesCreated: 0, invoices: [] };
        const plan = await loadPlan(trx, input.organizationId, ctx.planId);
        const charges = plan.charges.filter((c) => c.payInAdvance);
        if (charges.length === 0) return { feesCreated: 0, invoices: [] };
        await lockSubscriptionForAdjustments(trx, input.organizationId, input.subscriptionId);
        const currency = invoiceCurrency(ctx, plan);
        const events = await eventsInArrivalOrder(trx, input.organizationId, input.subscriptionId, [...new Set(charges.map((c) => c.billableMetric.code))], input.period);
        let feesCreated = 0;
        const invoices: PeriodInvoiceResult[] = [];
        for (const charge of charges) {
          const all = inAdvanceChargeFees({
            charge, events: events[charge.billableMetric.code] ?? [], period: input.period, fullPeriod: input.fullPeriod, currency, timezone: ctx.timezone,
          });
          const billed = await billedTransactionIds(trx, input.organizationId, charge.id, all.map((f) => f.transactionId));
          const fresh = all.filter((f) => !billed.has(f.transactionId)).map((f) => ({ ...f, invoiceable: charge.invoiceable }));
          const stored = await insertInAdvanceFees(trx, { organizationId: input.organizationId, subscriptionId: input.subscriptionId, period: input.period }, fresh);
          feesCreated += stored.length;
          for (const fee of stored) {
            if (!fee.invoiceable) continue;
            const invoice = await claimFeeInvoice(trx, {
              organizationId: input.organizationId, subscriptionId: input.subscriptionId, customerId: ctx.customerId,
              period: input.period, fullPeriod: input.fullPeriod, currency, feeId: fee.id,
            });
            const line = feeLine(fee, input.period);
            const draft = await withInvoiceTaxes(trx, ctx, plan, { currency, fees: [line], feesAmountCents: line.amountCents, totalAmountCents: line.amountCents }, input.period);
            const written = invoice.status === 'draft' ? await replaceDraftFees(trx, invoice, draft) : invoice;
            const finalized = await finalizeLockedInvoice(trx, written);
            await linkFeeInvoice(trx, input.organizationId, fee.id, finalized.id);
            invoices.push({
              invoiceId: finalized.id, status: finalized.status, totalAmountCents: finalized.totalAmountCents, currency: finalized.currency,
              created: true, gracePeriodDays: 0,
            });
          }
        }
        return { feesCreated, invoices };
      }));
    },
  };
}

/**
 * HOOK for the credit notes (issue 12b): the unused part of the advance fee that paid for `terminatedAt`
 * (billing/advance-billing.ts terminationCreditCents, or upgradeCreditCents for a plan upgrade), with the fee line
 * and invoice it credits. Null when no advance fee covers that instant (arrears plan, trial, voided invoice).
 * `alreadyCreditedCents` = what earlier credit notes credited on that fee (the credit-notes module knows it).
 */
export async function unusedAdvanceFeeCredit(
  db: Knex,
  input: { organizationId: string; subscriptionId: string; terminatedAt: string; reason: 'termination' | 'upgrade'; alreadyCreditedCents?: number },
): Promise<{ feeId: string; invoiceId: string; credit: UnusedFeeCredit } | null> {
  const ctx = await loadSubscriptionBillingContext(db, input.organizationId, input.subscriptionId);
  const fee = input.reason === 'upgrade'
    ? await advanceFeeCoveringBefore(db, input.organizationId, input.subscriptionId, input.terminatedAt)
    : await advanceFeeCovering(db, input.organizationId, input.subscriptionId, input.terminatedAt);
  if (!fee) return null;
  const paid = { amountCents: fee.amountCents, currency: fee.currency, feePeriod: fee.feePeriod, alreadyCreditedCents: input.alreadyCreditedCents ?? 0 };
  const credit = input.reason === 'upgrade' ? upgradeCreditCents(paid, input.terminatedAt, ctx.timezone) : terminationCreditCents(paid, input.terminatedAt, ctx.timezone);
  return { feeId: fee.feeId, invoiceId: fee.invoiceId, credit };
}
