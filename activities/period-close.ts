// The period close in one transaction (issue 14, workflows/period-close.ts, patch 'close14-fold-v1').
//
// Before: createPeriodInvoice rated the period and wrote a draft (one transaction), the invoice workflow then
// ran finalizeInvoice, which locked the draft, rated the period AGAIN from Postgres (same events, same plan),
// rewrote the fees and numbered it (a second transaction): two activities, two ratings, two fee writes.
// Without a grace period nothing can happen between the two that the second rating does not also see, so
// `closePeriodInvoice` does finalizeInvoice's steps right after the claim, in the claim's transaction: lock the
// subscription for adjustments, rate once (own period + late-usage adjustments + coupons + taxes), write the
// fees, record FX, settle credits, number it. The result is what finalizeInvoice would have committed: the same
// fees, the same number order (the organization's sequence row, locked by finalizeLockedInvoice until COMMIT),
// the same webhooks (finalizeLockedInvoice enqueues them), the same issuing date (test clock included).
//
// Grace period > 0: exactly createPeriodInvoice (a draft; the invoice workflow refreshes and finalizes it).
// A business failure of the folded transaction (nothing committed): exactly createPeriodInvoice, so the
// outcome is the one of before — a rating failure fails the close (it fails createPeriodInvoice the same way),
// a finalization failure leaves the draft for the invoice workflow, whose finalizeInvoice fails with it.
// Idempotent: a retry finds the invoice finalized (claimPeriodInvoice) and returns it.
import type { Knex } from 'knex';
import { ApplicationFailure } from '@temporalio/common';
import { classified, classifyError, invoiceCurrency, rateInvoiceToFinalize, result } from './invoices';
import { httpTaxProvider, type TaxProviderFactory } from './taxes';
import { settleCreditsAtFinalization } from './credits';
import { closeOrWaitForRate, recordInvoiceFx } from './fx';
import { planIdOfPeriod } from './plan-history';
import { finalizeLockedInvoice, lockSubscriptionForAdjustments, replaceDraftFees } from '../db/repositories/invoices';
import { loadPlan } from '../db/repositories/plans';
import { withPoisonQuarantine } from '../db/repositories/quarantine';
import { loadSubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { clockTimeOfSubscription } from '../db/repositories/test-clocks';
import type { CreatePeriodInvoiceInput, PeriodInvoiceResult, SubscriptionActivities } from './types';
import { claimClosedPeriodInvoice } from './period-claim';

export interface PeriodCloseActivities {
  /** createPeriodInvoice + finalizeInvoice in one transaction when the invoice has no grace period (see the header). */
  closePeriodInvoice(input: CreatePeriodInvoiceInput): Promise<PeriodInvoiceResult>;
}

export function createPeriodCloseActivities(deps: { db: Knex; createPeriodInvoice: SubscriptionActivities['createPeriodInvoice']; taxProviderFor?: TaxProviderFactory }): PeriodCloseActivities {
  const { db } = deps;
  const providerFor = deps.taxProviderFor ?? httpTaxProvider;

  async function closeAndFinalize(input: CreatePeriodInvoiceInput): Promise<PeriodInvoiceResult | null> {
    const ctx = await loadSubscriptionBillingContext(db, input.organizationId, input.subscriptionId);
    if (ctx.gracePeriodDays > 0) return null;
    const plan = await loadPlan(db, input.organizationId, await planIdOfPeriod(db, ctx, input.period));
    const currency = invoiceCurrency(ctx, plan);
    return closeOrWaitForRate(db, ctx, plan, input, () => withPoisonQuarantine(db, input.organizationId, input.subscriptionId, () => db.transaction(async (trx) => {
      const invoice = await claimClosedPeriodInvoice(trx, input, ctx.customerId, currency);
      if (invoice.status !== 'draft') return result(invoice, ctx, false);
      // finalizeInvoice's order: the invoice row (claimed above), then the subscription row, then the rating.
      await lockSubscriptionForAdjustments(trx, input.organizationId, input.subscriptionId);
      // failed13: the organization's tax engine, if any; its permanent error is a business failure here, so the
      // unfolded close writes the draft and the invoice workflow's finalizeInvoice marks it `failed`.
      const draft = await rateInvoiceToFinalize(trx, ctx, plan, { id: invoice.id, kind: input.kind, period: input.period, fullPeriod: input.fullPeriod }, providerFor);
      const written = await replaceDraftFees(trx, invoice, draft);
      await recordInvoiceFx(trx, ctx, plan, written);
      const credited = await settleCreditsAtFinalization(trx, written);
      const clockNow = await clockTimeOfSubscription(trx, input.organizationId, input.subscriptionId);
      return result(await finalizeLockedInvoice(trx, credited, clockNow ? { now: clockNow } : {}), ctx, invoice.created);
    })));
  }

  return {
    async closePeriodInvoice(input: CreatePeriodInvoiceInput): Promise<PeriodInvoiceResult> {
      let folded: PeriodInvoiceResult | null;
      try {
        folded = await closeAndFinalize(input);
      } catch (err) {
        const failure = classifyError(err);
        // Transient: the activity retries. A business failure (an FX rate still missing included): the unfolded
        // close runs and fails or succeeds exactly as before.
        if (!(failure instanceof ApplicationFailure) || !failure.nonRetryable) throw failure;
        folded = null; // a business failure: the unfolded close decides (see the header)
      }
      return folded ?? (await classified(() => deps.createPeriodInvoice(input)));
    },
  };
}
