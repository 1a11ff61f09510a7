// FX side effects: refreshing the stored ECB rates from the feed (the Schedule's activity), and the hook that
// converts an invoice draft from the plan's price currency into the customer's currency (billing/fx.ts).
//
// Invoicing in another currency (organization setting `fx_invoicing_enabled`):
// - the invoice currency is the customer's currency; lines are priced in the plan's currency by buildInvoice,
//   then `convertForInvoice` converts them with ONE pure step (billing/fx convertInvoice): per line, rounded once;
// - the rate is the one for date D = the last local day (customer timezone) of the billed period: the latest
//   ECB rate published on or before D (7-day staleness bound), else the organization's manual rate (31 days);
// - re-rating a draft (refresh, finalize) resolves the rate again; once finalized the stored rate is frozen;
// - late-event adjustments re-rate earlier periods at THEIR date's rate, so the comparison with what was
//   billed happens in the invoice currency at the same rate;
// - no usable rate: the period's draft is recorded with fx_status `waiting_for_rate` and the reason, and the
//   activity fails with the RETRYABLE type `fx_rate_missing`: Temporal retries it (backoff ≤ 5 minutes) until a
//   refresh or an operator's manual rate makes it pass. Nothing is guessed, nothing is finalized without a rate.
// - known limits: progressive-billing invoices (activities/thresholds.ts) stay in the price currency; their
//   credit on the period's final invoice is converted at the final invoice's rate.
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { ERROR_CODES } from '../billing/error-codes';
import { convertInvoice, type RateLookup } from '../billing/fx';
import type { InvoiceDraft } from '../billing/invoice';
import type { Period, Plan } from '../billing/types';
import { FxFeedError, type FxRateFeed } from '../adapters/fx/port';
import { latestPublishedDate, resolveStoredRate, upsertPublishedRates } from '../db/repositories/fx-rates';
import { recordInvoiceConversion, recordInvoiceWaitingForRate } from '../db/repositories/invoice-fx';
import type { SubscriptionBillingContext } from '../db/repositories/subscriptions-billing';
import type { CreatePeriodInvoiceInput } from './types';
import { claimClosedPeriodInvoice } from './period-claim';

type Db = Knex | Knex.Transaction;

/** The retryable wait for a rate (a transient code of billing/error-codes.ts). */
export const FX_RATE_MISSING = ERROR_CODES.fx_rate_missing;

/** The currency the customer is invoiced in: the customer's when the organization allows FX, else the plan's. */
export function targetCurrency(ctx: SubscriptionBillingContext & { fxInvoicingEnabled?: boolean }, plan: Plan): string {
  return ctx.fxInvoicingEnabled === true && ctx.customerCurrency !== null ? ctx.customerCurrency : plan.amountCurrency;
}

/** D: the last local day of the billed period (the customer's timezone). */
export function rateDateOf(period: Period, timezone: string): string {
  return DateTime.fromMillis(Date.parse(period.end) - 1, { zone: timezone }).toISODate()!;
}

// One lookup per (transaction, organization, pair, date): the conversion and the recording on the invoice
// see the same rate even if a refresh commits in between.
const memo = new WeakMap<object, Map<string, Promise<RateLookup>>>();

function lookupRate(db: Db, organizationId: string, from: string, to: string, date: string): Promise<RateLookup> {
  let m = memo.get(db);
  if (!m) memo.set(db, (m = new Map()));
  const key = `${organizationId}|${from}|${to}|${date}`;
  let p = m.get(key);
  if (!p) m.set(key, (p = resolveStoredRate(db, organizationId, from, to, date)));
  return p;
}

function rateMissing(lookup: Extract<RateLookup, { ok: false }>, from: string, to: string, date: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${lookup.message}: the invoice waits for a rate (refresh the ECB rates or enter a manual ${from}/${to} rate for ${date})`,
    type: FX_RATE_MISSING,
    nonRetryable: false,
    details: [{ code: lookup.code, from, to, date, latestDate: lookup.latestDate }],
  });
}

/**
 * THE hook: a draft priced in the plan's currency → the draft in the invoice currency (unchanged when they
 * are the same). Throws the retryable `fx_rate_missing` when no rate is usable.
 */
export async function convertForInvoice(
  db: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  period: Period,
  draft: InvoiceDraft,
): Promise<InvoiceDraft> {
  const to = targetCurrency(ctx, plan);
  if (to === draft.currency) return draft;
  const date = rateDateOf(period, ctx.timezone);
  const lookup = await lookupRate(db, ctx.organizationId, draft.currency, to, date);
  if (!lookup.ok) throw rateMissing(lookup, draft.currency, to, date);
  return convertInvoice(draft, lookup.rate);
}

/** Stores on the draft the rate its lines were converted with (after the fees are written). */
export async function recordInvoiceFx(
  trx: Db,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  invoice: { id: string; organizationId: string; period: Period },
): Promise<void> {
  const to = targetCurrency(ctx, plan);
  if (to === plan.amountCurrency) {
    await recordInvoiceConversion(trx, invoice.organizationId, invoice.id, null, plan.amountCurrency);
    return;
  }
  const lookup = await lookupRate(trx, invoice.organizationId, plan.amountCurrency, to, rateDateOf(invoice.period, ctx.timezone));
  if (!lookup.ok) throw rateMissing(lookup, plan.amountCurrency, to, rateDateOf(invoice.period, ctx.timezone));
  await recordInvoiceConversion(trx, invoice.organizationId, invoice.id, lookup.rate, plan.amountCurrency);
}

/**
 * Runs the period close; when it fails for want of a rate, the period's draft is claimed and marked
 * `waiting_for_rate` with the reason (in its own transaction, so operators see it), then the retryable
 * failure is rethrown and Temporal retries the close.
 */
export async function closeOrWaitForRate<T>(
  db: Knex,
  ctx: SubscriptionBillingContext,
  plan: Plan,
  input: CreatePeriodInvoiceInput,
  close: () => Promise<T>,
): Promise<T> {
  try {
    return await close();
  } catch (err) {
    if (!(err instanceof ApplicationFailure) || err.type !== FX_RATE_MISSING) throw err;
    await db.transaction(async (trx) => {
      const invoice = await claimClosedPeriodInvoice(trx, input, ctx.customerId, targetCurrency(ctx, plan));
      if (invoice.status === 'draft') await recordInvoiceWaitingForRate(trx, input.organizationId, invoice.id, plan.amountCurrency, err.message);
    });
    throw err;
  }
}

export interface FxActivityDeps {
  db: Knex;
  feed: FxRateFeed;
}

export interface RefreshFxRatesResult {
  fetched: number;
  changed: number;
  latestDate: string | null;
}

/** Activity of the daily Schedule: reads the last 90 days (fills gaps after an outage) and stores them. */
export function createFxActivities(deps: FxActivityDeps) {
  return {
    async refreshFxRates(): Promise<RefreshFxRatesResult> {
      let rates;
      try {
        rates = await deps.feed.fetchLast90Days();
      } catch (err) {
        if (err instanceof FxFeedError) {
          throw ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: !err.retryable, cause: err });
        }
        throw err;
      }
      const changed = await upsertPublishedRates(deps.db, deps.feed.source, rates);
      return { fetched: rates.length, changed, latestDate: await latestPublishedDate(deps.db, deps.feed.source) };
    },
  };
}

export type FxActivities = ReturnType<typeof createFxActivities>;
