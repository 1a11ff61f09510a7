// Conformance runner: language-neutral JSON fixtures (Lago-shaped plan + metrics, usage as raw
// events or totals, period, timezone) -> expected fees and totals. Reusable outside jest:
//   import { loadFixtures, runFixture } from './runner'
//
// Fixture shape (snake_case, see fixtures/README.md):
// {
//   "name": "...", "source": "where the numbers come from",
//   "billable_metrics": [{ "code", "name", "aggregation_type", "field_name", "recurring", "filters": [{key, values}] }],
//   "plan": { Lago POST /plans body },
//   "timezone": "UTC",
//   "period": { "start", "end" }, "full_period"?: {...}             -- or --
//   "schedule": { "subscription_at", "billing_time", "at", "terminated_at"? }  (period computed with periodContaining)
//   "kind"?: "subscription", "charge_subscription_fee"?: true, "subscription_at"?: "...",
//   "already_billed_amount_cents"?: 0, "in_advance_fees_amount_cents"?: 0,
//   "usage": [{ "charge": 0, "events": [{timestamp, properties, precise_total_amount?}], "carried_units"?: "0" }
//            | { "charge": 0, "totals": [{units, events_count?, filter_index?, grouped_by?, event_values?}] }],
//   "expected": { "period"?: {start,end}, "full_period"?: {...}, "proration_ratio"?: "...",
//                 "fees": [{ kind, amount_cents, units?, charge?, filter_index?, grouped_by? }], "total_amount_cents": N }
//   | "expected_error": { "code": "invalid_plan", "fields"?: ["charges[0].properties.amount"] }
// }
import fs from 'node:fs';
import path from 'node:path';
import {
  aggregateCharge,
  billableMetricFromLagoInput,
  BillingError,
  buildInvoice,
  periodContaining,
  PlanValidationError,
  planFromLagoInput,
  prorationRatio,
  terminatedPeriod,
  type BillableMetric,
  type BillingTime,
  type ChargeUsage,
  type InvoiceKind,
  type Period,
  type UsageBucket,
  type UsageEvent,
} from '../../billing';

export interface FixtureFee {
  kind: string;
  amount_cents: number;
  units?: string;
  charge?: number;
  filter_index?: number | null;
  grouped_by?: Record<string, string>;
}

export interface Fixture {
  file?: string;
  name: string;
  source: string;
  billable_metrics: Record<string, unknown>[];
  plan: Record<string, unknown>;
  timezone?: string;
  period?: Period;
  full_period?: Period;
  schedule?: { subscription_at: string; billing_time: BillingTime; at: string; terminated_at?: string };
  kind?: InvoiceKind;
  charge_subscription_fee?: boolean;
  subscription_at?: string;
  already_billed_amount_cents?: number;
  in_advance_fees_amount_cents?: number;
  usage?: (
    | { charge: number; events: { transaction_id?: string; timestamp: string; properties: UsageEvent['properties']; precise_total_amount?: string | null }[]; carried_units?: string }
    | { charge: number; totals: { units: string; events_count?: number; filter_index?: number | null; grouped_by?: Record<string, string>; event_values?: { units: string; precise_total_amount?: string | null }[] }[] }
  )[];
  expected?: { period?: Period; full_period?: Period; proration_ratio?: string; fees: FixtureFee[]; total_amount_cents: number };
  expected_error?: { code: string; fields?: string[] };
}

export interface FixtureResult {
  period?: Period;
  full_period?: Period;
  proration_ratio?: string;
  fees: FixtureFee[];
  total_amount_cents: number;
}

export function loadFixtures(dir = path.join(__dirname, 'fixtures')): Fixture[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ ...(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Fixture), file: f }));
}

function metricsOf(f: Fixture): Record<string, BillableMetric> {
  const out: Record<string, BillableMetric> = {};
  for (const m of f.billable_metrics) {
    const bm = billableMetricFromLagoInput(m);
    out[bm.code] = bm;
  }
  return out;
}

/** Runs one fixture; returns the result projected on the fields the fixture's expectation names. */
export function runFixture(f: Fixture): FixtureResult {
  const plan = planFromLagoInput(f.plan, metricsOf(f));
  const timezone = f.timezone ?? 'UTC';
  let period: Period;
  let fullPeriod: Period;
  if (f.schedule) {
    let pair = periodContaining(
      { subscriptionAt: f.schedule.subscription_at, interval: plan.interval, billingTime: f.schedule.billing_time, timezone },
      f.schedule.at,
    );
    if (f.schedule.terminated_at) pair = terminatedPeriod(pair, f.schedule.terminated_at);
    period = pair.period;
    fullPeriod = pair.fullPeriod;
  } else {
    if (!f.period) throw new Error(`${f.name}: fixture needs "period" or "schedule"`);
    period = f.period;
    fullPeriod = f.full_period ?? f.period;
  }

  const usage: ChargeUsage[] = (f.usage ?? []).map((u) => {
    const charge = plan.charges[u.charge];
    if (!charge) throw new Error(`${f.name}: usage for unknown charge index ${u.charge}`);
    if ('events' in u) {
      const events: UsageEvent[] = u.events.map((e, i) => ({
        transactionId: e.transaction_id ?? `${u.charge}-${i}`,
        timestamp: e.timestamp,
        properties: e.properties,
        preciseTotalAmount: e.precise_total_amount ?? null,
      }));
      return aggregateCharge(charge, events, period, u.carried_units ? { carriedUnits: u.carried_units } : undefined);
    }
    const buckets: UsageBucket[] = u.totals.map((t) => {
      const b: UsageBucket = { filterIndex: t.filter_index ?? null, groupedBy: t.grouped_by ?? {}, units: t.units, eventsCount: t.events_count ?? 0 };
      if (t.event_values) b.eventValues = t.event_values.map((v) => ({ units: v.units, preciseTotalAmount: v.precise_total_amount ?? null }));
      return b;
    });
    return { chargeId: charge.id, buckets };
  });

  const draft = buildInvoice({
    plan,
    kind: f.kind ?? 'subscription',
    currency: plan.amountCurrency,
    timezone,
    period,
    fullPeriod,
    chargeSubscriptionFee: f.charge_subscription_fee ?? true,
    usage,
    ...(f.subscription_at ? { subscriptionAt: f.subscription_at } : f.schedule ? { subscriptionAt: f.schedule.subscription_at } : {}),
    ...(f.already_billed_amount_cents !== undefined ? { alreadyBilledAmountCents: f.already_billed_amount_cents } : {}),
    ...(f.in_advance_fees_amount_cents !== undefined ? { inAdvanceFeesAmountCents: f.in_advance_fees_amount_cents } : {}),
  });

  const exp = f.expected;
  const fees = draft.fees.map((fee, i) => {
    const want = exp?.fees[i];
    const out: FixtureFee = { kind: fee.kind, amount_cents: fee.amountCents };
    if (want?.units !== undefined) out.units = fee.units;
    if (want?.charge !== undefined) out.charge = plan.charges.findIndex((c) => c.id === fee.chargeId);
    if (want?.filter_index !== undefined) out.filter_index = fee.filterIndex;
    if (want?.grouped_by !== undefined) out.grouped_by = fee.groupedBy;
    return out;
  });
  const result: FixtureResult = { fees, total_amount_cents: draft.totalAmountCents };
  if (exp?.period) result.period = period;
  if (exp?.full_period) result.full_period = fullPeriod;
  if (exp?.proration_ratio !== undefined) result.proration_ratio = prorationRatio(period, fullPeriod, timezone);
  return result;
}

/** For expected_error fixtures: the error code and (for plan errors) the offending fields. */
export function runErrorFixture(f: Fixture): { code: string; fields?: string[] } {
  try {
    runFixture(f);
  } catch (e) {
    if (e instanceof PlanValidationError) {
      const out: { code: string; fields?: string[] } = { code: e.code };
      if (f.expected_error?.fields) out.fields = e.issues.map((i) => i.field);
      return out;
    }
    if (e instanceof BillingError) return { code: e.code };
    throw e;
  }
  return { code: 'no_error' };
}
