// The wallet workflows the Temporal Schedules start (worker/schedules.ts `WALLET_SCHEDULES`): each runs one
// idempotent activity of activities/wallets.ts and returns its counts, so every run's outcome is in the
// Schedule's recent actions and the run's history.
// - expireDueWalletsWorkflow: wallets whose expiration_at has passed expire (remaining credits → `expiry`,
//   wallet terminated). Expiry is also lazy (every read, movement and finalization), so this run only makes sure
//   wallets nobody touches are closed and announced on time.
// - intervalTopUpsWorkflow: `interval` recurring rules top up at their latest boundary, once per (rule, boundary).
import { proxyActivities } from '@temporalio/workflow';
import type { WalletActivities } from '../activities/wallets';

const wallets = proxyActivities<Pick<WalletActivities, 'expireDueWallets' | 'runIntervalTopUps'>>({
  startToCloseTimeout: '4 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Expires the wallets whose expiration_at has passed (hourly). The activity reads the clock: no `now` from here. */
export async function expireDueWalletsWorkflow(): Promise<{ expired: number }> {
  return wallets.expireDueWallets({});
}

/** Runs the interval top-ups that are due (every 15 minutes). */
export async function intervalTopUpsWorkflow(): Promise<{ topUps: number }> {
  return wallets.runIntervalTopUps({});
}
