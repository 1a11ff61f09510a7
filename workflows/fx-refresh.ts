// The daily FX refresh, started by the Temporal Schedule `fx-refresh-ecb` (worker/fx-schedule.ts): one
// activity that reads the ECB's last 90 days and stores them idempotently. Outages retry with backoff;
// a rejected or malformed feed fails the run (visible in the Schedule's recent actions) and the next day tries again.
import { proxyActivities } from '@temporalio/workflow';
import type { FxActivities, RefreshFxRatesResult } from '../activities/fx';

const { refreshFxRates } = proxyActivities<FxActivities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '30 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 minutes',
    maximumAttempts: 12,
    nonRetryableErrorTypes: ['fx_feed_rejected', 'fx_feed_malformed'],
  },
});

export async function refreshFxRatesWorkflow(): Promise<RefreshFxRatesResult> {
  return refreshFxRates();
}
