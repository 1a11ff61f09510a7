// Period invoices: aggregate the period's usage from Postgres, rate it with billing/, persist exactly once.
//
// Usage: usage/period-usage.ts `ledgerUsage` (exact, from the events table, inside the caller's transaction;
// SQL count / Σ / max for single-bucket charges, raw events + billing/aggregateCharge otherwise). Rating:
// billing/ratePeriod (rateInvoiceDraft below), the same pure step every other caller uses.
//
// Subscription fee: billed in arrears with the period for plans with pay_in_advance = false (a termination
// invoice prorates it through period vs fullPeriod inside buildInvoice). For pay_in_advance plans the invoice at
// a period end carries the fee of the period that begins (activities/advance-billing.ts, the start invoice for
// the first period). Pay-in-advance charges are skipped by buildInvoice (billed per event, advance-billing.ts).
//
// Late events:
// - During the grace period a draft is re-rated by refreshDraftInvoice (the API signals the invoice workflow
//   when new events fall in a draft's period). finalizeInvoice re-rates the draft once more INSIDE its
//   transaction, right before numbering: an event committed before finalization is on the invoice even if the
//   refresh signal was lost.
// - Late events of an already FINALIZED period are billed on the next subscription / termination invoice as
//   `adjustment` fees: each time such an invoice is rated (created, refreshed, finalized), every one of the
//   subscription's last ADJUSTMENT_LOOKBACK_INVOICES finalized subscription/termination invoices is re-rated
//   from Postgres and compared with what was billed for its period so far (its own usage lines + adjustments
//   for it on other finalized invoices) by billing/adjustmentFees. Recomputed from scratch every time, so
//   re-running a close never doubles an adjustment; once an invoice carrying an adjustment is finalized, the
//   adjustment counts as billed and later invoices see no difference. Finalization locks the subscription row
//   (lockSubscriptionForAdjustments) so two invoices of one subscription finalizing at once cannot both bill it.
// - Re-rating uses the subscription's CURRENT plan (plans are not versioned yet): a charge removed from the
//   plan is not re-rated (its late events stay unbilled), and a price edit is only folded into the adjustment
//   of a charge whose usage changed (adjustmentFees compares usage first).
// - Cost: up to ADJUSTMENT_LOOKBACK_INVOICES period ratings per invoice rating (SQL count/sum/max per period
//   for simple charges). Events older than the look-back are not billed (documented bound).
//
// Concurrency: the invoice row is claimed and locked first (claimPeriodInvoice / lockInvoice), and the
// events are read after the lock inside the same transaction, so concurrent creations/refreshes serialize
// and the last one to commit has seen every event committed before it took the lock.
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import type { ChargeUsage } from '../billing/aggregation';
import { BillingError } from '../billing/errors';
import { adjustmentFees, withExtraFees, type Fee, type InvoiceDraft, type InvoiceKind } from '../billing/invoice';
import { chargesToRead, ratePeriod } from '../billing/rate-period';
import type { Period, Plan } from '../billing/types';
import type { TaxedInvoiceDraft } from '../billing/tax';
import { httpTaxProvider, taxesIdempotencyKey, withFinalizationTaxes, withInvoiceTaxes, type TaxProviderFactory } from './taxes';
import { classifyTaxProviderError, TaxProviderError } from '../adapters/tax-provider/port';
import { markInvoiceTaxFailed, reopenFailedInvoice } from '../db/repositories/invoice-error-details';
import { boundaryRatingOptions } from './advance-boundary';
import { applyCustomerCoupons, settleCreditsAtFinalization } from './credits';
import {
  billedFeesOfInvoices,
  finalizedInvoicesBefore,
  finalizeLockedInvoice,
  lockInvoice,
  lockSubscriptionForAdjustments,
  replaceDraftFees,
  type LockedInvoice,
} from '../db/repositories/invoices';
import { loadPlan } from '../db/repositories/plans';
import { getTaxProviderConnection } from '../db/repositories/taxes';
import { withPoisonQuarantine, withPoisonQuarantineOfInvoice } from '../db/repositories/quarantine';
import { loadSubscriptionBillingContext, type SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import { progressiveBilledAmountCents } from '../db/repositories/thresholds';
import { ledgerUsage, readPeriodUsage } from '../usage/period-usage';
import { closeOrWaitForRate, convertForInvoice, recordInvoiceFx } from './fx';
import type { CreatePeriodInvoiceInput, InvoiceRef, PeriodInvoiceResult, SubscriptionActivities } from './types';
import { enqueueWebhook } from '../db/repositories/webhooks';
import { clockTimeOfSubscription } from '../db/repositories/test-clocks';
import { planIdOfPeriod, subscriptionFeePeriodOf } from './plan-history';
import { firstAdvanceFeesAtChange, withSubscriptionFeePlan } from './plan-change-boundary';
import { fixedChargesOfInvoice } from './fixed-charges';
import { newPlanAdvanceFixedChargeFeesAtChange } from './fixed-charges-at-change';
import { claimClosedPeriodInvoice } from './period-claim';

// Error classification at the source (CONVENTIONS "Errors"), shared by every activity group:
// - BillingError (invalid plan data, non-numeric event value, missing rows...) → non-retryable
//   ApplicationFailure whose `type` is the BillingError's stable `code`; the original error is the cause.
// - Postgres data exceptions (SQLSTATE class 22: a value that cannot be cast/stored) → non-retryable, type
//   'invalid_data': retrying the same statement gives the same answer.
// - Everything else — connection resets, serialization failures (40001), deadlocks (40P01), timeouts —
//   is rethrown unchanged so the activity retry policy retries it.

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function classifyError(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  // failed13: a tax engine's errors are classified by its adapter (permanent → non-retryable with its code).
  if (err instanceof TaxProviderError) return classifyTaxProviderError(err);
  if (err instanceof BillingError) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.code,
      nonRetryable: true,
      cause: err,
      details: err.field !== undefined ? [{ field: err.field }] : [],
    });
  }
  const state = sqlState(err);
  if (state !== undefined && state.startsWith('22')) {
    return ApplicationFailure.create({
      message: (err as Error).message,
      type: 'invalid_data',
      nonRetryable: true,
      cause: err as Error,
      details: [{ sqlState: state }],
    });
  }
  return err;
}

/** Runs an activity body and classifies what it throws. */
export async function classified<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classifyError(err);
  }
}

export interface InvoiceActivityDeps {
  db: Knex;
  /** failed13: the tax engine of an organization's connection (default: Lago's aggregator protocol over HTTP). */
  taxProviderFor?: TaxProviderFactory;
}

type Db = Knex | Knex.Transaction;

/** Usage of every charge the period's invoice rates (in-arrears charges) over [period.start, period.end), exact. */
export async function aggregatePeriodUsage(db: Db, ctx: SubscriptionBillingContext, plan: Plan, period: Period): Promise<ChargeUsage[]> {
  return readPeriodUsage(db, ctx, chargesToRead(plan, 'per_event'), period, ledgerUsage);
}

/**
 * The currency the lines are PRICED in (the plan's). BillingError currency_mismatch when the customer has another
 * one and the organization does not allow FX; with FX allowed, convertForInvoice converts the priced draft.
 */
export function invoiceCurrency(ctx: SubscriptionBillingContext, plan: Plan): string {
  if (ctx.customerCurrency !== null && ctx.customerCurrency !== plan.amountCurrency && !ctx.fxInvoicingEnabled) {
    throw new BillingError(
      'currency_mismatch',
      `Customer currency ${ctx.customerCurrency} differs from plan ${plan.code}'s ${plan.amountCurrency} (FX is not supported yet)`,
      'currency',
    );
  }
  return plan.amountCurrency;
}

/**
 * The draft of an invoice of `kind` for `period`, rated now from Postgres: the one rating of period close, draft
 * refresh, finalization and progressive billing (billing/ratePeriod; pay-in-advance charges are billed per event,
 * not here).
 */
export async function rateInvoiceDraft(
  db: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  kind: InvoiceKind,
  period: Period,
  fullPeriod: Period,
  subscriptionAt?: string,
): Promise<InvoiceDraft> {
  // Pay in advance (activities/advance-boundary.ts, billing/advance-billing.ts): which fees this boundary bills.
  const boundary = await boundaryRatingOptions(db, ctx, plan, kind === 'preview' ? 'subscription' : kind, period, fullPeriod);
  const usage = boundary.rateUsage ? await aggregatePeriodUsage(db, ctx, plan, period) : [];
  // FX hook: priced in the plan's currency, converted per line into the customer's (activities/fx.ts).
  const rated = ratePeriod({
    // The start invoice of an advance plan (empty usage period) has no usage lines.
    plan: boundary.rateUsage ? plan : { ...plan, charges: [] },
    kind,
    payInAdvanceCharges: 'per_event',
    currency: invoiceCurrency(ctx, plan),
    timezone: ctx.timezone,
    period,
    fullPeriod,
    // Arrears plans: the fee of this period; advance plans: the fee of the period that begins at period.end.
    // A progressive-billing invoice bills usage only (activities/thresholds.ts).
    chargeSubscriptionFee: boundary.chargeSubscriptionFee,
    // Pay in advance: the fee of the period that begins (activities/advance-boundary.ts); plan changes
    // (activities/plan-history.ts): an upgrade ended this period → the old plan's fee stops at the change day.
    ...(boundary.subscriptionFeePeriod ? { subscriptionFeePeriod: boundary.subscriptionFeePeriod } : { subscriptionFeePeriod: await subscriptionFeePeriodOf(db, ctx, period, fullPeriod) }),
    inAdvanceFeesAmountCents: boundary.inAdvanceFeesAmountCents,
    usage,
    subscriptionAt,
    // Usage of this period already billed by progressive-billing invoices (db/repositories/thresholds.ts).
    alreadyBilledAmountCents: await progressiveBilledAmountCents(db, ctx.organizationId, ctx.subscriptionId, period),
    // Fixed charges (activities/fixed-charges.ts): in arrears over this period, in advance over the one that begins.
    fixedCharges: await fixedChargesOfInvoice(db, ctx, plan, kind, period, fullPeriod),
  }).draft;
  // Plan changes (activities/plan-change-boundary.ts): at a change the new plan's first advance fee; every
  // subscription fee keeps the plan it was billed under (fees.plan_id).
  // fixed11: and the new plan's first advance fixed charges (activities/fixed-charges-at-change.ts).
  const withNextPlanFee = withExtraFees(rated, [...(await firstAdvanceFeesAtChange(db, ctx, kind, period)), ...(await newPlanAdvanceFixedChargeFeesAtChange(db, ctx, kind, period))]);
  const attributed = withSubscriptionFeePlan(withNextPlanFee, await planIdOfPeriod(db, ctx, period));
  return convertForInvoice(db, ctx, plan, period, attributed);
}

/** How many earlier finalized invoices of the subscription are re-rated for late events (about a year of monthly periods). */
export const ADJUSTMENT_LOOKBACK_INVOICES = 12;

/** Only these invoice kinds carry adjustments, and only invoices of these kinds are adjusted. */
function carriesAdjustments(kind: InvoiceKind): boolean {
  return kind === 'subscription' || kind === 'termination';
}

/**
 * Adjustment fees for late usage of the subscription's finalized periods that start before `before`
 * (see the header). Oldest period first.
 */
export async function lateUsageAdjustments(
  db: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  before: string,
  subscriptionAt: string,
): Promise<Fee[]> {
  const earlier = await finalizedInvoicesBefore(db, ctx.organizationId, ctx.subscriptionId, {
    before,
    invoiceTypes: ['subscription', 'termination'],
    limit: ADJUSTMENT_LOOKBACK_INVOICES,
  });
  if (earlier.length === 0) return [];
  const billed = await billedFeesOfInvoices(db, ctx.organizationId, earlier.map((i) => i.id));
  const out: Fee[] = [];
  const plansById = new Map<string, Plan>();
  for (const inv of [...earlier].reverse()) {
    // Plan changes: an earlier period is re-rated with the plan it was billed with (activities/plan-history.ts).
    const periodPlanId = await planIdOfPeriod(db, ctx, inv.period);
    if (!plansById.has(periodPlanId)) plansById.set(periodPlanId, await loadPlan(db, ctx.organizationId, periodPlanId));
    const periodPlan = plansById.get(periodPlanId)!;
    const rerated = await rateInvoiceDraft(db, ctx, periodPlan, invoiceKind(inv.invoiceType), inv.period, inv.fullPeriod ?? inv.period, subscriptionAt);
    out.push(...adjustmentFees(billed.get(inv.id) ?? [], rerated.fees, { invoiceId: inv.id, period: inv.period, timezone: ctx.timezone }));
  }
  return out;
}

/** The invoice's own period rated now, plus adjustments for earlier finalized periods when its kind carries them. */
export async function rateInvoice(
  db: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  kind: InvoiceKind,
  period: Period,
  fullPeriod: Period,
  subscriptionAt: string,
  taxes: (draft: InvoiceDraft) => Promise<TaxedInvoiceDraft> = (d) => withInvoiceTaxes(db, ctx, plan, d, period),
): Promise<TaxedInvoiceDraft> {
  const draft = await rateInvoiceDraft(db, ctx, plan, kind, period, fullPeriod, subscriptionAt);
  const withAdjustments = carriesAdjustments(kind) ? withExtraFees(draft, await lateUsageAdjustments(db, ctx, plan, period.start, subscriptionAt)) : draft;
  // Coupons step (activities/credits.ts, billing/coupons.ts): before taxes, so taxes use the discounted base.
  const withCoupons = await applyCustomerCoupons(db, ctx, plan, withAdjustments);
  // Taxes step (billing/tax taxInvoiceDraft): after every fee of the invoice is known, before it is written.
  return taxes(withCoupons);
}

/** rateInvoice for a finalization (failed13): the taxes step asks the organization's tax engine when it has one. */
export function rateInvoiceToFinalize(
  db: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  invoice: { id: string; kind: InvoiceKind; period: Period; fullPeriod: Period; retryOf?: string | null },
  providerFor: TaxProviderFactory,
): Promise<TaxedInvoiceDraft> {
  const attempt = { invoiceId: invoice.id, idempotencyKey: taxesIdempotencyKey(invoice.id, invoice.retryOf ?? null) };
  return rateInvoice(db, ctx, plan, invoice.kind, invoice.period, invoice.fullPeriod, ctx.subscriptionAt, (d) => withFinalizationTaxes(db, ctx, plan, d, invoice.period, attempt, providerFor));
}

export function result(invoice: LockedInvoice, ctx: SubscriptionBillingContext, created: boolean): PeriodInvoiceResult {
  return {
    invoiceId: invoice.id,
    status: invoice.status,
    totalAmountCents: invoice.totalAmountCents,
    currency: invoice.currency,
    created,
    gracePeriodDays: ctx.gracePeriodDays,
  };
}

/** A one-off invoice (no subscription) is finalized by the API when it is created: nothing to rate here. */
function oneOffResult(invoice: LockedInvoice): PeriodInvoiceResult {
  return { invoiceId: invoice.id, status: invoice.status, totalAmountCents: invoice.totalAmountCents, currency: invoice.currency, created: false, gracePeriodDays: 0 };
}

function invoiceKind(invoiceType: string): InvoiceKind {
  if (invoiceType === 'subscription' || invoiceType === 'termination' || invoiceType === 'progressive_billing') return invoiceType;
  throw new BillingError('invalid_invoice_type', `Invoice type ${invoiceType} cannot be refreshed`, 'invoice_type');
}

export function createInvoiceActivities(
  deps: InvoiceActivityDeps,
): Pick<SubscriptionActivities, 'createPeriodInvoice' | 'refreshDraftInvoice' | 'finalizeInvoice'> {
  const { db } = deps;
  const providerFor = deps.taxProviderFor ?? httpTaxProvider;

  /** A tax engine's permanent error (an address it cannot place): the invoice becomes `failed` with its error details. */
  async function failFinalizationOnTaxError(ref: InvoiceRef, finalize: () => Promise<PeriodInvoiceResult>): Promise<PeriodInvoiceResult> {
    try {
      return await finalize();
    } catch (err) {
      if (!(err instanceof TaxProviderError) || err.kind !== 'permanent') throw err;
      const conn = await getTaxProviderConnection(db, ref.organizationId);
      const failed = await db.transaction((trx) =>
        markInvoiceTaxFailed(trx, ref.organizationId, ref.invoiceId, { provider: conn?.provider ?? 'anrok', providerCode: conn?.code ?? '', errorCode: err.providerCode, message: err.message }),
      );
      // Finalized (or gone) meanwhile: what is stored now answers.
      if (!failed) return finalize();
      return { invoiceId: failed.id, status: 'failed', totalAmountCents: failed.totalAmountCents, currency: failed.currency, created: false, gracePeriodDays: 0 };
    }
  }

  /** Re-rates a DRAFT invoice locked by `trx` (its own period + adjustments) and writes its fees and totals. */
  /** `finalizing`: the finalization's rating (the organization's tax engine; `retryOf` keys a retry's request). */
  async function rerateLockedDraft(trx: Knex.Transaction, ctx: SubscriptionBillingContext, invoice: LockedInvoice, finalizing: { retryOf: string | null } | null = null): Promise<LockedInvoice> {
    const plan = await loadPlan(trx, invoice.organizationId, await planIdOfPeriod(trx, ctx, invoice.period));
    const target = { id: invoice.id, kind: invoiceKind(invoice.invoiceType), period: invoice.period, fullPeriod: invoice.fullPeriod ?? invoice.period };
    const draft = finalizing
      ? await rateInvoiceToFinalize(trx, ctx, plan, { ...target, retryOf: finalizing.retryOf }, providerFor)
      : await rateInvoice(trx, ctx, plan, target.kind, target.period, target.fullPeriod, ctx.subscriptionAt);
    const written = await replaceDraftFees(trx, invoice, draft);
    await recordInvoiceFx(trx, ctx, plan, written);
    return written;
  }

  return {
    async createPeriodInvoice(input: CreatePeriodInvoiceInput): Promise<PeriodInvoiceResult> {
      return classified(async () => {
        const ctx = await loadSubscriptionBillingContext(db, input.organizationId, input.subscriptionId);
        const plan = await loadPlan(db, input.organizationId, await planIdOfPeriod(db, ctx, input.period));
        const currency = invoiceCurrency(ctx, plan);
        const subAt = ctx.subscriptionAt;
        // Poison-row hook (db/repositories/quarantine.ts): an unusable stored event is quarantined, then rated again.
        return closeOrWaitForRate(db, ctx, plan, input, () => withPoisonQuarantine(db, input.organizationId, input.subscriptionId, () => db.transaction(async (trx) => {
          const invoice = await claimClosedPeriodInvoice(trx, input, ctx.customerId, currency);
          // Already finalized: done before, nothing to change ("already done" → success).
          if (invoice.status !== 'draft') return result(invoice, ctx, false);
          const draft = await rateInvoice(trx, ctx, plan, input.kind, input.period, input.fullPeriod, subAt);
          const written = await replaceDraftFees(trx, invoice, draft);
          await recordInvoiceFx(trx, ctx, plan, written);
          // Lago sends invoice.drafted for a new invoice that waits in a grace period (without one it is finalized next: invoice.created).
          if (invoice.created && ctx.gracePeriodDays > 0) await enqueueWebhook(trx, { organizationId: input.organizationId, webhookType: 'invoice.drafted', objectType: 'invoice', objectId: invoice.id, uniqueKey: `invoice.drafted:${invoice.id}` });
          return result(written, ctx, invoice.created);
        })));
      });
    },

    async refreshDraftInvoice(ref: InvoiceRef): Promise<PeriodInvoiceResult> {
      return classified(() => withPoisonQuarantineOfInvoice(db, ref.organizationId, ref.invoiceId, () =>
        db.transaction(async (trx) => {
          const invoice = await lockInvoice(trx, ref.organizationId, ref.invoiceId);
          if (!invoice) throw new BillingError('invoice_not_found', `Invoice ${ref.invoiceId} not found`, 'invoice_id');
          if (invoice.subscriptionId === null) return oneOffResult(invoice); // finalized when created (api/routes/one-off-invoices.ts)
          const ctx = await loadSubscriptionBillingContext(trx, ref.organizationId, invoice.subscriptionId);
          if (invoice.status !== 'draft') return result(invoice, ctx, false);
          return result(await rerateLockedDraft(trx, ctx, invoice), ctx, false);
        }),
      ));
    },

    // Re-rates the draft from Postgres and numbers it in ONE transaction (see the header: a lost refresh signal
    // cannot drop an event committed before finalization). A business failure while re-rating fails the
    // finalization (nothing is numbered with stale fees); the invoice workflow surfaces it to operators.
    // failed13: a `failed` invoice is finalized the same way (a retry: reopened to draft, its error details discarded,
    // in this transaction); a tax engine's permanent error rolls it back and marks the invoice failed (failFinalization).
    async finalizeInvoice(ref: InvoiceRef): Promise<PeriodInvoiceResult> {
      return classified(() => failFinalizationOnTaxError(ref, () => withPoisonQuarantineOfInvoice(db, ref.organizationId, ref.invoiceId, () =>
        db.transaction(async (trx) => {
          const locked = await lockInvoice(trx, ref.organizationId, ref.invoiceId);
          if (!locked) throw new BillingError('invoice_not_found', `Invoice ${ref.invoiceId} not found`, 'invoice_id');
          if (locked.subscriptionId === null) return oneOffResult(locked); // finalized when created (api/routes/one-off-invoices.ts)
          const ctx = await loadSubscriptionBillingContext(trx, ref.organizationId, locked.subscriptionId);
          const { invoice, retryOf } = await reopenFailedInvoice(trx, locked);
          if (invoice.status !== 'draft') return result(invoice, ctx, false);
          await lockSubscriptionForAdjustments(trx, ref.organizationId, locked.subscriptionId);
          const rerated = await rerateLockedDraft(trx, ctx, invoice, { retryOf });
          // Coupons consumed, credit-note balances applied after taxes (activities/credits.ts); wallets come next
          // (inside finalizeLockedInvoice, right before numbering).
          const credited = await settleCreditsAtFinalization(trx, rerated);
          // Test clocks (issue 11c): a sandbox invoice is issued on its clock's date (payment_due_date follows).
          const clockNow = await clockTimeOfSubscription(trx, ref.organizationId, locked.subscriptionId);
          return result(await finalizeLockedInvoice(trx, credited, clockNow ? { now: clockNow } : {}), ctx, false);
        }),
      )));
    },
  };
}
