// Messages of the subscription and invoice workflows, shared by workflows/ and api/: the signal, update and
// query definitions. Ids, task queue, search attributes and payload types live in contracts/workflows.ts (no
// workflow runtime import, so db/ and activities/ can use them) and are re-exported here.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  InvoiceLiveState,
  InvoicePaymentSignalPayload,
  InvoicePaymentState,
  SubscriptionLiveState,
  SubscriptionSuspensionSignalPayload,
  TerminateRequest,
  TerminateResult,
  UsageSignalPayload,
} from '../contracts/workflows';

export * from '../contracts/workflows';

export const usageSignal = defineSignal<[UsageSignalPayload]>('usageSignal');
export const terminateUpdate = defineUpdate<TerminateResult, [TerminateRequest]>('terminateUpdate');
export const stateQuery = defineQuery<SubscriptionLiveState>('stateQuery');
/** Operator action after fixing the cause of a `billingFailure` (e.g. the plan): retry the period close now. */
export const retryPeriodCloseSignal = defineSignal('retryPeriodCloseSignal');
export const invoiceStateQuery = defineQuery<InvoiceLiveState>('invoiceStateQuery');
/** Late usage arrived for the invoice's period: recompute the draft (ignored once finalized). */
export const refreshInvoiceSignal = defineSignal('refreshInvoiceSignal');

// Payment collection and dunning of the invoice workflow (issue 10, behind patched('payments-v1')); payload types in contracts/.
export const invoicePaymentSignal = defineSignal<[InvoicePaymentSignalPayload]>('invoicePaymentSignal');
export const invoicePaymentQuery = defineQuery<InvoicePaymentState | null>('invoicePaymentQuery');

// Invoice actions (Lago API v1) through the invoice workflow while it runs. A validator rejects an illegal
// transition with an ApplicationFailure whose type is one of INVOICE_ACTION_ERRORS (billing/error-codes.ts: the
// API answers 405 with it).
export { INVOICE_ACTION_ERRORS } from '../billing/error-codes';

/** PUT /invoices/:id/refresh: recompute the draft now (answers once the refresh ran). */
export const refreshInvoiceUpdate = defineUpdate<InvoiceLiveState>('refreshInvoiceUpdate');
/** PUT /invoices/:id/finalize: end the grace period now; answers once the invoice is finalized (numbered). */
export const finalizeInvoiceUpdate = defineUpdate<InvoiceLiveState>('finalizeInvoiceUpdate');
/** POST /invoices/:id/retry (failed13): finalize a `failed` invoice again; answers once that attempt ran. */
export const retryInvoiceUpdate = defineUpdate<InvoiceLiveState>('retryInvoiceUpdate');
/** POST /invoices/:id/void: a finalized, unpaid invoice with no payment attempt in flight; stops dunning. */
export const voidInvoiceUpdate = defineUpdate<InvoicePaymentState | null>('voidInvoiceUpdate');
/** POST /invoices/:id/retry_payment: the next payment attempt now (a failed or dunning invoice with a provider). */
export const retryPaymentUpdate = defineUpdate<InvoicePaymentState | null>('retryPaymentUpdate');

/**
 * The usage thresholds or alerts of the subscription changed (an alert was created): the workflow reloads its
 * billing rules and re-checks usage. Harmless when nothing changed.
 */
export const billingRulesChangedSignal = defineSignal('billingRulesChangedSignal');

// Threshold-ladder arithmetic lives in billing/threshold-ladder.ts (activities import it from there).
export { crossesLevel, ladderOf, levelsCrossed, type LevelLadder } from '../billing/threshold-ladder';

/**
 * Dunning consequence `suspend_subscription` (workflows/suspension.ts, patch dunning-suspend-v1): the subscription's
 * suspension changed in Postgres (an invoice suspended it, or a suspending invoice was paid); the workflow re-reads it.
 */
/**
 * units11 (workflows/fixed-charge-units.ts, patch fixed-charge-units-v1): a units change of a pay-in-advance fixed
 * charge applied immediately was recorded; the workflow bills the units not paid yet for the open period.
 */
export const fixedChargeUnitsChangedSignal = defineSignal('fixedChargeUnitsChangedSignal');

export const subscriptionSuspensionSignal = defineSignal<[SubscriptionSuspensionSignalPayload]>('subscriptionSuspensionSignal');
