// Per-event validation for /events and /events/batch (and /events/import). Every event is checked completely
// (all its fields), errors are collected per index, and nothing is written unless every event of the request
// is valid. The event's own timestamp must lie inside a time window around the receive time (timestamp.ts).
import type { EventRow } from '../../db/repositories/events';
import type { SubscriptionLookup } from '../../db/repositories/subscriptions';
import type { IngestCache, MetricInfo } from './catalog-cache';
import { decimalLimitViolation } from '../../billing/input-limits';
import { isUnsafeText, unsafeTextPaths, INVALID_CHARACTERS } from '../input-safety';
import { toDecimalString } from './decimal';
import { checkTimeWindowMs, eventTimeWindow, IMPORT_TIME_WINDOW, parseEventInstant, type EventTimeWindow } from './timestamp';

export type FieldErrors = Record<string, string[]>;

export interface ValidEvent {
  row: EventRow;
  metric: MetricInfo;
  subscription: SubscriptionLookup;
  /** Sum contribution of this event to its metric (decimal string; "0" when not numeric-aggregated). */
  units: string;
  /** The metric's numeric field value (decimal string); null when absent or the metric is not numeric-aggregated. */
  value: string | null;
}

/** What a timestamp must satisfy: the window around `now`, and the value used when it is omitted. */
interface TimeRules {
  /** Receive time, ISO UTC. */
  now: string;
  /** The receive time in epoch milliseconds (parsed once per request, not per event). */
  nowMs: number;
  window: EventTimeWindow;
  /** Used for an omitted timestamp; null: the timestamp is mandatory. */
  defaultTimestamp: string | null;
}

const NUMERIC_AGGREGATIONS = new Set(['sum_agg', 'max_agg', 'weighted_sum_agg', 'latest_agg']);
const MAX_ID_LENGTH = 255;

interface Shaped {
  transactionId?: string;
  externalSubscriptionId?: string;
  code?: string;
  timestamp?: string;
  properties: Record<string, unknown>;
  preciseTotalAmount: string | null;
  errors: FieldErrors;
}

function add(errors: FieldErrors, field: string, code: string): void {
  (errors[field] ??= []).push(code);
}

function requiredString(raw: Record<string, unknown>, field: string, errors: FieldErrors): string | undefined {
  const v = raw[field];
  if (v === undefined || v === null || v === '') {
    add(errors, field, 'value_is_mandatory');
    return undefined;
  }
  if (typeof v !== 'string') {
    add(errors, field, 'invalid_type');
    return undefined;
  }
  if (v.length > MAX_ID_LENGTH) {
    add(errors, field, 'value_is_too_long');
    return undefined;
  }
  if (isUnsafeText(v)) {
    add(errors, field, INVALID_CHARACTERS); // NUL / lone surrogate: Postgres cannot store it
    return undefined;
  }
  return v;
}

/** The event's identity (transaction id, subscription, metric code): what the lookups need, before the receive time. */
function shapeIds(raw: unknown): Shaped {
  const errors: FieldErrors = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    add(errors, 'event', 'invalid_type');
    return { properties: {}, preciseTotalAmount: null, errors };
  }
  const r = raw as Record<string, unknown>;
  const transactionId = requiredString(r, 'transaction_id', errors);
  const externalSubscriptionId = requiredString(r, 'external_subscription_id', errors);
  const code = requiredString(r, 'code', errors);
  return { transactionId, externalSubscriptionId, code, properties: {}, preciseTotalAmount: null, errors };
}

/** The rest of the event (timestamp against the receive time, properties, precise amount), into `ids`. */
function shape(raw: unknown, ids: Shaped, rules: TimeRules): Shaped {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return ids;
  const r = raw as Record<string, unknown>;
  const { transactionId, externalSubscriptionId, code, errors } = ids;

  let timestamp: string | undefined = rules.defaultTimestamp ?? undefined;
  if (r.timestamp !== undefined && r.timestamp !== null && r.timestamp !== '') {
    const instant = parseEventInstant(r.timestamp);
    timestamp = instant?.iso;
    if (!instant) add(errors, 'timestamp', 'invalid_format');
    else {
      const outside = checkTimeWindowMs(instant.ms, rules.nowMs, rules.window);
      if (outside) add(errors, 'timestamp', outside);
    }
  } else if (timestamp === undefined) {
    add(errors, 'timestamp', 'value_is_mandatory');
  }

  let properties: Record<string, unknown> = {};
  if (r.properties !== undefined && r.properties !== null) {
    if (typeof r.properties !== 'object' || Array.isArray(r.properties)) add(errors, 'properties', 'invalid_type');
    else {
      properties = r.properties as Record<string, unknown>;
      for (const path of unsafeTextPaths(properties, 'properties')) add(errors, path, INVALID_CHARACTERS);
    }
  }

  let preciseTotalAmount: string | null = null;
  if (r.precise_total_amount_cents !== undefined && r.precise_total_amount_cents !== null && r.precise_total_amount_cents !== '') {
    // The documented limits (billing/input-limits.ts): what the numeric(40,15) column and the engine carry.
    const outOfLimits = decimalLimitViolation(r.precise_total_amount_cents);
    preciseTotalAmount = outOfLimits ? null : toDecimalString(r.precise_total_amount_cents);
    if (outOfLimits) add(errors, 'precise_total_amount_cents', outOfLimits);
    else if (preciseTotalAmount === null) add(errors, 'precise_total_amount_cents', 'invalid_value');
  }
  return { transactionId, externalSubscriptionId, code, timestamp, properties, preciseTotalAmount, errors };
}

/**
 * An event no period of its subscription can bill: one at or after the termination of a terminated subscription
 * (`subscription_terminated`), or one before the start of a pending subscription (`subscription_not_started`).
 * Lago finds no subscription active at such an event's time and refuses it as not found; the same 422, recorded in
 * event_errors, with a code that says why. (An ACTIVE subscription's events dated before subscription_at are still
 * accepted, as before: not billed by any period.)
 */
export function inactiveAt(sub: SubscriptionLookup, timestamp: string): 'subscription_terminated' | 'subscription_not_started' | null {
  if (sub.status === 'terminated' && (!sub.terminatedAt || Date.parse(timestamp) >= Date.parse(sub.terminatedAt))) return 'subscription_terminated';
  if (sub.status === 'pending' && Date.parse(timestamp) < Date.parse(sub.subscriptionAt)) return 'subscription_not_started';
  return null;
}

export interface ValidationOutcome {
  valid: ValidEvent[];
  /** index → field errors; empty when every event is valid. */
  errors: Map<number, FieldErrors>;
}

/**
 * The receive time of a request, from the request's subscriptions as the validation looked them up (so the test-clock
 * check needs no lookup of its own): `externalIds` are the subscription ids its events name, `subscriptions` those found.
 */
export type ReceiveTime = (subscriptions: Map<string, SubscriptionLookup>, externalIds: Set<string>) => string | Promise<string>;

/**
 * Validate all events of one live request against the organization's catalog (cached lookups, no per-event
 * query). An omitted timestamp is the receive time `now` (or what `now` answers from the request's subscriptions); a
 * given one must lie inside `window` around it.
 */
export function validateEvents(
  cache: IngestCache,
  organizationId: string,
  rawEvents: unknown[],
  now: string | ReceiveTime = new Date().toISOString(),
  window: EventTimeWindow = eventTimeWindow(),
): Promise<ValidationOutcome> {
  const rules = (at: string): TimeRules => ({ now: at, nowMs: Date.parse(at), window, defaultTimestamp: at });
  return validate(cache, organizationId, rawEvents, typeof now === 'string'
      ? () => rules(now)
      : (subs, ids) => {
          const at = now(subs, ids);
          return typeof at === 'string' ? rules(at) : at.then(rules);
        });
}

/** Validate events to import (POST /events/import): the timestamp is mandatory, of any age, never after `now`. */
export function validateImportEvents(
  cache: IngestCache,
  organizationId: string,
  rawEvents: unknown[],
  now: string = new Date().toISOString(),
): Promise<ValidationOutcome> {
  return validate(cache, organizationId, rawEvents, () => ({ now, nowMs: Date.parse(now), window: IMPORT_TIME_WINDOW, defaultTimestamp: null }));
}

async function validate(
  cache: IngestCache,
  organizationId: string,
  rawEvents: unknown[],
  rulesFor: (subscriptions: Map<string, SubscriptionLookup>, externalIds: Set<string>) => TimeRules | Promise<TimeRules>,
): Promise<ValidationOutcome> {
  const ids = rawEvents.map(shapeIds);
  const codes = new Set(ids.map((s) => s.code).filter((c): c is string => c !== undefined));
  const externalIds = new Set(ids.map((s) => s.externalSubscriptionId).filter((c): c is string => c !== undefined));
  const [metrics, subscriptions] = await Promise.all([
    cache.metrics(organizationId, codes),
    cache.subscriptions(organizationId, externalIds),
  ]);
  const pending = rulesFor(subscriptions, externalIds);
  const rules = pending instanceof Promise ? await pending : pending; // no extra turn for real-time requests
  const shaped = rawEvents.map((raw, i) => shape(raw, ids[i]!, rules));

  const valid: ValidEvent[] = [];
  const errors = new Map<number, FieldErrors>();
  shaped.forEach((s, index) => {
    const e = s.errors;
    const metric = s.code !== undefined ? metrics.get(s.code) : undefined;
    if (s.code !== undefined && !metric) add(e, 'code', 'billable_metric_not_found');
    const subscription = s.externalSubscriptionId !== undefined ? subscriptions.get(s.externalSubscriptionId) : undefined;
    if (s.externalSubscriptionId !== undefined && !subscription) add(e, 'external_subscription_id', 'subscription_not_found');
    else if (subscription && s.timestamp !== undefined) {
      const inactive = inactiveAt(subscription, s.timestamp);
      if (inactive) add(e, 'external_subscription_id', inactive);
    }

    let value: string | null = null;
    if (metric && metric.fieldName && NUMERIC_AGGREGATIONS.has(metric.aggregationType)) {
      const raw = s.properties[metric.fieldName];
      if (raw !== undefined && raw !== null) {
        const outOfLimits = decimalLimitViolation(raw);
        value = outOfLimits ? null : toDecimalString(raw);
        if (outOfLimits) add(e, `properties.${metric.fieldName}`, outOfLimits);
        else if (value === null) add(e, `properties.${metric.fieldName}`, 'invalid_value');
      }
    }

    if (Object.keys(e).length > 0) {
      errors.set(index, e);
      return;
    }
    valid.push({
      row: {
        organizationId,
        transactionId: s.transactionId!,
        externalSubscriptionId: s.externalSubscriptionId!,
        subscriptionId: subscription!.id,
        code: s.code!,
        timestamp: s.timestamp!,
        properties: s.properties,
        preciseTotalAmount: s.preciseTotalAmount,
      },
      metric: metric!,
      subscription: subscription!,
      units: value ?? '0',
      value,
    });
  });
  return { valid, errors };
}
