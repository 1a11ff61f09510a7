// Fixed charges (Lago 1.51, issues 11 + 13): a plan's recurring fee for a number of UNITS of an add-on, billed
// every period without events. Lago docs "Fixed charge" (guide/plans/charges/fixed-charges) and lago-api
// Fees::FixedChargeService / FixedCharges::*AggregationService (numbers in test/billing/fixed-charges.test.ts).
//
// Units over time: a fixed charge has plan-level `units`; a subscription may change them (PUT
// /subscriptions/:id/fixed_charges/:code), each change being in force from its `effectiveAt` on (Lago's fixed
// charge events). `apply_units_immediately: true` → effective now; false (the default) → at the start of the next
// billing period (the API decides the instant; this file only reads the timeline).
//
// Pricing (the existing charge-model engine, billing/pricing: standard / graduated / volume on a quantity; no
// pricing math of its own):
// - not prorated: the units in force at the end of the period (Lago: the last event's units), priced in full;
// - prorated: the time-weighted units Σ unitsᵢ × daysᵢ / days of the full period (days counted as every other
//   proration here, billing/proration.ts periodDays in the customer's timezone; a segment per units change),
//   then priced by the model. Lago: 10 units at 310 for 3 days of a 31-day month → 300.00; a volume charge of
//   31 then 3.1 units over 5 + 5 days → 5.5 units → 10 + 0.1 × 5.5 = 10.55 (flat amounts are not prorated).
//   Divergence: Lago's graduated + prorated in arrears uses its own prorated-graduated service; here the
//   time-weighted units go through the same graduated model (a documented simplification).
// - in arrears: the fee of the period that ENDED (on the period-end / termination invoice);
// - in advance: the fee of the period that BEGINS, on the invoice at its start, with the units in force at its
//   start (a units change later in that period does not re-price a fee already billed: it applies to the next one).
//   The first period, when partial and `prorated`, is billed days remaining / days of the full period.
// - zero units bill nothing (the zero-usage flat fee of graduated / volume is skipped: 0 seats is no seat licence).
//
// ROUNDING: none of its own. Units, ratios and amounts are unrounded decimals; each fee line is rounded once, half
// up, to the currency's minor unit (billing/README.md R1, row "FC1").
import { BillingError } from './errors';
import type { Fee } from './invoice';
import { D, isDecimalString, roundDecToMinorUnits, str, type Dec } from './money';
import type { PeriodPair } from './period';
import { dispatchRate } from './pricing';
import { validateChargeProperties, PlanIssues } from './plan-validation';
import { periodDays } from './proration';
import type { ChargeProperties, Period } from './types';

export const FIXED_CHARGE_MODELS = ['standard', 'graduated', 'volume'] as const;
export type FixedChargeModel = (typeof FIXED_CHARGE_MODELS)[number];

export interface FixedCharge {
  /** Its lago_id. */
  id: string;
  code: string;
  addOnId: string;
  addOnCode: string;
  /** The add-on's invoice name (invoice_display_name, else name): the fee's name without invoiceDisplayName. */
  addOnName: string;
  chargeModel: FixedChargeModel;
  payInAdvance: boolean;
  prorated: boolean;
  invoiceDisplayName: string | null;
  properties: ChargeProperties;
  /** Plan-level units, a decimal string >= 0. */
  units: string;
}

/** A subscription's units of a fixed charge, in force from `effectiveAt` (ISO instant) on. */
export interface FixedChargeUnitsChange {
  effectiveAt: string;
  units: string;
}

/** What a period's rating bills of the fixed charges (billing/rate-period.ts). */
export interface FixedChargesToRate {
  charges: FixedCharge[];
  /** fixed charge id → its subscription's units changes (any order). */
  changes: Record<string, FixedChargeUnitsChange[]>;
  /** The period whose in-arrears fixed charges are billed (null: none on this invoice). */
  arrears: PeriodPair | null;
  /** The period whose pay-in-advance fixed charges are billed (null: none on this invoice). */
  advance: PeriodPair | null;
  /**
   * Σ of the pay-in-advance fixed-charge fees of the `arrears` period billed on EARLIER invoices (its start invoice
   * or the previous close), integer minor units: they count toward that period's minimum commitment. Default 0.
   */
  paidEarlierCents?: number;
}

export interface FixedChargeFeeInput {
  fixedCharge: FixedCharge;
  changes: FixedChargeUnitsChange[];
  pair: PeriodPair;
  timezone: string;
  currency: string;
}

function units(v: string, field: string): Dec {
  if (!isDecimalString(v) || new D(v).isNegative()) throw new BillingError('invalid_units', `units must be a decimal >= 0, got ${v}`, field);
  return new D(v);
}

function sorted(changes: FixedChargeUnitsChange[]): FixedChargeUnitsChange[] {
  return [...changes].sort((a, b) => Date.parse(a.effectiveAt) - Date.parse(b.effectiveAt));
}

/** The units in force at `at`: the last change effective at or before it, else the plan's units. */
export function unitsInForceAt(fc: FixedCharge, changes: FixedChargeUnitsChange[], at: string): string {
  let u = fc.units;
  for (const c of sorted(changes)) if (Date.parse(c.effectiveAt) <= Date.parse(at)) u = c.units;
  return u;
}

/** The period cut at every change inside it: [start, c₁), [c₁, c₂), … each with the units in force. */
function segments(fc: FixedCharge, changes: FixedChargeUnitsChange[], period: Period): { period: Period; units: Dec }[] {
  const out: { period: Period; units: Dec }[] = [];
  let start = period.start;
  let current = units(unitsInForceAt(fc, changes, period.start), 'units');
  for (const c of sorted(changes)) {
    const t = Date.parse(c.effectiveAt);
    if (t <= Date.parse(period.start) || t >= Date.parse(period.end)) continue;
    out.push({ period: { start, end: c.effectiveAt }, units: current });
    start = c.effectiveAt;
    current = units(c.units, 'units');
  }
  out.push({ period: { start, end: period.end }, units: current });
  return out;
}

/** The units priced for the period: time-weighted when prorated (see the header), else those in force at its end. */
export function pricedUnits(fc: FixedCharge, changes: FixedChargeUnitsChange[], pair: PeriodPair, timezone: string): { full: Dec; priced: Dec; ratio: Dec | null } {
  const parts = segments(fc, changes, pair.period);
  const full = parts[parts.length - 1]!.units;
  if (!fc.prorated) return { full, priced: full, ratio: null };
  const fullDays = periodDays(pair.fullPeriod, timezone);
  if (fullDays <= 0) throw new BillingError('invalid_period', 'Full period is empty', 'full_period');
  let priced = new D(0);
  for (const s of parts) priced = priced.plus(s.units.times(Math.min(periodDays(s.period, timezone), fullDays)).div(fullDays));
  const ratio = new D(Math.min(periodDays(pair.period, timezone), fullDays)).div(fullDays);
  return { full, priced, ratio };
}

/** The fee of one fixed charge over `pair` with the units timeline `changes` (in arrears: the period that ended). */
export function fixedChargeFee(input: FixedChargeFeeInput): Fee {
  const { fixedCharge: fc, pair, timezone, currency } = input;
  const { full, priced, ratio } = pricedUnits(fc, input.changes, pair, timezone);
  const bucket = { filterIndex: null, groupedBy: {}, units: str(priced), eventsCount: 0 };
  const amount = priced.isZero() ? new D(0) : dispatchRate(fc.chargeModel, fc.properties, bucket, { zeroUsageFlatFee: 'skip' }).amount;
  return fixedChargeLine(fc, full, amount, pair.period, ratio, currency);
}

/** A fixed charge's fee line: `units` shown, `amount` unrounded (rounded once here: FC1), over `period`. */
function fixedChargeLine(fc: FixedCharge, shownUnits: Dec, amount: Dec, period: Period, ratio: Dec | null, currency: string): Fee {
  return {
    kind: 'fixed_charge',
    chargeId: fc.id,
    // The fixed charge's code (Lago's fee item code); fixed charges have no billable metric.
    metricCode: fc.code,
    filterIndex: null,
    filterValues: null,
    groupedBy: {},
    displayName: fc.invoiceDisplayName ?? fc.addOnName,
    units: str(shownUnits),
    eventsCount: 0,
    unitAmount: str(shownUnits.isZero() ? new D(0) : amount.div(shownUnits)),
    preciseAmount: str(amount),
    amountCents: roundDecToMinorUnits(amount, currency),
    currency,
    fromDatetime: period.start,
    toDatetime: period.end,
    prorationRatio: ratio === null ? null : str(ratio),
  };
}

/** The fee of a pay-in-advance fixed charge for the period that begins: the units in force at its start. */
export function fixedChargeAdvanceFee(input: FixedChargeFeeInput): Fee {
  const start = Date.parse(input.pair.period.start);
  return fixedChargeFee({ ...input, changes: input.changes.filter((c) => Date.parse(c.effectiveAt) <= start) });
}

/**
 * Every fixed-charge fee of an invoice: in-arrears ones over `arrears`, pay-in-advance ones over `advance`
 * (`allOverArrears`: every fixed charge over `arrears`, for the callers that show a period's whole cost).
 */
export function fixedChargeFees(f: FixedChargesToRate, timezone: string, currency: string, allOverArrears: boolean): Fee[] {
  const out: Fee[] = [];
  for (const fc of f.charges) {
    const changes = f.changes[fc.id] ?? [];
    if (allOverArrears || !fc.payInAdvance) {
      if (f.arrears) out.push(fixedChargeFee({ fixedCharge: fc, changes, pair: f.arrears, timezone, currency }));
    } else if (f.advance) {
      out.push(fixedChargeAdvanceFee({ fixedCharge: fc, changes, pair: f.advance, timezone, currency }));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Validation (Lago's FixedChargeInput): every issue with its Lago field path, none thrown.

export interface FixedChargeIssue {
  field: string;
  code: string;
}

/** Issues of one fixed charge's billing fields (model, units, properties, Lago's advance + prorated graduated rule). */
export function fixedChargeIssues(
  fc: { chargeModel: string; units: unknown; properties: unknown; payInAdvance: boolean; prorated: boolean },
  path: string,
): FixedChargeIssue[] {
  const out: FixedChargeIssue[] = [];
  if (!(FIXED_CHARGE_MODELS as readonly string[]).includes(fc.chargeModel)) {
    out.push({ field: `${path}charge_model`, code: 'value_is_invalid' });
    return out;
  }
  const u = typeof fc.units === 'number' ? String(fc.units) : fc.units;
  if (!(typeof u === 'string' && isDecimalString(u) && !new D(u).isNegative())) out.push({ field: `${path}units`, code: 'value_is_invalid' });
  const issues = new PlanIssues();
  validateChargeProperties(fc.chargeModel as FixedChargeModel, (fc.properties ?? {}) as ChargeProperties, `${path}properties`, issues);
  for (const i of issues.list) out.push({ field: i.field, code: i.code });
  // Lago: "Prorated fixed charges with graduated model and pay_in_advance are not allowed."
  if (fc.chargeModel === 'graduated' && fc.payInAdvance && fc.prorated) out.push({ field: `${path}prorated`, code: 'invalid_prorated_graduated_in_advance' });
  return out;
}

/** A units value from Lago's input (a JSON number or a decimal string) as a canonical decimal string. */
export function unitsString(v: unknown): string {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !isDecimalString(s) || new D(s).isNegative()) throw new BillingError('invalid_units', 'units must be a decimal >= 0', 'units');
  return str(new D(s));
}

/**
 * The fixed-charge part of the `arrears` period's minimum-commitment base (Lago's CalculateTrueUpFeeService sums
 * fixed_charge fees in arrears and in advance of the period): this invoice's fixed-charge fees over that period
 * (the in-arrears ones; every one when the caller rates the whole period) + the advance ones billed earlier.
 * The advance fees on this invoice for the NEXT period belong to the next period's commitment. Integers only.
 */
export function fixedChargeCommitmentCents(f: FixedChargesToRate, fees: Fee[]): number {
  if (!f.arrears) return 0;
  const { start, end } = f.arrears.period;
  let total = f.paidEarlierCents ?? 0;
  for (const fee of fees) if (fee.kind === 'fixed_charge' && fee.fromDatetime === start && fee.toDatetime === end) total += fee.amountCents;
  if (!Number.isSafeInteger(total)) throw new BillingError('amount_out_of_range', 'Fixed-charge fees sum is not a safe integer');
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// A pay-in-advance fixed charge's units raised mid-period with apply_units_immediately (units11, issue 11).
// Lago (Fees::BuildPayInAdvanceFixedChargeService; numbers in spec/scenarios/fixed_charges/
// pay_in_advance_units_change_spec.rb and spec/services/fees/build_pay_in_advance_fixed_charge_service_spec.rb):
// delta = the new units − the units already billed for the period (its advance fee + earlier deltas; a decrease
// is never refunded, so "paid" never goes down); delta <= 0 → nothing; else the delta priced by the charge model, in
// full, or when `prorated` over the days left (the change's local day included) / days of the full period, applied to
// the units before pricing (Lago: 5 units × 10.00 × 12/31 from Mar 20 = 19.35). No new rounding point (FC1).

export interface FixedChargeUnitsDeltaInput {
  fixedCharge: FixedCharge;
  /** The units already billed in advance for the period (Σ of its fixed-charge fees' units), a decimal string. */
  paidUnits: string;
  /** The units in force from `changeAt` on. */
  newUnits: string;
  /** The change instant, inside `pair.period`. */
  changeAt: string;
  /** The billing period the change falls in (its full period for the proration). */
  pair: PeriodPair;
  timezone: string;
  currency: string;
}

/** The fee for the units added mid-period, over [changeAt, period end); null when nothing is added. */
export function fixedChargeUnitsDeltaFee(input: FixedChargeUnitsDeltaInput): Fee | null {
  const { fixedCharge: fc, pair, timezone, currency } = input;
  const delta = units(input.newUnits, 'units').minus(units(input.paidUnits, 'paid_units'));
  if (delta.lte(0)) return null;
  const rest: Period = { start: input.changeAt, end: pair.period.end };
  let ratio: Dec | null = null;
  if (fc.prorated) {
    const fullDays = periodDays(pair.fullPeriod, timezone);
    if (fullDays <= 0) throw new BillingError('invalid_period', 'Full period is empty', 'full_period');
    ratio = new D(Math.min(periodDays(rest, timezone), fullDays)).div(fullDays);
  }
  const priced = ratio === null ? delta : delta.times(ratio);
  const bucket = { filterIndex: null, groupedBy: {}, units: str(priced), eventsCount: 0 };
  const amount = dispatchRate(fc.chargeModel, fc.properties, bucket, { zeroUsageFlatFee: 'skip' }).amount;
  return fixedChargeLine(fc, delta, amount, rest, ratio, currency);
}
