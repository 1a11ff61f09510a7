// Units of pay-in-advance fixed charges raised mid-period with apply_units_immediately (units11, issue 11), the
// subscription workflow's side, behind `patched('fixed-charge-units-v1')` (runs started before the patch never
// bill them; their next run does for its own period).
// - The API records the change durably (the subscription's units timeline) and sends fixedChargeUnitsChangedSignal;
//   the open loop then calls ONE activity, billFixedChargeUnitsChanges (activities/fixed-charge-units.ts), which
//   bills every change of the open period not billed yet from Postgres (exactly once: a business key per change
//   instant, the billed units counted as paid) and returns the period's units invoices; each gets its invoice
//   workflow (finalized at once: payment, PDF, webhooks).
// - Against a lost signal: before the period close and before a termination, the activity runs once more when the
//   plan bills fixed charges in advance (startAdvancePeriod says so) or a signal arrived.
// A business failure is logged and retried at the next signal or the close; transient faults retry in the activity.
import { log, proxyActivities } from '@temporalio/workflow';
import type { FixedChargeUnitsActivities } from '../activities/fixed-charge-units-types';
import type { PeriodInvoiceResult } from '../activities/types';
import type { BillingPeriodState } from '../contracts/workflows';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';

export const FIXED_CHARGE_UNITS_PATCH = 'fixed-charge-units-v1';

const activities = proxyActivities<FixedChargeUnitsActivities>(ACTIVITY_OPTIONS);

type StartInvoiceWorkflow = (organizationId: string, invoice: PeriodInvoiceResult) => Promise<void>;

/** The run's units-change billing. Disabled (every method a no-op) for runs started before the patch. */
export class FixedChargeUnits {
  /** A units change was signalled since the last billing. */
  pending = false;
  /** A signal arrived in this run (the close then bills once more even if the plan is not known to need it). */
  signalled = false;

  constructor(readonly enabled: boolean) {}

  onChanged(): void {
    if (!this.enabled) return;
    this.pending = true;
    this.signalled = true;
  }

  hasWork(): boolean {
    return this.enabled && this.pending;
  }
}

/** Bills the open period's units changes not billed yet and starts their invoices' workflows. */
export async function billUnitsChanges(u: FixedChargeUnits, scope: { organizationId: string; subscriptionId: string }, current: BillingPeriodState, startInvoice: StartInvoiceWorkflow): Promise<void> {
  if (!u.enabled) return;
  u.pending = false;
  try {
    const result = await activities.billFixedChargeUnitsChanges({ organizationId: scope.organizationId, subscriptionId: scope.subscriptionId, period: current.period, fullPeriod: current.fullPeriod });
    for (const invoice of result.invoices) await startInvoice(scope.organizationId, invoice);
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    log.error('Billing fixed-charge units changes failed with a business failure; retried at the next change or the close', { type: failure.type, message: failure.message });
  }
}

/** Before the period close or a termination: once more when the plan bills fixed charges in advance or a change was signalled. */
export async function finishUnitsChanges(
  u: FixedChargeUnits,
  advanceFixedCharges: boolean,
  scope: { organizationId: string; subscriptionId: string },
  current: BillingPeriodState,
  startInvoice: StartInvoiceWorkflow,
): Promise<void> {
  if (!u.enabled || !(advanceFixedCharges || u.signalled)) return;
  await billUnitsChanges(u, scope, current, startInvoice);
}
