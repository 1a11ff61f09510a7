// Pay in advance (issue 11), the subscription workflow's side, behind `patched('advance-billing-v1')`
// (workflows/subscription.ts calls into this module at four points; runs started before the patch never do).
//
// - Each run starts with ONE activity, startAdvancePeriod: for an advance plan's first period it issues the start
//   invoice (the first period's fee, prorated), and it tells which metrics have pay-in-advance charges.
// - A usage signal with a delta for such a metric marks work pending; the loop then calls billInAdvanceCharges,
//   which bills every not-yet-billed event of the open period from Postgres (one fee per event, unique per event:
//   a repeated or lost signal never changes what is billed). Per-event invoices get their own invoice workflow.
// - Before the period close and before a termination invoice, billInAdvanceCharges runs once more (events whose
//   signal was lost are billed then, never on the period-end invoice).
// - A termination with `onTerminationInvoice: 'skip'` issues no termination invoice (Lago's on_termination_invoice).
// Business failures are logged and retried at the next occasion (the next signal, the period close); transient
// faults retry inside the activities. Nothing here is billed from workflow state.
import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { AdvancePeriodStart, PeriodInvoiceResult, SubscriptionActivities } from '../activities/types';
import type { BillingPeriodState, TerminateRequest, UsageSignalPayload } from '../contracts/workflows';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';

const activities = proxyActivities<SubscriptionActivities>(ACTIVITY_OPTIONS);

export const ADVANCE_BILLING_PATCH = 'advance-billing-v1';
/**
 * A usage signal that arrives before the run's startAdvancePeriod answered (the metrics with pay-in-advance charges
 * are not known yet) is remembered and billed per event right after the start, instead of only at the close
 * (issue 11, adv11b). Nothing is billed twice: billInAdvanceCharges bills each event once (unique per event).
 */
export const ADVANCE_EARLY_USAGE_PATCH = 'advance-early-usage-v1';

export interface AdvanceScope {
  organizationId: string;
  subscriptionId: string;
}

/** Only the business ids (the caller may pass its whole state). */
function idsOf(scope: AdvanceScope): AdvanceScope {
  return { organizationId: scope.organizationId, subscriptionId: scope.subscriptionId };
}

type StartInvoiceWorkflow = (organizationId: string, invoice: PeriodInvoiceResult) => Promise<void>;

/** The run's pay-in-advance state. Disabled (every method a no-op) for runs started before the patch. */
export class AdvanceBilling {
  /** startAdvancePeriod succeeded in this run. */
  started = false;
  inAdvanceMetricCodes: string[] = [];
  /** A usage signal for a pay-in-advance metric arrived since the last billing. */
  pending = false;
  onTerminationInvoice: 'generate' | 'skip' = 'generate';
  /** startAdvancePeriod hit a business failure: retried once at the period close. */
  startFailed = false;
  /** Per-event invoices billed by this run (diagnostics). */
  invoicesIssued = 0;
  /** Metric codes of usage signals received before startAdvancePeriod answered (ADVANCE_EARLY_USAGE_PATCH). */
  earlyMetricCodes: string[] = [];
  /** The plan bills fixed charges in advance (startAdvancePeriod; units11, workflows/fixed-charge-units.ts). */
  advanceFixedCharges = false;

  constructor(readonly enabled: boolean) {}

  onUsage(payload: UsageSignalPayload): void {
    if (this.enabled && !this.started) {
      for (const d of payload?.deltas ?? []) if (typeof d?.metricCode === 'string' && !this.earlyMetricCodes.includes(d.metricCode)) this.earlyMetricCodes.push(d.metricCode);
    }
    if (!this.enabled || this.inAdvanceMetricCodes.length === 0) return;
    if ((payload?.deltas ?? []).some((d) => this.inAdvanceMetricCodes.includes(d?.metricCode))) this.pending = true;
  }

  onTerminationRequest(req: TerminateRequest | undefined): void {
    if (this.enabled && req?.onTerminationInvoice === 'skip') this.onTerminationInvoice = 'skip';
  }

  /** Work the open loop must do before waiting again. */
  hasWork(): boolean {
    return this.enabled && (!this.started || this.pending);
  }

  skipsTerminationInvoice(): boolean {
    return this.enabled && this.onTerminationInvoice === 'skip';
  }
}

/** startAdvancePeriod once per run (the start invoice on the first period); a business failure is retried later. */
export async function startAdvanceRun(adv: AdvanceBilling, scope: AdvanceScope, current: BillingPeriodState, startInvoice: StartInvoiceWorkflow): Promise<void> {
  if (!adv.enabled || adv.started) return;
  let start: AdvancePeriodStart;
  try {
    start = await activities.startAdvancePeriod({ ...idsOf(scope), period: current.period, fullPeriod: current.fullPeriod });
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    log.error('Starting the pay-in-advance period failed with a business failure; retried at the period close', { type: failure.type, message: failure.message });
    adv.started = true; // not retried in a loop: the close retries it once (finishAdvancePeriod)
    adv.startFailed = true;
    return;
  }
  adv.started = true;
  adv.inAdvanceMetricCodes = start.inAdvanceMetricCodes;
  adv.advanceFixedCharges = start.advanceFixedCharges === true;
  if (start.startInvoice) await startInvoice(scope.organizationId, start.startInvoice);
  // Usage signalled before the start answered: its events are billed now, not at the close (patched).
  const early = adv.earlyMetricCodes.some((code) => adv.inAdvanceMetricCodes.includes(code));
  adv.earlyMetricCodes = [];
  if (early && patched(ADVANCE_EARLY_USAGE_PATCH)) adv.pending = true;
}

/** Bills the pending pay-in-advance events of the open period and starts the per-event invoices' workflows. */
export async function billPendingInAdvance(adv: AdvanceBilling, scope: AdvanceScope, current: BillingPeriodState, startInvoice: StartInvoiceWorkflow): Promise<void> {
  if (!adv.enabled || adv.inAdvanceMetricCodes.length === 0) {
    adv.pending = false;
    return;
  }
  adv.pending = false;
  try {
    const result = await activities.billInAdvanceCharges({ ...idsOf(scope), period: current.period, fullPeriod: current.fullPeriod });
    for (const invoice of result.invoices) {
      await startInvoice(scope.organizationId, invoice);
      adv.invoicesIssued += 1;
    }
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    log.error('Billing pay-in-advance charges failed with a business failure; retried at the next usage or the close', { type: failure.type, message: failure.message });
  }
}

/** Before the period close or a termination: the start (when it failed) and every event whose signal was lost. */
export async function finishAdvancePeriod(adv: AdvanceBilling, scope: AdvanceScope, current: BillingPeriodState, startInvoice: StartInvoiceWorkflow): Promise<void> {
  if (!adv.enabled) return;
  if (adv.startFailed) {
    adv.started = false;
    adv.startFailed = false;
    await startAdvanceRun(adv, scope, current, startInvoice);
  }
  if (adv.inAdvanceMetricCodes.length > 0) await billPendingInAdvance(adv, scope, current, startInvoice);
}
