// The termination options stored on the subscription (issue 11), behind `patched('termination-options-v1')`: when
// the subscription ends — DELETE, ending_at reached, a test clock's termination — the options are the request's
// (a DELETE's query) where given, else the ones stored on the subscription (POST / PUT /subscriptions, an earlier
// DELETE), else Lago's defaults (generate; credit). Before the patch, only the request's options counted, so an
// ending_at always used the defaults. One activity, loadTerminationOptions (activities/termination-options.ts); a
// business failure (the row is gone) keeps the request's options.
import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { TerminationOptionsActivities } from '../activities/termination-options';
import type { TerminateRequest } from '../contracts/workflows';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';

export const TERMINATION_OPTIONS_PATCH = 'termination-options-v1';

const activities = proxyActivities<TerminationOptionsActivities>(ACTIVITY_OPTIONS);

/** The termination's options (see the header); the request as given for runs before the patch. */
export async function terminationOptions(ids: { organizationId: string; subscriptionId: string }, requested: TerminateRequest | undefined): Promise<TerminateRequest | undefined> {
  if (!patched(TERMINATION_OPTIONS_PATCH)) return requested;
  try {
    const stored = await activities.loadTerminationOptions(ids);
    const onTerminationInvoice = requested?.onTerminationInvoice ?? stored.onTerminationInvoice;
    const onTerminationCreditNote = requested?.onTerminationCreditNote ?? stored.onTerminationCreditNote;
    return {
      ...requested,
      ...(onTerminationInvoice ? { onTerminationInvoice } : {}),
      ...(onTerminationCreditNote ? { onTerminationCreditNote } : {}),
    };
  } catch (err) {
    const failure = businessFailureOf(err);
    if (!failure) throw err;
    log.error('Reading the stored termination options failed; the request’s options apply', { type: failure.type, message: failure.message });
    return requested;
  }
}
