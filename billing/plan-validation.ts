// Plan validation: collects EVERY issue, then throws one PlanValidationError (code 'invalid_plan').
// Field paths use Lago's snake_case request names: `amount_cents`, `interval`,
// `charges[0].properties.graduated_ranges[1].from_value`, `charges[2].filters[0].values.model`.
//
// Ranges follow lago-api Charges::Validators::{Graduated,Volume,GraduatedPercentage}Service and
// Validators::RangeBoundsValidator: the first from_value is 0; every later from_value equals the
// previous to_value ("adjacent", decimal bounds allowed) or the previous to_value + 1 ("classic");
// every to_value but the last is > its from_value; the last to_value is null.
// Amounts (amount, per_unit_amount, flat_amount, fixed_amount, rate, ...) must be decimal STRINGS
// (Lago's API shape, no float round-trip) and non-negative.

import { isSupportedCurrency } from './currency';
import { PlanValidationError, type PlanValidationIssue } from './errors';
import { D, isDecimalString, type Dec } from './money';
import type { Charge, ChargeModel, ChargeProperties, Interval, Plan } from './types';

export const INTERVALS: readonly Interval[] = ['weekly', 'monthly', 'quarterly', 'semiannual', 'yearly'];
export const CHARGE_MODELS: readonly ChargeModel[] = [
  'standard', 'graduated', 'volume', 'package', 'percentage', 'graduated_percentage', 'dynamic',
];
const AGGREGATIONS = ['count_agg', 'sum_agg', 'max_agg', 'unique_count_agg', 'latest_agg', 'weighted_sum_agg'];

class Issues {
  readonly list: PlanValidationIssue[] = [];
  add(field: string, code: string, message: string): void {
    this.list.push({ field, code, message });
  }
}

function isNonNegSafeInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** A decimal amount property: must be a non-negative decimal string. Returns it parsed, or null. */
function amountProp(props: ChargeProperties, key: string, path: string, issues: Issues, required: boolean): Dec | null {
  const v = props[key];
  if (v === undefined || v === null) {
    if (required) issues.add(`${path}.${key}`, 'missing_property', `${key} is required`);
    return null;
  }
  if (!isDecimalString(v)) {
    issues.add(`${path}.${key}`, 'invalid_amount', `${key} must be a decimal string such as "0.5"`);
    return null;
  }
  const d = new D(v);
  if (d.isNegative()) {
    issues.add(`${path}.${key}`, 'negative_amount', `${key} must not be negative`);
    return null;
  }
  return d;
}

/** A bound (from_value / to_value): JSON number or decimal string, non-negative. */
function boundValue(v: unknown): Dec | null {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return new D(v);
  if (isDecimalString(v) && !v.startsWith('-')) return new D(v);
  return null;
}

function validateRanges(props: ChargeProperties, key: string, path: string, issues: Issues, withRate: boolean): void {
  const ranges = props[key];
  if (!Array.isArray(ranges) || ranges.length === 0) {
    issues.add(`${path}.${key}`, `missing_${key}`, `${key} must be a non-empty array`);
    return;
  }
  let prevTo: Dec | null = null;
  ranges.forEach((r: unknown, i: number) => {
    const rp = `${path}.${key}[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      issues.add(rp, 'invalid_range', 'range must be an object');
      prevTo = null;
      return;
    }
    const range = r as Record<string, unknown>;
    if (withRate) {
      const rate = amountProp(range, 'rate', rp, issues, true);
      if (rate && rate.gt(100)) issues.add(`${rp}.rate`, 'invalid_rate', 'rate must be between 0 and 100');
    } else {
      amountProp(range, 'per_unit_amount', rp, issues, true);
    }
    amountProp(range, 'flat_amount', rp, issues, true);

    const from = boundValue(range['from_value']);
    const last = i === ranges.length - 1;
    if (from === null) {
      issues.add(`${rp}.from_value`, 'invalid_range_bounds', 'from_value must be a non-negative number');
    } else if (i === 0) {
      if (!from.isZero()) issues.add(`${rp}.from_value`, 'invalid_range_bounds', 'the first from_value must be 0');
    } else if (prevTo !== null) {
      const p: Dec = prevTo;
      if (!from.eq(p) && !from.eq(p.plus(1))) {
        issues.add(
          `${rp}.from_value`,
          from.lt(p) ? 'overlapping_ranges' : 'gap_between_ranges',
          `from_value must equal the previous to_value (${p.toString()}) or that + 1`,
        );
      }
    }
    const toRaw = range['to_value'];
    if (last) {
      if (toRaw !== null && toRaw !== undefined) issues.add(`${rp}.to_value`, 'invalid_range_bounds', 'the last to_value must be null');
      prevTo = null;
    } else {
      const to = boundValue(toRaw);
      if (to === null) {
        issues.add(`${rp}.to_value`, 'invalid_range_bounds', 'to_value must be a non-negative number (only the last range is open)');
      } else if (from !== null && !to.gt(from)) {
        issues.add(`${rp}.to_value`, 'invalid_range_bounds', 'to_value must be greater than from_value');
      }
      prevTo = to;
    }
  });
}

function positiveInteger(v: unknown): boolean {
  return (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) || (typeof v === 'string' && /^[1-9]\d{0,14}$/.test(v));
}

function nonNegInteger(v: unknown): boolean {
  return (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'string' && /^(0|[1-9]\d{0,14})$/.test(v));
}

export function validateChargeProperties(
  model: ChargeModel,
  props: ChargeProperties,
  path: string,
  issues: Issues,
  charge?: Charge,
): void {
  if (typeof props !== 'object' || props === null || Array.isArray(props)) {
    issues.add(path, 'invalid_properties', 'properties must be an object');
    return;
  }
  const z = props['zero_usage_flat_fee'];
  if (z !== undefined && z !== 'charge' && z !== 'skip') {
    issues.add(`${path}.zero_usage_flat_fee`, 'invalid_value', 'zero_usage_flat_fee must be "charge" or "skip"');
  }
  const groupKeys = props['pricing_group_keys'] ?? props['grouped_by'];
  if (groupKeys !== undefined && (!Array.isArray(groupKeys) || !groupKeys.every((k) => typeof k === 'string' && k.length > 0))) {
    issues.add(`${path}.pricing_group_keys`, 'invalid_value', 'pricing_group_keys must be an array of non-empty strings');
  }
  switch (model) {
    case 'standard':
      amountProp(props, 'amount', path, issues, true);
      return;
    case 'graduated':
      validateRanges(props, 'graduated_ranges', path, issues, false);
      return;
    case 'volume':
      validateRanges(props, 'volume_ranges', path, issues, false);
      return;
    case 'graduated_percentage':
      validateRanges(props, 'graduated_percentage_ranges', path, issues, true);
      return;
    case 'package':
      amountProp(props, 'amount', path, issues, true);
      if (!positiveInteger(props['package_size'])) {
        issues.add(`${path}.package_size`, 'invalid_package_size', 'package_size must be an integer >= 1');
      }
      if (props['free_units'] !== undefined && props['free_units'] !== null && !nonNegInteger(props['free_units'])) {
        issues.add(`${path}.free_units`, 'invalid_free_units', 'free_units must be an integer >= 0');
      }
      return;
    case 'percentage': {
      const rate = amountProp(props, 'rate', path, issues, true);
      if (rate && rate.gt(100)) issues.add(`${path}.rate`, 'invalid_rate', 'rate must be between 0 and 100');
      amountProp(props, 'fixed_amount', path, issues, false);
      const fpe = props['free_units_per_events'];
      if (fpe !== undefined && fpe !== null && !positiveInteger(fpe)) {
        issues.add(`${path}.free_units_per_events`, 'invalid_free_units_per_events', 'free_units_per_events must be an integer >= 1');
      }
      amountProp(props, 'free_units_per_total_aggregation', path, issues, false);
      const min = amountProp(props, 'per_transaction_min_amount', path, issues, false);
      const max = amountProp(props, 'per_transaction_max_amount', path, issues, false);
      if (min && max && min.gt(max)) {
        issues.add(`${path}.per_transaction_max_amount`, 'per_transaction_max_lower_than_per_transaction_min', 'per_transaction_max_amount must be >= per_transaction_min_amount');
      }
      if (charge?.billableMetric.aggregationType === 'latest_agg') {
        issues.add(`${path.replace(/\.properties$|\.filters\[\d+\]\.properties$/, '')}.billable_metric`, 'invalid_value', 'percentage is not available for latest_agg metrics');
      }
      return;
    }
    case 'dynamic':
      return;
    default: {
      const never: never = model;
      issues.add(path, 'unknown_charge_model', `unknown charge model ${String(never)}`);
    }
  }
}

function validateCharge(charge: Charge, i: number, issues: Issues, seenIds: Set<string>): void {
  const cp = `charges[${i}]`;
  if (typeof charge.id !== 'string' || charge.id.length === 0) issues.add(`${cp}.id`, 'invalid_value', 'charge id is required');
  else if (seenIds.has(charge.id)) issues.add(`${cp}.id`, 'duplicate_charge_id', `duplicate charge id ${charge.id}`);
  else seenIds.add(charge.id);

  const m = charge.billableMetric;
  if (!m || typeof m.code !== 'string') {
    issues.add(`${cp}.billable_metric_id`, 'billable_metric_not_found', 'billable metric is required');
    return;
  }
  if (!AGGREGATIONS.includes(m.aggregationType)) {
    issues.add(`${cp}.billable_metric.aggregation_type`, 'invalid_aggregation_type', `unknown aggregation ${String(m.aggregationType)}`);
  } else if (m.aggregationType !== 'count_agg' && !m.fieldName) {
    issues.add(`${cp}.billable_metric.field_name`, 'missing_field_name', `${m.aggregationType} needs a field_name`);
  }
  if (!CHARGE_MODELS.includes(charge.chargeModel)) {
    issues.add(`${cp}.charge_model`, 'unknown_charge_model', `unknown charge model ${String(charge.chargeModel)}`);
    return;
  }
  if (!isNonNegSafeInt(charge.minAmountCents)) {
    issues.add(`${cp}.min_amount_cents`, 'invalid_amount', 'min_amount_cents must be an integer >= 0');
  }
  if (charge.payInAdvance) {
    if (['max_agg', 'weighted_sum_agg', 'latest_agg'].includes(m.aggregationType)) {
      issues.add(`${cp}.pay_in_advance`, 'invalid_pay_in_advance', `pay_in_advance is not available for ${m.aggregationType}`);
    }
    if (charge.chargeModel === 'volume') {
      issues.add(`${cp}.pay_in_advance`, 'invalid_pay_in_advance', 'pay_in_advance is not available for volume charges');
    }
    if (charge.minAmountCents > 0) {
      issues.add(`${cp}.min_amount_cents`, 'invalid_min_amount_cents', 'min_amount_cents is not available for pay_in_advance charges');
    }
  }
  if (!charge.payInAdvance && charge.invoiceable === false) {
    issues.add(`${cp}.invoiceable`, 'invalid_invoiceable', 'only pay_in_advance charges can be non-invoiceable');
  }
  // Lago: regroup_paid_fees only applies to pay-in-advance charges that issue no invoice of their own.
  if (charge.regroupPaidFees === 'invoice' && (!charge.payInAdvance || charge.invoiceable)) {
    issues.add(`${cp}.regroup_paid_fees`, 'invalid_regroup_paid_fees', 'regroup_paid_fees needs pay_in_advance true and invoiceable false');
  }
  validateChargeProperties(charge.chargeModel, charge.properties, `${cp}.properties`, issues, charge);

  const allowed = new Map(m.filters.map((f) => [f.key, f.values] as const));
  const seenFilterValues = new Set<string>();
  charge.filters.forEach((f, j) => {
    const fp = `${cp}.filters[${j}]`;
    const keys = Object.keys(f.values ?? {});
    if (keys.length === 0) issues.add(`${fp}.values`, 'invalid_filter_values', 'a filter needs at least one key');
    for (const k of keys) {
      const vs = f.values[k];
      if (!Array.isArray(vs) || vs.length === 0 || !vs.every((v) => typeof v === 'string')) {
        issues.add(`${fp}.values.${k}`, 'invalid_filter_values', 'filter values must be a non-empty array of strings');
        continue;
      }
      const ok = allowed.get(k);
      if (!ok) issues.add(`${fp}.values.${k}`, 'invalid_filter_key', `the billable metric has no filter ${k}`);
      else {
        const bad = vs.filter((v) => !ok.includes(v) && v !== '__ALL_FILTER_VALUES__');
        if (bad.length > 0) issues.add(`${fp}.values.${k}`, 'invalid_filter_values', `values not declared on the metric: ${bad.join(', ')}`);
      }
    }
    const sig = JSON.stringify(keys.sort().map((k) => [k, [...(f.values[k] ?? [])].sort()]));
    if (seenFilterValues.has(sig)) issues.add(`${fp}.values`, 'duplicate_filter', 'two filters have the same values');
    seenFilterValues.add(sig);
    validateChargeProperties(charge.chargeModel, f.properties, `${fp}.properties`, issues, charge);
  });
}

/** Collects all problems of the plan's own fields into `issues` (used by the Lago mapper too). */
/** `chargeIndices[i]` = index of plan.charges[i] in the original request (when some charges failed mapping). */
export function collectPlanIssues(plan: Plan, issues: Issues = new Issues(), chargeIndices?: number[]): PlanValidationIssue[] {
  if (typeof plan.code !== 'string' || plan.code.trim() === '') issues.add('code', 'value_is_mandatory', 'code is required');
  if (typeof plan.name !== 'string' || plan.name.trim() === '') issues.add('name', 'value_is_mandatory', 'name is required');
  if (!INTERVALS.includes(plan.interval)) issues.add('interval', 'invalid_interval', `interval must be one of ${INTERVALS.join(', ')}`);
  if (!isNonNegSafeInt(plan.amountCents)) issues.add('amount_cents', 'invalid_amount', 'amount_cents must be an integer >= 0');
  if (!isSupportedCurrency(plan.amountCurrency)) issues.add('amount_currency', 'unsupported_currency', `unsupported currency ${String(plan.amountCurrency)}`);
  if (!(typeof plan.trialPeriodDays === 'number' && Number.isFinite(plan.trialPeriodDays) && plan.trialPeriodDays >= 0)) {
    issues.add('trial_period', 'invalid_value', 'trial_period must be a number of days >= 0');
  }
  if (!isNonNegSafeInt(plan.minimumCommitmentAmountCents)) {
    issues.add('minimum_commitment.amount_cents', 'invalid_amount', 'minimum_commitment.amount_cents must be an integer >= 0');
  }
  (plan.usageThresholds ?? []).forEach((t, i) => {
    if (!(typeof t.amountCents === 'number' && Number.isSafeInteger(t.amountCents) && t.amountCents > 0)) {
      issues.add(`usage_thresholds[${i}].amount_cents`, 'invalid_amount', 'amount_cents must be an integer > 0');
    }
  });
  const seenIds = new Set<string>();
  (plan.charges ?? []).forEach((c, i) => validateCharge(c, chargeIndices?.[i] ?? i, issues, seenIds));
  return issues.list;
}

export { Issues as PlanIssues };

/** Throws PlanValidationError listing ALL issues; returns normally for a valid plan. */
export function validatePlan(plan: Plan): void {
  const list = collectPlanIssues(plan);
  if (list.length > 0) throw new PlanValidationError(list);
}
