// The month-start close at a lower cost per subscription (issue 14, patch 'close14-fold-v1').
//
// Before: the close ran createPeriodInvoice (an activity), started the invoice workflow, whose first task ran
// finalizeInvoice (another activity, rating the period a second time). Now, for a subscription without a test
// clock, the close runs closePeriodInvoice (activities/period-close.ts) as a LOCAL activity in the close's
// workflow task: without a grace period it writes, rates once and finalizes in one transaction, and the invoice
// workflow starts with `finalizedAtClose` and skips finalizeInvoice (workflows/invoice.ts). With a grace period
// (or after a business failure of the folded transaction) the activity is exactly createPeriodInvoice and the
// invoice workflow does what it did. The invoice workflow is still started for every invoice: void / finalize /
// refresh / retry payment and payment collection and dunning keep going through it.
// Local: no activity task round trip through Temporal (schedule / start / complete events and a workflow task);
// the activity is idempotent (a re-run finds the invoice and returns it), as a local activity needs.
import { ApplicationFailure, proxyLocalActivities } from '@temporalio/workflow';
import type { PeriodCloseActivities } from '../activities/period-close';
import type { PeriodInvoiceResult } from '../activities/types';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';
import { periodInvoiceInput, type PeriodInvoiceOutcome, type PeriodInvoiceRequest } from './period-invoice';

export const CLOSE_FOLD_PATCH = 'close14-fold-v1';

/** The activity options of the close path's local activities: the same timeout and retry policy as the others. */
export const LOCAL_CLOSE_OPTIONS = {
  startToCloseTimeout: ACTIVITY_OPTIONS.startToCloseTimeout,
  retry: ACTIVITY_OPTIONS.retry,
} as const;

const local = proxyLocalActivities<PeriodCloseActivities>(LOCAL_CLOSE_OPTIONS);

/** Invoices (and without a grace period finalizes) the period, then starts the invoice's workflow; a business failure is returned. */
export async function closeAndFinalizePeriod(
  req: PeriodInvoiceRequest,
  startInvoice: (organizationId: string, invoice: PeriodInvoiceResult) => Promise<void>,
): Promise<PeriodInvoiceOutcome> {
  let invoice: PeriodInvoiceResult;
  try {
    invoice = await local.closePeriodInvoice(periodInvoiceInput(req));
  } catch (err) {
    // A local activity's failure reaches the workflow as the ApplicationFailure itself (SDK 1.24: not wrapped in an
    // ActivityFailure); with unlimited retries only a non-retryable (business) failure gets here.
    const failure = businessFailureOf(err) ?? (err instanceof ApplicationFailure ? err : null);
    if (!failure) throw err;
    return { ok: false, failure };
  }
  await startInvoice(req.organizationId, invoice);
  return { ok: true, invoice };
}
