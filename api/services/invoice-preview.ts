// Invoice preview (Lago's POST /invoices/preview): price a hypothetical period with billing/ratePeriod
// (kind 'preview'). READ-ONLY: it loads plans, metrics, customers, subscriptions and events, and writes nothing.
//
// Plan: a stored plan (`plan_code`, loaded by db/repositories/plans loadPlan, charge ids = stored ids), an
// inline plan (validated exactly like POST /plans: billing/planFromLagoInput + validatePlan + PlanCreateBody;
// every issue reported under `plan.<field>`), or — real-usage mode only — the subscription's own plan.
//
// Usage, two modes:
// - totals: `usage[i] = {billable_metric_code, units, events_count?, filters?, grouped_by?}` becomes ONE bucket
//   of every charge of the plan on that metric: filterIndex = the charge filter whose `values` equal `filters`
//   (arrays), else the most specific filter matched by `filters` read as event properties (billing/matchFilter),
//   else null; groupedBy = the bucket's pricing_group_keys read from `grouped_by` (missing → "", like the
//   aggregation). Entries landing in the same bucket are summed (exact decimals). Filter slots without an
//   entry keep their zero bucket (zero lines, as on a real invoice).
// - real usage: the subscription's stored events of the period, read by usage/period-usage.ts ledgerUsage (the
//   reader the period close uses), priced with the given plan.
// Rating: billing/ratePeriod (pay-in-advance charges 'on_period_total'), the one rating step of every caller.
//
// Period and proration: the period is `period` / `billing_period` (from/to), a `billing_period.index` of the
// subscription's own schedule (0 = its first, clipped period; clipped at a termination), or by default the
// current calendar period of the plan's interval in the timezone (the calendar month for monthly plans).
// fullPeriod (the proration denominator of the subscription fee, charge minimums, minimum commitment, prorated
// charges) = the preview plan's billing period containing the period's start, on the subscription's schedule
// (real mode) or on {subscription_at ?? period start, billing_time ?? calendar} (totals mode), when the period
// fits inside it; otherwise the period itself (ratio 1).
//
// Documented choices:
// - The subscription fee of the period is always on the preview (pay-in-advance plans included: the fee that
//   belongs to this period), trial applied from subscription_at.
// - Pay-in-advance charges are priced on the period's total usage (what their per-event fees sum to), as
//   current usage does, so the preview shows the whole cost of the period.
// - currency defaults to the plan's; a different one is 422 `currency: currency_mismatch` (no FX yet).
// - timezone: `timezone`, else the customer's, else the organization's, else UTC.
// - No taxes, coupons, credits, progressive-billing deduction or carried recurring units.
// - Fixed charges (fixed11): a stored plan's, every one priced over the period (advance ones included, like
//   pay-in-advance charges: the period's whole cost), with the subscription's units timeline in real mode; they
//   count toward the minimum commitment (Lago). An inline plan has none.
import type { Knex } from 'knex';
import { bucketProperties, emptyUsage, matchFilter, pricingGroupKeys, type ChargeUsage, type UsageBucket } from '../../billing/aggregation';
import { PlanValidationError } from '../../billing/errors';
import type { InvoiceDraft } from '../../billing/invoice';
import { planFromLagoInput } from '../../billing/lago-plan';
import { periodContaining, type PeriodPair, type ScheduleInput } from '../../billing/period';
import { chargesToRead, ratePeriod } from '../../billing/rate-period';
import { previewFixedCharges } from './preview-fixed-charges';
import { validatePlan } from '../../billing/plan-validation';
import type { BillableMetric, BillingTime, Charge, EventPropertyValue, Interval, Period, Plan } from '../../billing/types';
import { metricsByIdsOrCodes, toBillingMetric, type BillableMetricRecord } from '../../db/repositories/billable-metrics';
import { getPlanByCode, getPlanById } from '../../db/repositories/plans';
import { getCustomerByExternalId, type CustomerRecord } from '../../db/repositories/customers';
import { loadPlan } from '../../db/repositories/plans';
import { getSubscriptionByExternalId, type SubscriptionRecord } from '../../db/repositories/subscriptions';
import { addDetail, notFound, validationError } from '../errors';
import { addDecimal, toDecimalString } from '../../billing/decimal-string';
import { lagoErrorMap, parseIsoInstant, zodIssuesToDetails } from '../schemas/common';
import type { InvoicePreviewInput, UsageTotal } from '../schemas/invoices-preview';
import { PlanCreateBody } from '../schemas/plans';
import { nthPeriod, openPeriodAt } from '../../usage/open-period';
import { givenUsage, ledgerUsage, readPeriodUsage } from '../../usage/period-usage';

export interface PreviewRequestContext {
  organizationId: string;
  /** The organization's default timezone. */
  defaultTimezone: string;
  /** "Now" for the default period (ISO instant). */
  now: string;
}

export interface InvoicePreview {
  draft: InvoiceDraft;
  /** The plan as priced (pay-in-advance charges included in arrears). */
  plan: Plan;
  /** Charge ids that are pay-in-advance in the given plan. */
  payInAdvanceChargeIds: Set<string>;
  /** True for a stored plan (charge ids are real lago_ids); false for an inline plan. */
  storedPlan: boolean;
  /** charge id → billable metric lago_id. */
  metricIdByCharge: Map<string, string>;
  customer: CustomerRecord | null;
  subscription: SubscriptionRecord | null;
  period: Period;
  fullPeriod: Period;
  timezone: string;
}

type Details = Record<string, string[]>;

interface LoadedPlan {
  plan: Plan | null;
  storedPlan: boolean;
  metricIdByCharge: Map<string, string>;
}

async function storedPlan(db: Knex, organizationId: string, planId: string): Promise<LoadedPlan> {
  const record = await getPlanById(db, organizationId, planId);
  if (!record) throw notFound('plan');
  const plan = await loadPlan(db, organizationId, record.id);
  return { plan, storedPlan: true, metricIdByCharge: new Map(record.charges.map((c) => [c.id, c.billableMetricId])) };
}

type RawCharge = { billable_metric_id?: unknown; billable_metric_code?: unknown };

/** POST /plans' validation of an inline plan, issues prefixed with `plan.`; null plan when invalid. */
async function inlinePlan(db: Knex, organizationId: string, raw: Record<string, unknown>, details: Details): Promise<LoadedPlan> {
  const rawCharges = Array.isArray(raw.charges) ? (raw.charges as RawCharge[]) : [];
  const ids = rawCharges.map((c) => c?.billable_metric_id).filter((v): v is string => typeof v === 'string');
  const codes = rawCharges.map((c) => c?.billable_metric_code).filter((v): v is string => typeof v === 'string');
  const records = await metricsByIdsOrCodes(db, organizationId, ids, codes);
  const byId = new Map<string, BillableMetricRecord>(records.map((m) => [m.id, m]));
  const byCode = new Map<string, BillableMetricRecord>(records.map((m) => [m.code, m]));
  const lookup = (ref: { code?: string; id?: string }): BillableMetric | undefined => {
    const m = (ref.id !== undefined ? byId.get(ref.id) : undefined) ?? (ref.code !== undefined ? byCode.get(ref.code) : undefined);
    return m ? toBillingMetric(m) : undefined;
  };
  const own: Details = {};
  let plan: Plan | null = null;
  try {
    plan = planFromLagoInput({ plan: raw }, lookup);
    validatePlan(plan);
  } catch (err) {
    if (!(err instanceof PlanValidationError)) throw err;
    plan = null;
    for (const issue of err.issues) addDetail(own, issue.field, issue.code);
  }
  const parsed = PlanCreateBody.safeParse({ plan: raw }, { error: lagoErrorMap });
  if (!parsed.success) {
    for (const [field, list] of Object.entries(zodIssuesToDetails(parsed.error.issues))) {
      if (!own[field] && !Object.keys(own).some((f) => f.startsWith(`${field}.`) || f.startsWith(`${field}[`))) {
        for (const code of list) addDetail(own, field, code);
      }
    }
    plan = null;
  }
  for (const [field, list] of Object.entries(own)) for (const code of list) addDetail(details, field === 'base' ? 'plan' : `plan.${field}`, code);
  const metricIdByCharge = new Map<string, string>();
  for (const c of plan?.charges ?? []) {
    const m = byCode.get(c.billableMetric.code);
    if (m) metricIdByCharge.set(c.id, m.id);
  }
  return { plan, storedPlan: false, metricIdByCharge };
}

function sameFilterValues(a: Record<string, string[]>, b: Record<string, string[]>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => {
    const x = [...a[k]!].sort();
    const y = [...b[k]!].sort();
    return x.length === y.length && x.every((v, i) => v === y[i]);
  });
}

/** The bucket's filter slot for a totals entry; undefined (and a detail) when it cannot be resolved. */
function resolveFilter(charge: Charge, entry: UsageTotal, field: string, details: Details): number | null | undefined {
  const filters = entry.filters;
  if (!filters || Object.keys(filters).length === 0) return null;
  const asValues: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(filters)) asValues[k] = Array.isArray(v) ? v : [String(v)];
  const exact = charge.filters.findIndex((f) => sameFilterValues(f.values, asValues));
  if (exact >= 0) return exact;
  if (Object.values(asValues).some((v) => v.length !== 1)) {
    addDetail(details, `${field}.filters`, 'filter_not_found');
    return undefined;
  }
  const properties: Record<string, EventPropertyValue> = {};
  for (const [k, v] of Object.entries(asValues)) properties[k] = v[0]!;
  return matchFilter(charge, properties);
}

function bucketKey(filterIndex: number | null, groupedBy: Record<string, string>): string {
  return JSON.stringify([filterIndex, Object.entries(groupedBy)]);
}

/** Totals → one ChargeUsage per charge (see the header). Unknown / uncharged metrics are reported in details. */
function usageFromTotals(plan: Plan, entries: UsageTotal[], knownCodes: Set<string>, details: Details): ChargeUsage[] {
  const given = new Map<string, Map<string, UsageBucket>>(plan.charges.map((c) => [c.id, new Map()]));
  entries.forEach((entry, i) => {
    const field = `usage[${i}]`;
    const code = entry.billable_metric_code;
    if (!knownCodes.has(code)) {
      addDetail(details, `${field}.billable_metric_code`, 'billable_metric_not_found');
      return;
    }
    const charges = plan.charges.filter((c) => c.billableMetric.code === code);
    if (charges.length === 0) {
      addDetail(details, `${field}.billable_metric_code`, 'no_charge_for_billable_metric');
      return;
    }
    const units = toDecimalString(entry.units);
    if (units === null) {
      addDetail(details, `${field}.units`, 'invalid_decimal');
      return;
    }
    for (const charge of charges) {
      const filterIndex = resolveFilter(charge, entry, field, details);
      if (filterIndex === undefined) continue;
      const keys = pricingGroupKeys(bucketProperties(charge, filterIndex));
      for (const k of Object.keys(entry.grouped_by ?? {})) {
        if (!keys.includes(k)) addDetail(details, `${field}.grouped_by.${k}`, 'not_a_pricing_group_key');
      }
      const groupedBy: Record<string, string> = {};
      for (const k of keys) {
        const v = entry.grouped_by?.[k];
        groupedBy[k] = v === undefined ? '' : String(v);
      }
      const buckets = given.get(charge.id)!;
      const key = bucketKey(filterIndex, groupedBy);
      const prev = buckets.get(key);
      const eventsCount = entry.events_count ?? 0;
      buckets.set(key, {
        filterIndex,
        groupedBy,
        units: prev ? addDecimal(prev.units, units) : units,
        eventsCount: (prev?.eventsCount ?? 0) + eventsCount,
      });
    }
  });
  return plan.charges.map((charge) => {
    const mine = [...given.get(charge.id)!.values()];
    const buckets = emptyUsage(charge).buckets.flatMap((zero) => {
      const slot = mine.filter((b) => b.filterIndex === zero.filterIndex);
      return slot.length > 0 ? slot : [zero];
    });
    return { chargeId: charge.id, buckets };
  });
}

/** The preview plan's billing period containing `period.start`, when `period` fits in it; else `period`. */
function fullPeriodFor(period: Period, schedule: ScheduleInput): Period {
  if (Date.parse(period.start) < Date.parse(schedule.subscriptionAt)) return period;
  const pair = periodContaining(schedule, period.start);
  return Date.parse(period.end) <= Date.parse(pair.fullPeriod.end) && Date.parse(period.start) >= Date.parse(pair.fullPeriod.start)
    ? pair.fullPeriod
    : period;
}

function instant(v: string): string {
  return parseIsoInstant(v) as string; // validated by the schema
}

/** The `billing_period.index`-th period of the subscription's own schedule, clipped at its termination. */
function indexedPeriod(sub: SubscriptionRecord, timezone: string, index: number): PeriodPair {
  const schedule: ScheduleInput = {
    subscriptionAt: sub.subscriptionAt.toISOString(),
    interval: sub.planInterval as Interval,
    billingTime: sub.billingTime,
    timezone,
  };
  const pair = nthPeriod(schedule, index, sub.terminatedAt === null ? null : sub.terminatedAt.toISOString());
  if (!pair) throw validationError({ 'billing_period.index': ['after_termination'] });
  return pair;
}

export async function previewInvoice(db: Knex, rc: PreviewRequestContext, body: InvoicePreviewInput): Promise<InvoicePreview> {
  const { organizationId } = rc;
  const subscriptionExternalId = body.subscription?.external_id ?? body.subscriptions?.external_ids[0];
  const realMode = subscriptionExternalId !== undefined;

  // Who: customer (optional in totals mode: a missing one only means no customer defaults) and subscription.
  const customer = body.customer?.external_id !== undefined ? await getCustomerByExternalId(db, organizationId, body.customer.external_id) : null;
  let subscription: SubscriptionRecord | null = null;
  if (realMode) {
    if (!customer) throw notFound('customer');
    subscription = await getSubscriptionByExternalId(db, organizationId, subscriptionExternalId);
    if (!subscription || subscription.customerId !== customer.id) throw notFound('subscription');
  }

  // What: the plan. Every validation problem (inline plan, usage entries) is reported in ONE 422.
  const details: Details = {};
  let loaded: LoadedPlan;
  let storedPlanId: string | null = null;
  if (body.plan_code !== undefined) {
    const record = await getPlanByCode(db, organizationId, body.plan_code);
    if (!record) throw notFound('plan');
    storedPlanId = record.id;
    loaded = await storedPlan(db, organizationId, record.id);
  } else if (body.plan !== undefined) {
    loaded = await inlinePlan(db, organizationId, body.plan, details);
  } else {
    storedPlanId = subscription!.planId;
    loaded = await storedPlan(db, organizationId, subscription!.planId);
  }

  let totals: ChargeUsage[] | null = null;
  if (!realMode) {
    const entries = body.usage ?? [];
    const codes = [...new Set(entries.map((e) => e.billable_metric_code))];
    const known = new Set((await metricsByIdsOrCodes(db, organizationId, [], codes)).map((m) => m.code));
    if (loaded.plan) totals = usageFromTotals(loaded.plan, entries, known, details);
    else entries.forEach((e, i) => known.has(e.billable_metric_code) || addDetail(details, `usage[${i}].billable_metric_code`, 'billable_metric_not_found'));
  }
  if (Object.keys(details).length > 0 || !loaded.plan) throw validationError(details);
  const plan = loaded.plan;
  const payInAdvanceChargeIds = new Set(plan.charges.filter((c) => c.payInAdvance).map((c) => c.id));

  // When: timezone, period, fullPeriod.
  const timezone = body.timezone ?? body.customer?.timezone ?? customer?.timezone ?? rc.defaultTimezone ?? 'UTC';
  let period: Period;
  let schedule: ScheduleInput;
  let subscriptionAt: string;
  if (subscription) {
    subscriptionAt = subscription.subscriptionAt.toISOString();
    schedule = { subscriptionAt, interval: plan.interval, billingTime: subscription.billingTime, timezone };
    const bp = body.billing_period!;
    period =
      bp.index !== undefined
        ? indexedPeriod(subscription, timezone, bp.index).period
        : { start: instant(bp.from_datetime!), end: instant(bp.to_datetime!) };
  } else {
    const billingTime: BillingTime = body.billing_time ?? 'calendar';
    if (body.period) {
      period = { start: instant(body.period.from_datetime), end: instant(body.period.to_datetime) };
      subscriptionAt = body.subscription_at !== undefined ? instant(body.subscription_at) : period.start;
    } else {
      subscriptionAt = body.subscription_at !== undefined ? instant(body.subscription_at) : '1970-01-01T00:00:00.000Z';
      const pair = openPeriodAt({ subscriptionAt, interval: plan.interval, billingTime, timezone }, rc.now);
      period = body.subscription_at !== undefined ? pair.period : pair.fullPeriod;
      if (body.subscription_at === undefined) subscriptionAt = period.start;
    }
    schedule = { subscriptionAt, interval: plan.interval, billingTime, timezone };
  }
  const fullPeriod = fullPeriodFor(period, schedule);

  // Usage: the given totals, or the subscription's stored events of the period (the period close's reader).
  const scope = { organizationId, subscriptionId: subscription?.id ?? '' };
  const usage = await readPeriodUsage(db, scope, chargesToRead(plan, 'on_period_total'), period, totals ? givenUsage(totals) : ledgerUsage);

  const rated = ratePeriod({
    plan,
    kind: 'preview',
    payInAdvanceCharges: 'on_period_total',
    ...(body.currency !== undefined ? { currency: body.currency } : {}),
    timezone,
    period,
    fullPeriod,
    chargeSubscriptionFee: true,
    usage,
    subscriptionAt,
    // Fixed charges of a stored plan (api/services/preview-fixed-charges.ts): the period's whole cost.
    ...(storedPlanId ? await previewFixedCharges(db, organizationId, storedPlanId, subscription?.id ?? null, { period, fullPeriod }) : {}),
  });
  return {
    draft: rated.draft,
    plan: rated.plan,
    payInAdvanceChargeIds,
    storedPlan: loaded.storedPlan,
    metricIdByCharge: loaded.metricIdByCharge,
    customer,
    subscription,
    period,
    fullPeriod,
    timezone,
  };
}
