// Lago-shaped plan JSON (the body of POST /api/v1/plans, snake_case) → Plan.
// Accepts `{ "plan": {...} }` or the bare plan object. Billable metrics are supplied separately,
// keyed by code (and/or by id): charges reference them with `billable_metric_code` or
// `billable_metric_id`. All shape problems AND all validatePlan problems are reported together in
// ONE PlanValidationError, with Lago field paths (`charges[1].charge_model`, ...).
//
// Charge ids: `id` or `lago_id` if given, else `<plan code>:charge:<index>` (deterministic).
// Filters: Lago `filters[{invoice_display_name, properties, values}]`.
// Properties are kept in Lago's shape (`amount`, `graduated_ranges`, ...); amounts stay decimal strings.

import { PlanValidationError } from './errors';
import { CHARGE_MODELS, INTERVALS, PlanIssues, collectPlanIssues } from './plan-validation';
import type { BillableMetric, Charge, ChargeFilter, ChargeModel, Interval, Plan, UsageThreshold } from './types';

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Integer minor units given as a JSON integer or an integer string ("1000"). */
function cents(v: unknown, field: string, issues: PlanIssues, dflt: number | null): number {
  if (v === undefined || v === null) {
    if (dflt === null) issues.add(field, 'value_is_mandatory', `${field} is required`);
    return dflt ?? 0;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d{1,15}$/.test(v)) return Number(v);
  issues.add(field, 'invalid_amount', `${field} must be an integer number of minor units`);
  return 0;
}

function bool(v: unknown, field: string, issues: PlanIssues, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  issues.add(field, 'invalid_value', `${field} must be a boolean`);
  return dflt;
}

/** Lago's regroup_paid_fees: null (default: the fees never appear on an invoice) or 'invoice'. */
function regroupPaidFeesOf(v: unknown, field: string, issues: PlanIssues): 'invoice' | null {
  if (v === undefined || v === null) return null;
  if (v === 'invoice') return 'invoice';
  issues.add(field, 'invalid_value', `${field} must be null or "invoice"`);
  return null;
}

function optString(v: unknown, field: string, issues: PlanIssues): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  issues.add(field, 'invalid_value', `${field} must be a string`);
  return null;
}

export type MetricLookup = Record<string, BillableMetric> | ((ref: { code?: string; id?: string }) => BillableMetric | undefined);

function lookupMetric(metrics: MetricLookup, code: string | undefined, id: string | undefined): BillableMetric | undefined {
  if (typeof metrics === 'function') return metrics({ code, id });
  if (code !== undefined && Object.prototype.hasOwnProperty.call(metrics, code)) return metrics[code];
  if (id !== undefined && Object.prototype.hasOwnProperty.call(metrics, id)) return metrics[id];
  return undefined;
}

function mapFilters(raw: unknown, path: string, issues: PlanIssues): ChargeFilter[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.add(path, 'invalid_value', 'filters must be an array');
    return [];
  }
  return raw.map((f: unknown, j: number) => {
    const fp = `${path}[${j}]`;
    if (!isObj(f)) {
      issues.add(fp, 'invalid_value', 'filter must be an object');
      return { invoiceDisplayName: null, properties: {}, values: {} };
    }
    const values: Record<string, string[]> = {};
    if (!isObj(f['values'])) issues.add(`${fp}.values`, 'invalid_filter_values', 'values must be an object of arrays');
    else {
      for (const [k, v] of Object.entries(f['values'])) {
        if (Array.isArray(v) && v.every((x) => typeof x === 'string')) values[k] = [...(v as string[])];
        else issues.add(`${fp}.values.${k}`, 'invalid_filter_values', 'filter values must be an array of strings');
      }
    }
    const props = f['properties'];
    if (props !== undefined && !isObj(props)) issues.add(`${fp}.properties`, 'invalid_properties', 'properties must be an object');
    return {
      invoiceDisplayName: optString(f['invoice_display_name'], `${fp}.invoice_display_name`, issues),
      properties: isObj(props) ? { ...props } : {},
      values,
    };
  });
}

function mapCharge(raw: unknown, i: number, planCode: string, metrics: MetricLookup, issues: PlanIssues): Charge | null {
  const cp = `charges[${i}]`;
  if (!isObj(raw)) {
    issues.add(cp, 'invalid_value', 'charge must be an object');
    return null;
  }
  const code = typeof raw['billable_metric_code'] === 'string' ? (raw['billable_metric_code'] as string) : undefined;
  const mid = typeof raw['billable_metric_id'] === 'string' ? (raw['billable_metric_id'] as string) : undefined;
  const metric = code === undefined && mid === undefined ? undefined : lookupMetric(metrics, code, mid);
  if (!metric) {
    const field = mid !== undefined && code === undefined ? `${cp}.billable_metric_id` : `${cp}.billable_metric_code`;
    issues.add(field, 'billable_metric_not_found', code || mid ? `unknown billable metric ${code ?? mid}` : 'billable_metric_code or billable_metric_id is required');
    return null;
  }
  const model = raw['charge_model'];
  if (typeof model !== 'string' || !CHARGE_MODELS.includes(model as ChargeModel)) {
    issues.add(`${cp}.charge_model`, 'unknown_charge_model', `charge_model must be one of ${CHARGE_MODELS.join(', ')}`);
    return null;
  }
  const props = raw['properties'];
  if (props !== undefined && props !== null && !isObj(props)) {
    issues.add(`${cp}.properties`, 'invalid_properties', 'properties must be an object');
  }
  const id =
    (typeof raw['id'] === 'string' && raw['id']) ||
    (typeof raw['lago_id'] === 'string' && raw['lago_id']) ||
    `${planCode}:charge:${i}`;
  return {
    id,
    billableMetric: metric,
    chargeModel: model as ChargeModel,
    payInAdvance: bool(raw['pay_in_advance'], `${cp}.pay_in_advance`, issues, false),
    invoiceable: bool(raw['invoiceable'], `${cp}.invoiceable`, issues, true),
    regroupPaidFees: regroupPaidFeesOf(raw['regroup_paid_fees'], `${cp}.regroup_paid_fees`, issues),
    prorated: bool(raw['prorated'], `${cp}.prorated`, issues, false),
    minAmountCents: cents(raw['min_amount_cents'], `${cp}.min_amount_cents`, issues, 0),
    invoiceDisplayName: optString(raw['invoice_display_name'], `${cp}.invoice_display_name`, issues),
    properties: isObj(props) ? { ...props } : {},
    filters: mapFilters(raw['filters'], `${cp}.filters`, issues),
  };
}

/** Map (and validate) a Lago plan body. Throws PlanValidationError with every issue found. */
export function planFromLagoInput(json: unknown, metrics: MetricLookup): Plan {
  const issues = new PlanIssues();
  const body = isObj(json) && isObj(json['plan']) ? json['plan'] : json;
  if (!isObj(body)) {
    throw new PlanValidationError([{ field: 'plan', code: 'invalid_value', message: 'plan must be an object' }]);
  }
  const code = typeof body['code'] === 'string' ? body['code'] : '';
  const interval = body['interval'];
  const commitment = body['minimum_commitment'];
  if (commitment !== undefined && commitment !== null && !isObj(commitment)) {
    issues.add('minimum_commitment', 'invalid_value', 'minimum_commitment must be an object');
  }
  const trial = body['trial_period'];
  let trialDays = 0;
  if (trial !== undefined && trial !== null) {
    if (typeof trial === 'number' && Number.isFinite(trial)) trialDays = trial;
    else if (typeof trial === 'string' && /^\d+(\.\d+)?$/.test(trial)) trialDays = Number(trial);
    else issues.add('trial_period', 'invalid_value', 'trial_period must be a number of days');
  }
  const name = typeof body['name'] === 'string' ? body['name'] : '';
  const amountCents = cents(body['amount_cents'], 'amount_cents', issues, null);
  const amountCurrency = typeof body['amount_currency'] === 'string' ? body['amount_currency'] : '';
  const payInAdvance = bool(body['pay_in_advance'], 'pay_in_advance', issues, false);
  const minimumCommitmentAmountCents = isObj(commitment) ? cents(commitment['amount_cents'], 'minimum_commitment.amount_cents', issues, 0) : 0;
  const rawCharges = body['charges'];
  if (rawCharges !== undefined && rawCharges !== null && !Array.isArray(rawCharges)) {
    issues.add('charges', 'invalid_value', 'charges must be an array');
  }
  const mapped = (Array.isArray(rawCharges) ? rawCharges : []).map((c, i) => ({ c: mapCharge(c, i, code, metrics, issues), i }));
  const charges = mapped.filter((m) => m.c !== null).map((m) => m.c as Charge);
  const chargeIndices = mapped.filter((m) => m.c !== null).map((m) => m.i);

  const rawThresholds = body['usage_thresholds'];
  const usageThresholds: UsageThreshold[] = (Array.isArray(rawThresholds) ? rawThresholds : []).map((t: unknown, i: number) => {
    const tp = `usage_thresholds[${i}]`;
    const o = isObj(t) ? t : {};
    return {
      amountCents: cents(o['amount_cents'], `${tp}.amount_cents`, issues, null),
      recurring: bool(o['recurring'], `${tp}.recurring`, issues, false),
      thresholdDisplayName: optString(o['threshold_display_name'], `${tp}.threshold_display_name`, issues),
    };
  });

  const plan: Plan = {
    code,
    name,
    interval: (typeof interval === 'string' && INTERVALS.includes(interval as Interval) ? interval : String(interval)) as Interval,
    amountCents,
    amountCurrency,
    payInAdvance,
    trialPeriodDays: trialDays,
    minimumCommitmentAmountCents,
    charges,
    usageThresholds,
  };
  const planIssues = collectPlanIssues(plan, new PlanIssues(), chargeIndices);
  const all = [...issues.list, ...planIssues.filter((p) => !issues.list.some((q) => q.field === p.field))];
  if (all.length > 0) throw new PlanValidationError(all);
  return plan;
}

/** Lago-shaped billable metric JSON (`{billable_metric: {...}}` or bare) → BillableMetric. */
export function billableMetricFromLagoInput(json: unknown): BillableMetric {
  const body = isObj(json) && isObj(json['billable_metric']) ? json['billable_metric'] : json;
  const issues = new PlanIssues();
  if (!isObj(body)) throw new PlanValidationError([{ field: 'billable_metric', code: 'invalid_value', message: 'billable_metric must be an object' }]);
  const filtersRaw = body['filters'];
  const filters = (Array.isArray(filtersRaw) ? filtersRaw : []).map((f: unknown, i: number) => {
    const o = isObj(f) ? f : {};
    if (typeof o['key'] !== 'string' || !Array.isArray(o['values']) || !o['values'].every((v) => typeof v === 'string')) {
      issues.add(`filters[${i}]`, 'invalid_value', 'filter needs a key and an array of string values');
    }
    return { key: String(o['key'] ?? ''), values: Array.isArray(o['values']) ? (o['values'] as unknown[]).map(String) : [] };
  });
  const agg = body['aggregation_type'];
  const aggs = ['count_agg', 'sum_agg', 'max_agg', 'unique_count_agg', 'latest_agg', 'weighted_sum_agg'];
  if (typeof agg !== 'string' || !aggs.includes(agg)) issues.add('aggregation_type', 'invalid_aggregation_type', `aggregation_type must be one of ${aggs.join(', ')}`);
  const fieldName = typeof body['field_name'] === 'string' && body['field_name'] !== '' ? body['field_name'] : null;
  if (agg !== 'count_agg' && fieldName === null) issues.add('field_name', 'value_is_mandatory', 'field_name is required for this aggregation');
  if (typeof body['code'] !== 'string' || body['code'] === '') issues.add('code', 'value_is_mandatory', 'code is required');
  if (issues.list.length > 0) throw new PlanValidationError(issues.list);
  return {
    code: body['code'] as string,
    name: typeof body['name'] === 'string' ? body['name'] : (body['code'] as string),
    aggregationType: agg as BillableMetric['aggregationType'],
    fieldName,
    recurring: body['recurring'] === true,
    filters,
  };
}
