// Fixed charges (Lago 1.51, migration 20261202000500): a plan's fixed charges (rows of fixed_charges, each on an
// add-on) and a subscription's units timeline (subscription_fixed_charge_units). Every query is scoped by
// organization_id. The billing engine's view is `fixedChargesForBilling` (billing/fixed-charges.ts FixedCharge);
// a plan override's child plan has no fixed charges of its own and bills its parent's.
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import type { FixedCharge, FixedChargeModel, FixedChargeUnitsChange } from '../../billing/fixed-charges';
import type { Tax } from '../../billing/tax';
import { taxesByCodes, toBillingTax, UnknownTaxCodesError, type TaxRecord } from './taxes';

type Db = Knex | Knex.Transaction;

export interface FixedChargeRecord {
  id: string;
  organizationId: string;
  planId: string;
  addOnId: string;
  addOnCode: string;
  addOnName: string;
  addOnInvoiceDisplayName: string | null;
  code: string;
  position: number;
  chargeModel: FixedChargeModel;
  payInAdvance: boolean;
  prorated: boolean;
  invoiceDisplayName: string | null;
  properties: Record<string, unknown>;
  /** Canonical decimal string. */
  units: string;
  taxCodes: string[];
  createdAt: Date;
}

export interface NewFixedCharge {
  addOnId: string;
  code: string;
  chargeModel: FixedChargeModel;
  payInAdvance: boolean;
  prorated: boolean;
  invoiceDisplayName: string | null;
  properties: Record<string, unknown>;
  units: string;
  taxCodes: string[];
}

function select(db: Db) {
  return db('fixed_charges as f')
    .join('add_ons as a', 'a.id', 'f.add_on_id')
    .select('f.*', 'a.code as add_on_code', 'a.name as add_on_name', 'a.invoice_display_name as add_on_invoice_display_name');
}

function toRecord(r: Record<string, any>): FixedChargeRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    planId: r.plan_id,
    addOnId: r.add_on_id,
    addOnCode: r.add_on_code,
    addOnName: r.add_on_name,
    addOnInvoiceDisplayName: r.add_on_invoice_display_name ?? null,
    code: r.code,
    position: r.position,
    chargeModel: r.charge_model,
    payInAdvance: r.pay_in_advance,
    prorated: r.prorated,
    invoiceDisplayName: r.invoice_display_name ?? null,
    properties: r.properties ?? {},
    units: canonicalDecimal(String(r.units)),
    taxCodes: r.tax_codes ?? [],
    createdAt: r.created_at,
  };
}

function row(organizationId: string, planId: string, f: NewFixedCharge, position: number): Record<string, unknown> {
  return {
    organization_id: organizationId,
    plan_id: planId,
    add_on_id: f.addOnId,
    code: f.code,
    position,
    charge_model: f.chargeModel,
    pay_in_advance: f.payInAdvance,
    prorated: f.prorated,
    invoice_display_name: f.invoiceDisplayName,
    properties: JSON.stringify(f.properties),
    units: f.units,
    tax_codes: JSON.stringify(f.taxCodes),
  };
}

/** The plan's own fixed charges, in position order. */
export async function fixedChargesOfPlan(db: Db, organizationId: string, planId: string): Promise<FixedChargeRecord[]> {
  const rows = await select(db).where({ 'f.organization_id': organizationId, 'f.plan_id': planId }).orderBy([{ column: 'f.position' }, { column: 'f.created_at' }]);
  return rows.map(toRecord);
}

/** planId → its own fixed charges (for plan listings). */
export async function fixedChargesOfPlans(db: Db, organizationId: string, planIds: string[]): Promise<Map<string, FixedChargeRecord[]>> {
  const out = new Map<string, FixedChargeRecord[]>(planIds.map((id) => [id, []]));
  if (planIds.length === 0) return out;
  const rows = await select(db).where({ 'f.organization_id': organizationId }).whereIn('f.plan_id', [...new Set(planIds)]).orderBy([{ column: 'f.position' }, { column: 'f.created_at' }]);
  for (const r of rows) out.get(r.plan_id)?.push(toRecord(r));
  return out;
}

export async function fixedChargeByCode(db: Db, organizationId: string, planId: string, code: string): Promise<FixedChargeRecord | null> {
  const r = await select(db).where({ 'f.organization_id': organizationId, 'f.plan_id': planId, 'f.code': code }).first();
  return r ? toRecord(r) : null;
}

/** The fixed charges a subscription on `planId` is billed: the plan's own, else (an override child) its parent's. */
export async function effectiveFixedCharges(db: Db, organizationId: string, planId: string): Promise<FixedChargeRecord[]> {
  const own = await fixedChargesOfPlan(db, organizationId, planId);
  if (own.length > 0) return own;
  const plan: { parent_id: string | null } | undefined = await db('plans').where({ organization_id: organizationId, id: planId }).first('parent_id');
  return plan?.parent_id ? fixedChargesOfPlan(db, organizationId, plan.parent_id) : [];
}

export function toBillingFixedCharge(r: FixedChargeRecord): FixedCharge {
  return {
    id: r.id,
    code: r.code,
    addOnId: r.addOnId,
    addOnCode: r.addOnCode,
    addOnName: r.addOnInvoiceDisplayName ?? r.addOnName,
    chargeModel: r.chargeModel,
    payInAdvance: r.payInAdvance,
    prorated: r.prorated,
    invoiceDisplayName: r.invoiceDisplayName,
    properties: r.properties,
    units: r.units,
  };
}

export async function fixedChargesForBilling(db: Db, organizationId: string, planId: string): Promise<FixedCharge[]> {
  return (await effectiveFixedCharges(db, organizationId, planId)).map(toBillingFixedCharge);
}

/** Inserts a plan's fixed charges (inside the caller's transaction: createPlan). */
export async function insertFixedCharges(trx: Db, organizationId: string, planId: string, list: NewFixedCharge[], firstPosition = 0): Promise<void> {
  if (list.length === 0) return;
  await trx('fixed_charges').insert(list.map((f, i) => row(organizationId, planId, f, firstPosition + i)));
}

/**
 * Replaces the plan's set of fixed charges (PUT /plans with `fixed_charges`, inside updatePlan's transaction): one
 * with the code of a stored fixed charge is updated in place (same lago_id, its subscriptions' units kept), a new
 * code is created, a stored one not listed is removed (with its subscriptions' units).
 */
export async function replaceFixedCharges(trx: Db, organizationId: string, planId: string, list: NewFixedCharge[]): Promise<void> {
  const stored: { id: string; code: string }[] = await trx('fixed_charges').where({ organization_id: organizationId, plan_id: planId }).select('id', 'code');
  const byCode = new Map(stored.map((s) => [s.code, s.id]));
  const keep = new Set(list.map((f) => f.code));
  const removed = stored.filter((s) => !keep.has(s.code)).map((s) => s.id);
  if (removed.length > 0) await trx('fixed_charges').where({ organization_id: organizationId, plan_id: planId }).whereIn('id', removed).delete();
  for (const [position, f] of list.entries()) {
    const id = byCode.get(f.code);
    if (id) await trx('fixed_charges').where({ organization_id: organizationId, id }).update(row(organizationId, planId, f, position));
    else await trx('fixed_charges').insert(row(organizationId, planId, f, position));
  }
}

export async function createFixedCharge(db: Db, organizationId: string, planId: string, f: NewFixedCharge): Promise<FixedChargeRecord> {
  const [{ max }] = await db('fixed_charges').where({ organization_id: organizationId, plan_id: planId }).max('position as max');
  await insertFixedCharges(db, organizationId, planId, [f], max === null || max === undefined ? 0 : Number(max) + 1);
  return (await fixedChargeByCode(db, organizationId, planId, f.code))!;
}

export async function updateFixedCharge(db: Db, organizationId: string, id: string, f: NewFixedCharge): Promise<void> {
  const { position: _p, organization_id: _o, plan_id: _pl, ...fields } = row(organizationId, '', f, 0);
  await db('fixed_charges').where({ organization_id: organizationId, id }).update(fields);
}

export async function deleteFixedCharge(db: Db, organizationId: string, id: string): Promise<void> {
  await db('fixed_charges').where({ organization_id: organizationId, id }).delete();
}

// ---- a subscription's units timeline ----------------------------------------------------------------------

/** fixed charge id → the subscription's units changes, oldest first. */
export async function unitsChangesOf(db: Db, organizationId: string, subscriptionId: string, fixedChargeIds: string[]): Promise<Record<string, FixedChargeUnitsChange[]>> {
  const out: Record<string, FixedChargeUnitsChange[]> = {};
  if (fixedChargeIds.length === 0) return out;
  const rows: { fixed_charge_id: string; units: string; effective_at: Date }[] = await db('subscription_fixed_charge_units')
    .where({ organization_id: organizationId, subscription_id: subscriptionId })
    .whereIn('fixed_charge_id', fixedChargeIds)
    .orderBy('effective_at');
  for (const r of rows) (out[r.fixed_charge_id] ??= []).push({ effectiveAt: r.effective_at.toISOString(), units: canonicalDecimal(String(r.units)) });
  return out;
}

/**
 * Records the subscription's units of a fixed charge from `effectiveAt` on. Idempotent on (subscription, fixed
 * charge, effective_at): a repeat at the same instant replaces the value. Changes effective later than this one are
 * superseded (removed): the latest request wins for the future. `source` (units11): `subscription` for the
 * subscription's own override, `plan` for a plan's units change fanned out (api/services/plan-fixed-charge-units.ts).
 */
export async function setSubscriptionUnits(
  db: Knex,
  organizationId: string,
  subscriptionId: string,
  fixedChargeId: string,
  units: string,
  effectiveAt: string,
  source: UnitsChangeSource = 'subscription',
): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('subscription_fixed_charge_units')
      .where({ organization_id: organizationId, subscription_id: subscriptionId, fixed_charge_id: fixedChargeId })
      .where('effective_at', '>', effectiveAt)
      .delete();
    await trx('subscription_fixed_charge_units')
      .insert({ organization_id: organizationId, subscription_id: subscriptionId, fixed_charge_id: fixedChargeId, units, effective_at: effectiveAt, source })
      .onConflict(['subscription_id', 'fixed_charge_id', 'effective_at'])
      .merge({ units, source });
  });
}

export type UnitsChangeSource = 'subscription' | 'plan';

/** The sources of the subscription's units changes of a fixed charge (units11: a plan edit skips `subscription` ones). */
export async function unitsChangeSources(db: Db, organizationId: string, subscriptionId: string, fixedChargeId: string): Promise<Set<UnitsChangeSource>> {
  const rows: { source: UnitsChangeSource }[] = await db('subscription_fixed_charge_units')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, fixed_charge_id: fixedChargeId })
    .distinct('source');
  return new Set(rows.map((r) => r.source));
}

/** fixed charge id → the taxes of its tax_codes (Lago: a fixed charge's taxes come before the plan's). */
export async function fixedChargeTaxes(db: Db, organizationId: string, fixedChargeIds: string[]): Promise<Record<string, Tax[]>> {
  const out: Record<string, Tax[]> = {};
  if (fixedChargeIds.length === 0) return out;
  const rows: { id: string; tax_codes: string[] }[] = await db('fixed_charges').where({ organization_id: organizationId }).whereIn('id', [...new Set(fixedChargeIds)]).select('id', 'tax_codes');
  const codes = [...new Set(rows.flatMap((r) => r.tax_codes ?? []))];
  if (codes.length === 0) return out;
  const taxes = await taxRecordsByCodes(db, organizationId, codes);
  for (const r of rows) {
    const list = (r.tax_codes ?? []).map((c) => taxes.get(c)).filter((t): t is TaxRecord => t !== undefined);
    if (list.length > 0) out[r.id] = list.map(toBillingTax);
  }
  return out;
}

/** code → tax of the organization (deleted taxes are simply absent). */
export async function taxRecordsByCodes(db: Db, organizationId: string, codes: string[]): Promise<Map<string, TaxRecord>> {
  let wanted = [...new Set(codes)];
  try {
    return new Map((await taxesByCodes(db, organizationId, wanted)).map((t) => [t.code, t]));
  } catch (err) {
    if (!(err instanceof UnknownTaxCodesError)) throw err;
    const missing = new Set(err.codes);
    wanted = wanted.filter((c) => !missing.has(c));
    return new Map((await taxesByCodes(db, organizationId, wanted)).map((t) => [t.code, t]));
  }
}

export interface AddOnRef {
  id: string;
  code: string;
}

/** Live add-ons of the organization named by id or code (a fixed charge's `add_on_id` / `add_on_code`). */
export async function addOnsByIdsOrCodes(db: Db, organizationId: string, ids: string[], codes: string[]): Promise<AddOnRef[]> {
  if (ids.length === 0 && codes.length === 0) return [];
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const rows: AddOnRef[] = await db('add_ons')
    .where({ organization_id: organizationId })
    .whereNull('deleted_at')
    .andWhere((q) => {
      q.whereIn('id', ids.filter((i) => uuid.test(i))).orWhereIn('code', codes);
    })
    .select('id', 'code');
  return rows;
}

/**
 * Σ amount_cents of the subscription's fixed-charge fees for the period starting at `periodStart` that earlier
 * invoices billed in advance (invoices whose own period ends at or before that start: the start invoice or the
 * previous close; voided ones excluded). The minimum commitment of that period counts them (Lago).
 */
export async function advanceFixedChargeCentsBilledFor(db: Db, organizationId: string, subscriptionId: string, fixedChargeIds: string[], periodStart: string): Promise<number> {
  if (fixedChargeIds.length === 0) return 0;
  const row = (await db('fees as f')
    .join('invoices as i', 'i.id', 'f.invoice_id')
    .where({ 'f.organization_id': organizationId, 'i.organization_id': organizationId, 'i.subscription_id': subscriptionId, 'f.fee_type': 'fixed_charge' })
    .whereIn('f.charge_id', fixedChargeIds)
    .where('f.from_datetime', new Date(periodStart))
    .where('i.period_end', '<=', new Date(periodStart))
    .whereNull('i.voided_at')
    .whereNot('i.status', 'deleted') // del13: as voided, a deleted draft billed nothing toward the commitment
    .sum<{ s: string | null }[]>({ s: 'f.amount_cents' })
    .first()) as { s: string | null } | undefined;
  const n = Number(row?.s ?? 0);
  if (!Number.isSafeInteger(n)) throw new Error('Advance fixed-charge fees sum is not a safe integer');
  return n;
}

/** Copies the subscription's units timeline of fixed charge `from` onto fixed charge `to`, for each pair (repeats ignored). */
export async function copySubscriptionUnits(db: Db, organizationId: string, subscriptionId: string, fromTo: Map<string, string>): Promise<void> {
  if (fromTo.size === 0) return;
  const rows: { fixed_charge_id: string; units: string; effective_at: Date }[] = await db('subscription_fixed_charge_units')
    .where({ organization_id: organizationId, subscription_id: subscriptionId })
    .whereIn('fixed_charge_id', [...fromTo.keys()]);
  const copies = rows.map((r) => ({ organization_id: organizationId, subscription_id: subscriptionId, fixed_charge_id: fromTo.get(r.fixed_charge_id)!, units: r.units, effective_at: r.effective_at }));
  if (copies.length > 0) await db('subscription_fixed_charge_units').insert(copies).onConflict(['subscription_id', 'fixed_charge_id', 'effective_at']).ignore();
}

/**
 * The subscription's advance fixed-charge fees whose period covers `at` (started at or before it; `startsBefore`:
 * strictly before, for an upgrade whose own invoice bills the new plan's from `at`), on invoices not voided, of the
 * fixed charges `fixedChargeIds`: each one's period fee and (units11) the fees of units raised mid-period, latest first.
 * For the credit of their unused part (activities/fixed-charge-credits.ts).
 */
export async function advanceFixedChargeFeesCovering(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  fixedChargeIds: string[],
  at: string,
  startsBefore: boolean,
): Promise<{ feeId: string; invoiceId: string; fixedChargeId: string; amountCents: number; currency: string; feePeriod: { start: string; end: string } }[]> {
  if (fixedChargeIds.length === 0) return [];
  const rows: { id: string; invoice_id: string; charge_id: string; amount_cents: string; currency: string; from_datetime: Date; to_datetime: Date }[] = await db('fees as f')
    .join('invoices as i', 'i.id', 'f.invoice_id')
    .where({ 'f.organization_id': organizationId, 'i.organization_id': organizationId, 'i.subscription_id': subscriptionId, 'f.fee_type': 'fixed_charge' })
    .whereIn('f.charge_id', fixedChargeIds)
    .whereNull('i.voided_at')
    .whereNot('i.status', 'deleted') // del13: a deleted draft's fee was never billed, so nothing of it is credited
    .where('f.from_datetime', startsBefore ? '<' : '<=', new Date(at))
    .where('f.to_datetime', '>', new Date(at))
    // Only fees billed before their period ended: advance ones (an in-arrears fee's invoice ends with its period).
    .whereRaw('i.period_end <= f.from_datetime')
    .orderBy([{ column: 'f.from_datetime', order: 'desc' }])
    .select('f.id', 'f.invoice_id', 'f.charge_id', 'f.amount_cents', 'f.currency', 'f.from_datetime', 'f.to_datetime');
  const out = [];
  for (const r of rows) {
    const amountCents = Number(r.amount_cents);
    if (!Number.isSafeInteger(amountCents)) throw new Error('Fixed-charge fee amount is not a safe integer');
    out.push({ feeId: r.id, invoiceId: r.invoice_id, fixedChargeId: r.charge_id, amountCents, currency: r.currency, feePeriod: { start: r.from_datetime.toISOString(), end: r.to_datetime.toISOString() } });
  }
  return out;
}

// ---- units11: the units raised mid-period with apply_units_immediately (activities/fixed-charge-units.ts) ----------

/** A units change of the timeline, with its row id (part of the business key of the invoice that bills it). */
export interface StoredUnitsChange {
  id: string;
  fixedChargeId: string;
  units: string;
  effectiveAt: string;
}

/** The subscription's units changes effective in [period.start, period.end) for these fixed charges, oldest first. */
export async function unitsChangesWithin(db: Db, organizationId: string, subscriptionId: string, fixedChargeIds: string[], period: { start: string; end: string }): Promise<StoredUnitsChange[]> {
  if (fixedChargeIds.length === 0) return [];
  const rows: { id: string; fixed_charge_id: string; units: string; effective_at: Date }[] = await db('subscription_fixed_charge_units')
    .where({ organization_id: organizationId, subscription_id: subscriptionId })
    .whereIn('fixed_charge_id', fixedChargeIds)
    .where('effective_at', '>=', new Date(period.start))
    .where('effective_at', '<', new Date(period.end))
    .orderBy([{ column: 'effective_at' }, { column: 'fixed_charge_id' }])
    .select('id', 'fixed_charge_id', 'units', 'effective_at');
  return rows.map((r) => ({ id: r.id, fixedChargeId: r.fixed_charge_id, units: canonicalDecimal(String(r.units)), effectiveAt: r.effective_at.toISOString() }));
}

/**
 * Σ units of the fixed charge's fees billed IN ADVANCE for the period ending at `periodEnd` (its advance fee and the
 * deltas already billed: fees from the period's start on, ending with it, on invoices issued by their start and not
 * voided). Lago's "already paid units" (BuildPayInAdvanceFixedChargeService#find_already_paid_units).
 */
export async function advanceUnitsBilledFor(db: Db, organizationId: string, subscriptionId: string, fixedChargeId: string, period: { start: string; end: string }): Promise<string> {
  const row = (await db('fees as f')
    .join('invoices as i', 'i.id', 'f.invoice_id')
    .where({ 'f.organization_id': organizationId, 'i.organization_id': organizationId, 'i.subscription_id': subscriptionId, 'f.fee_type': 'fixed_charge', 'f.charge_id': fixedChargeId })
    .where('f.from_datetime', '>=', new Date(period.start))
    .where('f.to_datetime', new Date(period.end))
    .whereRaw('i.period_end <= f.from_datetime')
    .whereNull('i.voided_at')
    .sum<{ s: string | null }[]>({ s: 'f.units' })
    .first()) as { s: string | null } | undefined;
  return canonicalDecimal(String(row?.s ?? '0'));
}
