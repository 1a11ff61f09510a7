// Pay-in-advance charges: one fee per event, in the order the events arrived (Lago: an instant fee per event,
// `fee.created`; with `invoiceable: true` each fee gets its own invoice). Pure.
//
// Each event's fee = price(bucket usage after the event) − price(usage before it) (billing/rateInAdvanceEvent,
// property-tested: a period's fees sum to pricing its total), the bucket being the event's filter × pricing group.
// - Events are taken in ARRIVAL order (the caller passes them so: events.id), never re-sorted by timestamp: a
//   fee already billed never changes when an earlier-dated event arrives later.
// - unique_count_agg: an event whose value was already counted in the period adds no unit and costs 0.
// - Recurring metrics with `prorated: true` (Lago's prorated in-advance charge, e.g. seats): the fee is prorated to
//   the days left in the period, counted from the event's local day (proration.ts: days of [event, period end) /
//   days of the full period). Metered metrics and non-prorated charges are billed whole.
// - Rounding: each fee once with R1 (half-up to the minor unit), like every other fee line.
import { aggregateCharge, type UsageBucket } from './aggregation';
import { BillingError } from './errors';
import { applyEventToBucket, rateInAdvanceEvent } from './invoice';
import { D, roundDecToMinorUnits, str } from './money';
import { prorationRatioDec } from './proration';
import type { Charge, Period, UsageEvent } from './types';

export interface InAdvanceEventFee {
  transactionId: string;
  chargeId: string;
  metricCode: string;
  eventTimestamp: string;
  filterIndex: number | null;
  groupedBy: Record<string, string>;
  displayName: string;
  units: string;
  unitAmount: string;
  /** Precise (after proration), unrounded, major units. */
  preciseAmount: string;
  amountCents: number;
  currency: string;
  /** Only for prorated recurring charges. */
  prorationRatio: string | null;
}

export interface InAdvanceChargeInput {
  charge: Charge;
  /** The period's events of the charge's metric, in arrival order. Events outside `period` are ignored. */
  events: UsageEvent[];
  period: Period;
  fullPeriod: Period;
  currency: string;
  timezone: string;
}

function displayName(charge: Charge, bucket: UsageBucket): string {
  let name = charge.invoiceDisplayName ?? charge.billableMetric.name;
  if (bucket.filterIndex !== null) {
    const f = charge.filters[bucket.filterIndex]!;
    name = f.invoiceDisplayName ?? `${name} • ${Object.values(f.values).map((v) => v.join(', ')).join(' • ')}`;
  }
  const groups = Object.values(bucket.groupedBy);
  return groups.length > 0 ? `${name} • ${groups.join(' • ')}` : name;
}

/** The bucket one event falls in (its filter and pricing group), from the engine's own bucketing. */
function bucketOf(charge: Charge, event: UsageEvent, period: Period): UsageBucket {
  const one = aggregateCharge(charge, [event], period).buckets.find((b) => b.eventsCount === 1);
  if (!one) throw new BillingError('invalid_bucket', `Event ${event.transactionId} matched no bucket of charge ${charge.id}`);
  return one;
}

/** The fee of every event of the period, in arrival order (see the header). */
export function inAdvanceChargeFees(input: InAdvanceChargeInput): InAdvanceEventFee[] {
  const { charge, period, fullPeriod, currency, timezone } = input;
  if (!charge.payInAdvance) throw new BillingError('invalid_pay_in_advance', `Charge ${charge.id} is not paid in advance`, 'pay_in_advance');
  const startMs = Date.parse(period.start);
  const endMs = Date.parse(period.end);
  const before = new Map<string, UsageBucket>();
  const seenUnique = new Map<string, Set<string>>();
  const out: InAdvanceEventFee[] = [];
  const metric = charge.billableMetric;
  for (const event of input.events) {
    const t = Date.parse(event.timestamp);
    if (Number.isNaN(t) || t < startMs || t >= endMs) continue;
    const slot = bucketOf(charge, event, period);
    const key = JSON.stringify([slot.filterIndex, Object.entries(slot.groupedBy).sort()]);
    const prev: UsageBucket = before.get(key) ?? { filterIndex: slot.filterIndex, groupedBy: slot.groupedBy, units: '0', eventsCount: 0 };
    const base = {
      transactionId: event.transactionId,
      chargeId: charge.id,
      metricCode: metric.code,
      eventTimestamp: event.timestamp,
      filterIndex: slot.filterIndex,
      groupedBy: slot.groupedBy,
      displayName: displayName(charge, slot),
      currency,
    };
    if (metric.aggregationType === 'unique_count_agg') {
      const value = String(event.properties[metric.fieldName ?? ''] ?? '');
      const seen = seenUnique.get(key) ?? new Set<string>();
      seenUnique.set(key, seen);
      if (seen.has(value)) {
        out.push({ ...base, units: '0', unitAmount: '0', preciseAmount: '0', amountCents: 0, prorationRatio: null });
        continue;
      }
      seen.add(value);
    }
    const rated = rateInAdvanceEvent(charge, prev, event);
    let precise = new D(rated.amount);
    let prorationRatio: string | null = null;
    if (metric.recurring && charge.prorated) {
      const ratio = prorationRatioDec({ start: event.timestamp, end: period.end }, fullPeriod, timezone);
      precise = precise.times(ratio);
      prorationRatio = str(ratio);
    }
    // Usage after the event: the next event's "before" (the same step rateInAdvanceEvent priced).
    const after = applyEventToBucket(charge, prev, event);
    before.set(key, after);
    out.push({
      ...base,
      units: rated.units,
      unitAmount: rated.unitAmount,
      preciseAmount: str(precise),
      amountCents: roundDecToMinorUnits(precise, currency),
      prorationRatio,
    });
  }
  return out;
}
