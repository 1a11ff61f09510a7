// Dunning consequence `suspend_subscription` in the subscription workflow (issue 10, behind patched('dunning-suspend-v1')).
//
// What suspension means (Lago has no such subscription status; Meterline's choice, as Stripe's pause_collection
// with keep_as_draft): the subscription stays `active` for Lago clients, but its period closes are HELD: when a
// period ends while suspended, no invoice is issued (so nothing new is charged) until every invoice that
// suspended it is paid or voided. Then the held close runs at once (and the next ones, if more periods ended
// meanwhile), billing the usage recorded in Postgres exactly as an unsuspended close would: suspension never
// drops or doubles money. The app sees the suspension through the state query (`suspension`), the
// `SubscriptionStatus=suspended` search attribute and the `subscription.suspended` / `subscription.resumed`
// payment_events records.
//
// Postgres (subscription_suspensions) is the source of truth; subscriptionSuspensionSignal (from the dunning
// activity, and from the API after a payment) only makes the workflow re-read it with syncSubscriptionSuspension.
// While a close is held the workflow also re-reads it every RECHECK_MS, so a lost signal delays a resumption, never
// prevents it. The suspension is carried through continue-as-new (SubscriptionWorkflowState.suspension).
import { condition, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SuspensionActivities } from '../activities/suspensions';
import { ACTIVITY_OPTIONS } from './activity-options';
import {
  SEARCH_ATTRIBUTE_KEYS,
  subscriptionSuspensionSignal,
  type SubscriptionLiveState,
  type SubscriptionSearchStatus,
  type SubscriptionWorkflowState,
} from './messages';

export const DUNNING_SUSPEND_PATCH = 'dunning-suspend-v1';
/** While a close is held, Postgres is re-read this often (a lost signal). */
export const SUSPENSION_RECHECK_MS = 6 * 3_600_000;

const activities = proxyActivities<SuspensionActivities>(ACTIVITY_OPTIONS);

type Suspended = NonNullable<SubscriptionWorkflowState['suspension']>;

export class SubscriptionSuspension {
  private suspended: Suspended | null;
  /** Signals received (each one wakes a held close). */
  private wakeups = 0;
  private heldPeriodEnd: string | null = null;
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly input: SubscriptionWorkflowState,
    /** The subscription's search status when not suspended (active / billing_failed / terminated). */
    private readonly baseStatus: () => SubscriptionSearchStatus,
  ) {
    this.suspended = input.suspension ?? null;
  }

  register(): void {
    setHandler(subscriptionSuspensionSignal, async () => {
      this.wakeups += 1;
      await this.sync();
    });
  }

  /** Re-reads the suspension from Postgres (one read at a time: a signal during a read queues the next). */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      const wasSuspended = this.suspended !== null;
      const state = await activities.syncSubscriptionSuspension({ organizationId: this.input.organizationId, subscriptionId: this.input.subscriptionId });
      this.suspended = state.invoiceIds.length > 0 ? { invoiceIds: state.invoiceIds, since: state.since } : null;
      if (this.suspended === null) this.heldPeriodEnd = null;
      if (wasSuspended !== (this.suspended !== null)) {
        upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.SubscriptionStatus, value: this.suspended ? 'suspended' : this.baseStatus() }]);
      }
    });
    return this.syncing;
  }

  /**
   * At a period end, before its close: true while the close is held (the loop comes back here after a signal, the
   * recheck interval, an interruption or a continue-as-new suggestion); false when the close may run.
   */
  async holdClose(periodEnd: string, interrupted: () => boolean): Promise<boolean> {
    await this.syncing; // a signal's read in flight decides first
    if (this.suspended === null) return false;
    const before = this.wakeups;
    await this.sync();
    if (this.suspended === null) return false;
    this.heldPeriodEnd = periodEnd;
    await condition(() => this.wakeups !== before || this.suspended === null || interrupted() || workflowInfo().continueAsNewSuggested, SUSPENSION_RECHECK_MS);
    return true;
  }

  /** The state query with the suspension. */
  decorate(state: SubscriptionLiveState): SubscriptionLiveState {
    return { ...state, suspension: this.suspended ? { ...this.suspended, invoiceIds: [...this.suspended.invoiceIds], heldPeriodEnd: this.heldPeriodEnd } : null };
  }

  /** The next run's state with the suspension as it is now (absent when not suspended: older states stay identical). */
  carry(state: SubscriptionWorkflowState): SubscriptionWorkflowState {
    const { suspension: _previous, ...rest } = state;
    return this.suspended ? { ...rest, suspension: { invoiceIds: [...this.suspended.invoiceIds], since: this.suspended.since } } : rest;
  }
}

/** continue-as-new state through the suspension module when it runs (patched), unchanged otherwise. */
export function carrySuspension(suspension: SubscriptionSuspension | null, state: SubscriptionWorkflowState): SubscriptionWorkflowState {
  return suspension ? suspension.carry(state) : state;
}
