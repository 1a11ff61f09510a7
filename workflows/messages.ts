// Messages of the subscription and invoice workflows, shared by workflows/ and api/.
// Every payload here is plain JSON (it travels through Temporal history and continue-as-new).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { dec, str } from '../billing/money';
import type { Period } from '../billing/types';
import type { ScheduleInput } from '../billing/period';

export const SUBSCRIPTION_TASK_QUEUE = 'meterline-billing';

export function subscriptionWorkflowId(subscriptionId: string): string {
  return `subscription:${subscriptionId}`;
}

export function invoiceWorkflowId(invoiceId: string): string {
  return `invoice:${invoiceId}`;
}

/** Custom search attributes the operators filter on in the Temporal UI. */
export const SEARCH_ATTRIBUTES = {
  CustomerId: 'Keyword',
  SubscriptionId: 'Keyword',
  PlanCode: 'Keyword',
  SubscriptionStatus: 'Keyword',
  CurrentPeriodEnd: 'Datetime',
  /** Invoice workflows: where collection stands (InvoicePaymentSearchStatus). */
  PaymentStatus: 'Keyword',
  /** Invoice workflows: the dunning attempt in progress (0 = the first payment attempt). */
  DunningAttempt: 'Int',
} as const;

/** Typed keys of SEARCH_ATTRIBUTES (the SDK's typed search attributes API). */
export const SEARCH_ATTRIBUTE_KEYS = {
  CustomerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  SubscriptionId: defineSearchAttributeKey('SubscriptionId', SearchAttributeType.KEYWORD),
  PlanCode: defineSearchAttributeKey('PlanCode', SearchAttributeType.KEYWORD),
  SubscriptionStatus: defineSearchAttributeKey('SubscriptionStatus', SearchAttributeType.KEYWORD),
  CurrentPeriodEnd: defineSearchAttributeKey('CurrentPeriodEnd', SearchAttributeType.DATETIME),
  PaymentStatus: defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD),
  DunningAttempt: defineSearchAttributeKey('DunningAttempt', SearchAttributeType.INT),
} as const;

/**
 * Values of the `SubscriptionStatus` search attribute. `billing_failed`: closing the period hit a business
 * failure (e.g. `invalid_plan`); the workflow keeps running and retries the close (see subscription.ts).
 */
export type SubscriptionSearchStatus = 'active' | 'billing_failed' | 'terminated';

/** Live usage of one metric inside the open period, as the workflow knows it from signals. */
export interface LiveMetricUsage {
  eventsCount: number;
  /** Sum of the events' numeric `field_name` values (decimal string); "0" for count metrics. */
  units: string;
}

export interface BillingPeriodState {
  period: Period;
  fullPeriod: Period;
}

/** The subscription workflow's state; versioned, JSON only, carried through continue-as-new. */
export interface SubscriptionWorkflowState {
  version: 1;
  organizationId: string;
  subscriptionId: string;
  externalSubscriptionId: string;
  externalCustomerId: string;
  planCode: string;
  schedule: ScheduleInput;
  /** The period being collected; computed from the schedule on the first run when absent. */
  current?: BillingPeriodState;
  /** Live usage per metric code for `current`. */
  liveUsage: Record<string, LiveMetricUsage>;
  /** How many periods this subscription has closed (diagnostics). */
  closedPeriods: number;
  /** Usage signals received over the subscription's life (diagnostics, bounded by coalescing). */
  usageSignalsReceived: number;
  /** Progressive-billing invoices of `current` whose invoice workflow this subscription started (absent: none). */
  progressiveInvoiceIds?: string[];
}

export interface UsageDelta {
  metricCode: string;
  /** Start of the hour (ISO UTC) the events' timestamps fall in: the workflow counts only its open period. */
  bucketStart: string;
  eventsCount: number;
  /** Sum of the numeric field values (decimal string); "0" for count metrics. */
  units: string;
}

/** A coalesced usage notification: deltas aggregated by the API over about a second. */
export interface UsageSignalPayload {
  deltas: UsageDelta[];
}

export interface TerminateRequest {
  /** When the subscription ends (ISO UTC); the workflow's current time when absent. */
  terminatedAt?: string;
}

export interface TerminateResult {
  invoiceId: string;
  totalAmountCents: number;
  terminatedAt: string;
}

/** A business failure (non-retryable activity failure) that blocks closing the current period. */
export interface BillingFailureState {
  /** The ApplicationFailure type, e.g. "invalid_plan". */
  type: string;
  message: string;
  /** Close attempts that failed so far. */
  attempts: number;
  /** When the workflow retries on its own (ISO UTC); `retryPeriodCloseSignal` retries at once. */
  nextRetryAt: string;
}

export interface SubscriptionLiveState {
  status: 'active' | 'terminated';
  planCode: string;
  currentPeriod: BillingPeriodState | null;
  liveUsage: Record<string, LiveMetricUsage>;
  closedPeriods: number;
  usageSignalsReceived: number;
  /** Set while the period close is blocked by a business failure; null otherwise. */
  billingFailure: BillingFailureState | null;
  /** Usage threshold / alert checks of the open period; null until the rules are loaded (or in older runs). */
  usageChecks?: UsageChecksState | null;
}

export interface UsageChecksState {
  /** False: the subscription has no usage thresholds and no alerts. */
  rulesActive: boolean;
  /** evaluateUsageThresholds calls made in this run. */
  checks: number;
  lastCheckAt: string | null;
  /** The period's usage amount confirmed by the last check (minor units). */
  confirmedAmountCents: number;
  /** Progressive invoices of the period whose invoice workflow was started. */
  progressiveInvoiceIds: string[];
}

export const usageSignal = defineSignal<[UsageSignalPayload]>('usageSignal');
export const terminateUpdate = defineUpdate<TerminateResult, [TerminateRequest]>('terminateUpdate');
export const stateQuery = defineQuery<SubscriptionLiveState>('stateQuery');
/** Operator action after fixing the cause of a `billingFailure` (e.g. the plan): retry the period close now. */
export const retryPeriodCloseSignal = defineSignal('retryPeriodCloseSignal');

export interface InvoiceWorkflowInput {
  version: 1;
  organizationId: string;
  invoiceId: string;
  /** Days the invoice stays a draft (late events still count) before it is finalized. */
  gracePeriodDays: number;
}

export interface InvoiceLiveState {
  invoiceId: string;
  status: 'draft' | 'finalized';
  /** End of the grace period (ISO UTC); null when there is none. */
  graceEndsAt: string | null;
  /** refreshDraftInvoice calls made during the grace period. */
  refreshes: number;
}

export const invoiceStateQuery = defineQuery<InvoiceLiveState>('invoiceStateQuery');
/** Late usage arrived for the invoice's period: recompute the draft (ignored once finalized). */
export const refreshInvoiceSignal = defineSignal('refreshInvoiceSignal');

// ---------------------------------------------------------------------------------------------------------
// Payment collection and dunning of the invoice workflow (issue 10, behind patched('payments-v1')).

/**
 * Values of the `PaymentStatus` search attribute and of InvoicePaymentState.status:
 * - not_collected: no provider configured (invoices wait for a manual payment) or nothing due;
 * - collecting: a payment attempt is running; requires_action: waiting for the customer (3-D Secure, payment_url);
 * - dunning: an attempt failed, the next one is scheduled; failed: attempts failed and no campaign applies;
 * - succeeded: paid; uncollectible: the campaign is exhausted and its consequence applied.
 */
export type InvoicePaymentSearchStatus = 'not_collected' | 'collecting' | 'requires_action' | 'dunning' | 'failed' | 'succeeded' | 'uncollectible' | 'voided';

export interface InvoicePaymentState {
  status: InvoicePaymentSearchStatus;
  providerConfigured: boolean;
  /** Payment attempts made (1 = the first attempt; 1 + n = dunning attempt n). */
  attempts: number;
  /** Attempts allowed: 1 + the dunning campaign's max_attempts (1 without a campaign). */
  maxAttempts: number;
  dunningCampaignCode: string | null;
  /** When the next dunning attempt runs (ISO UTC); null when none is scheduled. */
  nextAttemptAt: string | null;
  lastDeclineCode: string | null;
  lastFailureType: string | null;
  paymentDueDate: string | null;
  overdue: boolean;
  /** The consequence applied after the last attempt, if any. */
  consequence: string | null;
}

/**
 * A payment of the invoice changed outside the workflow's own activity: a verified Stripe webhook (succeeded,
 * failed, requires_action, refunded, dispute) or a manual payment recorded by the API. Postgres is already
 * updated (forward-only) when this is sent; the workflow only reacts (stops dunning when paid).
 */
export interface InvoicePaymentSignalPayload {
  source: 'webhook' | 'manual';
  /** Stripe event id or the manual payment id: the workflow ignores an id it has seen. */
  eventId: string;
  kind: 'succeeded' | 'failed' | 'requires_action' | 'refunded' | 'dispute' | 'partial';
  /** The invoice's payment_status after the change (Postgres). */
  invoicePaymentStatus: string;
  providerPaymentId: string | null;
}

export const invoicePaymentSignal = defineSignal<[InvoicePaymentSignalPayload]>('invoicePaymentSignal');
export const invoicePaymentQuery = defineQuery<InvoicePaymentState | null>('invoicePaymentQuery');

// Invoice actions (Lago API v1) through the invoice workflow while it runs. A validator rejects an illegal
// transition with an ApplicationFailure whose type is one of INVOICE_ACTION_ERRORS (the API answers 405 with it).
export const INVOICE_ACTION_ERRORS = {
  notDraft: 'is_not_draft',
  notVoidable: 'not_voidable',
  paymentNotRetryable: 'payment_not_retryable',
} as const;

/** PUT /invoices/:id/refresh: recompute the draft now (answers once the refresh ran). */
export const refreshInvoiceUpdate = defineUpdate<InvoiceLiveState>('refreshInvoiceUpdate');
/** PUT /invoices/:id/finalize: end the grace period now; answers once the invoice is finalized (numbered). */
export const finalizeInvoiceUpdate = defineUpdate<InvoiceLiveState>('finalizeInvoiceUpdate');
/** POST /invoices/:id/void: a finalized, unpaid invoice with no payment attempt in flight; stops dunning. */
export const voidInvoiceUpdate = defineUpdate<InvoicePaymentState | null>('voidInvoiceUpdate');
/** POST /invoices/:id/retry_payment: the next payment attempt now (a failed or dunning invoice with a provider). */
export const retryPaymentUpdate = defineUpdate<InvoicePaymentState | null>('retryPaymentUpdate');

/**
 * The usage thresholds or alerts of the subscription changed (an alert was created): the workflow reloads its
 * billing rules and re-checks usage. Harmless when nothing changed.
 */
export const billingRulesChangedSignal = defineSignal('billingRulesChangedSignal');

// ---------------------------------------------------------------------------------------------------------
// Threshold ladders, shared by the subscription workflow (cheap estimate) and activities/thresholds.ts
// (confirmed evaluation). Pure and deterministic; values are decimal strings (minor units for amounts).

/**
 * The levels of one threshold set (a plan's usage_thresholds, or one alert's thresholds), Lago semantics:
 * every non-recurring value is a level; a recurring value R repeats after the highest non-recurring level L
 * (or after 0 when there is none): L + R, L + 2R, ...
 */
export interface LevelLadder {
  /** Non-recurring levels, ascending, deduplicated (decimal strings > 0). */
  levels: string[];
  /** The recurring step (decimal string > 0), or null. */
  recurringStep: string | null;
}

/** A ladder from raw threshold values; values <= 0 are dropped, the first recurring value is the step. */
export function ladderOf(thresholds: { value: string; recurring: boolean }[]): LevelLadder {
  const fixed = thresholds
    .filter((t) => !t.recurring && dec(t.value).gt(0))
    .map((t) => dec(t.value))
    .sort((a, b) => a.comparedTo(b));
  const levels: string[] = [];
  for (const v of fixed) if (levels.length === 0 || !dec(levels[levels.length - 1]!).eq(v)) levels.push(str(v));
  const step = thresholds.find((t) => t.recurring && dec(t.value).gt(0));
  return { levels, recurringStep: step ? str(dec(step.value)) : null };
}

/** Levels L with from < L <= to, ascending, at most `limit` of them (the highest ones are kept). */
export function levelsCrossed(ladder: LevelLadder, from: string, to: string, limit = 100): string[] {
  const lo = dec(from);
  const hi = dec(to);
  if (!hi.gt(lo)) return [];
  const out = ladder.levels.filter((l) => dec(l).gt(lo) && dec(l).lte(hi));
  if (ladder.recurringStep !== null) {
    const base = ladder.levels.length > 0 ? dec(ladder.levels[ladder.levels.length - 1]!) : dec(0);
    const step = dec(ladder.recurringStep);
    const lastK = hi.minus(base).div(step).floor();
    const firstK = lo.gte(base) ? lo.minus(base).div(step).floor().plus(1) : dec(1);
    if (lastK.gte(firstK)) {
      const startK = lastK.minus(limit - 1).gt(firstK) ? lastK.minus(limit - 1) : firstK;
      for (let k = startK; k.lte(lastK); k = k.plus(1)) out.push(str(base.plus(step.times(k))));
    }
  }
  return out.slice(-limit);
}

/** True when some level L has from < L <= to (the cheap check the workflow runs on every usage signal). */
export function crossesLevel(ladder: LevelLadder, from: string, to: string): boolean {
  return levelsCrossed(ladder, from, to, 1).length > 0;
}
