// The one way the subscription workflow invoices a (part of a) period: createPeriodInvoice, then the invoice's
// own workflow. Shared by the period close and the termination (workflows/subscription.ts) and the close before
// an upgrade (workflows/plan-changes.ts), which differ only in what they do with a business failure: the close
// retries on a backoff, a termination or an upgrade is rejected with it. Transient faults never come back here
// (the activities retry them). Deterministic: the same commands, in the same order, as the code it replaced.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { CreatePeriodInvoiceInput, PeriodInvoiceResult, SubscriptionActivities } from '../activities/types';
import type { BillingPeriodState } from '../contracts/workflows';
import type { Period } from '../billing/types';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';

const activities = proxyActivities<SubscriptionActivities>(ACTIVITY_OPTIONS);

/** Starts an invoice's workflow (workflows/subscription.ts startInvoiceWorkflow), with its test-clock fields if any. */
export type StartPeriodInvoiceWorkflow = (organizationId: string, invoice: PeriodInvoiceResult) => Promise<void>;

export type PeriodInvoiceOutcome = { ok: true; invoice: PeriodInvoiceResult } | { ok: false; failure: ApplicationFailure };

export interface PeriodInvoiceRequest {
  organizationId: string;
  subscriptionId: string;
  kind: CreatePeriodInvoiceInput['kind'];
  /** The billed part of the open period ([start, end) — end = the change or termination instant, or the period end). */
  period: Period;
  current: BillingPeriodState;
}

/** What the close activities (two-step or one-step, workflows/period-close.ts) are asked to invoice. */
export function periodInvoiceInput(req: PeriodInvoiceRequest): CreatePeriodInvoiceInput {
  return { organizationId: req.organizationId, subscriptionId: req.subscriptionId, kind: req.kind, period: req.period, fullPeriod: req.current.fullPeriod };
}

/** Invoices `period` and starts the invoice's workflow; a business failure is returned, never thrown. */
export async function invoicePeriod(req: PeriodInvoiceRequest, startInvoice: StartPeriodInvoiceWorkflow): Promise<PeriodInvoiceOutcome> {
  let invoice: PeriodInvoiceResult;
  try {
    invoice = await activities.createPeriodInvoice(periodInvoiceInput(req));
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    return { ok: false, failure };
  }
  await startInvoice(req.organizationId, invoice);
  return { ok: true, invoice };
}
