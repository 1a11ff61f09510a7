// Lago's regroup_paid_fees: 'invoice' at the period close (issue 11, behind patched('regroup-paid-fees-v1')):
// after the period's invoice, one activity groups the period's paid fees of pay-in-advance, non-invoiceable charges
// into one invoice, already paid (activities/regroup-paid-fees.ts; idempotent on the period, nothing when no fee
// was paid). Runs recorded before the patch never see the command.
import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { RegroupPaidFeesActivities } from '../activities/regroup-paid-fees';
import type { BillingPeriodState } from '../contracts/workflows';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';

export const REGROUP_PAID_FEES_PATCH = 'regroup-paid-fees-v1';

const activities = proxyActivities<RegroupPaidFeesActivities>(ACTIVITY_OPTIONS);

/** At a close of [period start, end): the regrouping invoice. A business failure is logged, never blocks the close. */
export async function regroupPaidFeesAtClose(ids: { organizationId: string; subscriptionId: string }, period: { start: string; end: string }, current: BillingPeriodState): Promise<void> {
  if (!patched(REGROUP_PAID_FEES_PATCH)) return;
  try {
    const result = await activities.regroupPaidFees({ ...ids, period, fullPeriod: current.fullPeriod });
    if (result.feesRegrouped > 0) log.info('Paid fees regrouped on one invoice', { ...result });
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    // The fees stay paid and on no invoice: the next close regroups them (Lago's later regrouping).
    log.error('Regrouping the paid fees failed with a business failure', { type: failure.type, message: failure.message });
  }
}
