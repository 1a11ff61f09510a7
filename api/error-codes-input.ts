// Error codes introduced by the input-robustness work (issue 8). Exported constants so the integrator can fold
// them into the central error-codes module; each names where it is used and its HTTP status.

/** 422, field `currency`: customer and plan currencies differ, or a live subscription pins the customer's (Lago's code). */
export const CURRENCIES_DOES_NOT_MATCH = 'currencies_does_not_match';
/** 422, event value beyond billing/input-limits.ts (also recorded in event_errors). */
export const VALUE_IS_OUT_OF_RANGE = 'value_is_out_of_range';
/** 422, more fractional digits than billing/input-limits.ts allows. */
export const TOO_MANY_DECIMALS = 'too_many_decimals';
/** event_errors code of a stored event moved to quarantined_events (defined next to the quarantine). */
export { EVENT_QUARANTINED } from '../db/repositories/quarantine';
/** 422, subscription_at more than 10 years back / more than 5 years ahead (api/schemas/dates.ts). */
export const TOO_OLD = 'too_old';
export const TOO_FAR_IN_FUTURE = 'too_far_in_future';
/** 422 on external_subscription_id (recorded in event_errors): the event is at/after its subscription's termination. */
export const SUBSCRIPTION_TERMINATED = 'subscription_terminated';
/** 422 on external_subscription_id (recorded): the event is before the start of its pending subscription. */
export const SUBSCRIPTION_NOT_STARTED = 'subscription_not_started';
