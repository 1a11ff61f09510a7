// Messages of the subscription and invoice workflows, shared by workflows/ and api/: the signal, update and
// query definitions. Ids, task queue, search attributes and payload types live in contracts/workflows.ts (no
// workflow runtime import, so db/ and activities/ can use them) and are re-exported here.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  InvoiceLiveState,
  SubscriptionLiveState,
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
/**
 * The usage thresholds or alerts of the subscription changed (an alert was created): the workflow reloads its
 * billing rules and re-checks usage. Harmless when nothing changed.
 */
export const billingRulesChangedSignal = defineSignal('billingRulesChangedSignal');

// Threshold-ladder arithmetic lives in billing/threshold-ladder.ts (activities import it from there).
export { crossesLevel, ladderOf, levelsCrossed, type LevelLadder } from '../billing/threshold-ladder';
