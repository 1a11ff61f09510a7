// Workflow contracts: task queue, workflow ids, search attributes and every message payload type of the
// subscription and invoice workflows. Plain data and types only — no @temporalio/workflow runtime import — so
// db/, activities/ and api/ may import it without importing a workflow module. workflows/messages.ts
// re-exports all of it and adds the signal / update / query definitions (which need @temporalio/workflow).
// Every payload here is plain JSON (it travels through Temporal history and continue-as-new).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
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
export type SubscriptionSearchStatus = 'active' | 'billing_failed' | 'suspended' | 'terminated';

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
  /** Sandbox (issue 11c): the test clock the subscription lives on; absent = real time (workflows/test-clock.ts). */
  testClockId?: string;
  /** The test clock's time last known to the workflow (ISO UTC), carried through continue-as-new. */
  testClockNow?: string;
  // Plan changes, scheduled ends (workflows/plan-changes.ts, patch plan-changes-v1); absent in older runs.
  /** When the workflow terminates the subscription (Lago's ending_at, ISO UTC). */
  endingAt?: string;
  /** A downgrade waiting for the end of `current`. */
  pendingPlanChange?: PendingPlanChangeState;
  /** Dunning suspension (workflows/suspension.ts, patch dunning-suspend-v1): carried while suspended; absent otherwise. */
  suspension?: { invoiceIds: string[]; since: string | null };
}

/** A downgrade accepted by the workflow, applied at the end of its period. */
export interface PendingPlanChangeState {
  changeId: string;
  planCode: string;
  /** The instant it takes effect: the end of the period it was accepted in (ISO UTC). */
  effectiveAt: string;
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
  /** Lago's `on_termination_invoice`: `skip` issues no termination invoice (default `generate`). Pay in advance, issue 11. */
  onTerminationInvoice?: 'generate' | 'skip';
  /**
   * Lago's `on_termination_credit_note`: `skip` issues no credit note for the unused advance fee (default `credit`);
   * `refund` refunds its paid part through the payment provider and credits the rest.
   */
  onTerminationCreditNote?: 'credit' | 'refund' | 'skip';
}

export interface TerminateResult {
  /** The termination invoice; null when none was issued (`on_termination_invoice: skip`). */
  invoiceId: string | null;
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
  /** Dunning consequence `suspend_subscription` (workflows/suspension.ts): null when not suspended; absent in older runs. */
  suspension?: SuspensionLiveState | null;
}

/** A subscription suspended because dunning ran out on one of its invoices: its period closes wait until it is paid. */
export interface SuspensionLiveState {
  /** The unpaid invoices whose dunning ran out, oldest first. */
  invoiceIds: string[];
  /** When the oldest of them suspended the subscription (ISO UTC). */
  since: string | null;
  /** The end of the period whose close is held (ISO UTC); null while the period is still open. */
  heldPeriodEnd: string | null;
}

/** subscriptionSuspensionSignal: the suspension of the subscription changed in Postgres (suspended, or an invoice paid). */
export interface SubscriptionSuspensionSignalPayload {
  reason: 'dunning_suspended' | 'invoice_paid';
  invoiceId: string;
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

export interface InvoiceWorkflowInput {
  version: 1;
  organizationId: string;
  invoiceId: string;
  /** Days the invoice stays a draft (late events still count) before it is finalized. */
  gracePeriodDays: number;
  /** Sandbox (issue 11c): the test clock of the invoice's subscription and its time when the invoice started. */
  testClockId?: string;
  testClockNow?: string;
  /** Issue 14 (patch 'close14-fold-v1'): the close finalized the invoice already (activities/period-close.ts). */
  finalizedAtClose?: boolean;
}

export interface InvoiceLiveState {
  invoiceId: string;
  /** 'deleted': the draft was deleted (DELETE /invoices/:lago_id); its finalization did nothing and the workflow ends. */
  status: 'draft' | 'finalized' | 'deleted';
  /** End of the grace period (ISO UTC); null when there is none. */
  graceEndsAt: string | null;
  /** refreshDraftInvoice calls made during the grace period. */
  refreshes: number;
}

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
