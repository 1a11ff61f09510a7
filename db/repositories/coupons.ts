// Coupons, applied coupons and what finalized invoices took from them. Every query is scoped by organization_id.
//
// - A coupon's code is unique among the organization's live coupons; deleting one is a soft delete that also
//   terminates its active applications (Lago).
// - applyCoupon: one ACTIVE application of a coupon per customer, enforced by the partial unique index
//   applied_coupons_one_active: of two concurrent applications one insert wins, the other gets
//   BillingError coupon_already_applied (409). A coupon that is not `reusable` is refused once it was ever applied
//   to the customer; an expired or terminated coupon is refused; a fixed-amount coupon in another currency than
//   the customer's is refused (currency_mismatch), a customer without a currency takes the coupon's.
// - applicableCoupons (the coupons step of a rating): the customer's active applications, LOCKED (FOR UPDATE, in
//   the caller's transaction: two invoices finalizing at once take turns), with what other finalized invoices
//   already took from them deducted.
// - recordCouponCredits (at finalization): the draft's computed credits become applied_coupon_credits rows (unique
//   per applied coupon and invoice: a second call writes nothing) and exhausted applications are terminated.
import type { Knex } from 'knex';
import { appliedCouponUsage, type ApplicableCoupon, type CouponCredit, type CouponFrequency, type CouponType } from '../../billing/coupons';
import { BillingError } from '../../billing/errors';
import { isUniqueViolation } from './errors';
import { minorUnits, minorUnitsOrNull } from './minor-units';

type Db = Knex | Knex.Transaction;

export interface CouponRecord {
  id: string;
  organizationId: string;
  code: string;
  name: string;
  description: string | null;
  couponType: CouponType;
  amountCents: number | null;
  amountCurrency: string | null;
  percentageRate: string | null;
  frequency: CouponFrequency;
  frequencyDuration: number | null;
  reusable: boolean;
  expiration: 'no_expiration' | 'time_limit';
  expirationAt: Date | null;
  planCodes: string[];
  billableMetricCodes: string[];
  status: 'active' | 'terminated';
  terminatedAt: Date | null;
  createdAt: Date;
}

export type NewCoupon = Omit<CouponRecord, 'id' | 'organizationId' | 'status' | 'terminatedAt' | 'createdAt'>;

export interface AppliedCouponRecord {
  id: string;
  organizationId: string;
  couponId: string;
  couponCode: string;
  couponName: string;
  couponStatus: 'active' | 'terminated';
  couponDeletedAt: Date | null;
  customerId: string;
  externalCustomerId: string;
  status: 'active' | 'terminated';
  couponType: CouponType;
  amountCents: number | null;
  amountCurrency: string | null;
  percentageRate: string | null;
  frequency: CouponFrequency;
  frequencyDuration: number | null;
  planCodes: string[];
  billableMetricCodes: string[];
  expirationAt: Date | null;
  /** Σ taken by finalized invoices, and by how many. */
  consumedAmountCents: number;
  usedOnInvoices: number;
  createdAt: Date;
  terminatedAt: Date | null;
}



const COUPON_COLUMNS = [
  'id', 'organization_id', 'code', 'name', 'description', 'coupon_type', 'amount_cents', 'amount_currency', 'frequency', 'frequency_duration',
  'reusable', 'expiration', 'expiration_at', 'plan_codes', 'billable_metric_codes', 'status', 'terminated_at', 'created_at',
];

function selectCoupons(db: Db) {
  return db('coupons').select([...COUPON_COLUMNS.map((c) => `coupons.${c}`), db.raw('trim_scale(coupons.percentage_rate)::text as percentage_rate')]);
}

function toCoupon(r: Record<string, any>): CouponRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    code: r.code,
    name: r.name,
    description: r.description ?? null,
    couponType: r.coupon_type,
    amountCents: minorUnitsOrNull(r.amount_cents, 'amount_cents'),
    amountCurrency: r.amount_currency ? String(r.amount_currency).trim() : null,
    percentageRate: r.percentage_rate ?? null,
    frequency: r.frequency,
    frequencyDuration: r.frequency_duration ?? null,
    reusable: r.reusable,
    expiration: r.expiration,
    expirationAt: r.expiration_at ?? null,
    planCodes: r.plan_codes ?? [],
    billableMetricCodes: r.billable_metric_codes ?? [],
    status: r.status,
    terminatedAt: r.terminated_at ?? null,
    createdAt: r.created_at,
  };
}

function couponRow(c: Partial<NewCoupon>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) row[k] = v;
  };
  set('code', c.code);
  set('name', c.name);
  set('description', c.description);
  set('coupon_type', c.couponType);
  set('amount_cents', c.amountCents);
  set('amount_currency', c.amountCurrency);
  set('percentage_rate', c.percentageRate);
  set('frequency', c.frequency);
  set('frequency_duration', c.frequencyDuration);
  set('reusable', c.reusable);
  set('expiration', c.expiration);
  set('expiration_at', c.expirationAt);
  set('plan_codes', c.planCodes);
  set('billable_metric_codes', c.billableMetricCodes);
  return row;
}

export class DuplicateCouponCodeError extends Error {
  constructor(readonly codeValue: string) {
    super(`coupon with code ${codeValue} already exists`);
    this.name = 'DuplicateCouponCodeError';
  }
}

export async function createCoupon(db: Db, organizationId: string, c: NewCoupon): Promise<CouponRecord> {
  try {
    const [row] = await db('coupons').insert({ organization_id: organizationId, ...couponRow(c) }).returning('id');
    return (await getCouponById(db, organizationId, row.id))!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateCouponCodeError(c.code);
    throw err;
  }
}

export async function getCouponById(db: Db, organizationId: string, id: string): Promise<CouponRecord | null> {
  const r = await selectCoupons(db).where({ 'coupons.organization_id': organizationId, 'coupons.id': id }).first();
  return r ? toCoupon(r) : null;
}

export async function getCouponByCode(db: Db, organizationId: string, code: string): Promise<CouponRecord | null> {
  const r = await selectCoupons(db).where({ 'coupons.organization_id': organizationId, 'coupons.code': code }).whereNull('coupons.deleted_at').first();
  return r ? toCoupon(r) : null;
}

export async function listCouponsPage(db: Db, organizationId: string, page: number, perPage: number): Promise<{ coupons: CouponRecord[]; totalCount: number }> {
  const base = () => db('coupons').where({ organization_id: organizationId }).whereNull('deleted_at');
  const [{ count }] = await base().count({ count: '*' });
  const rows = await selectCoupons(db)
    .where({ 'coupons.organization_id': organizationId })
    .whereNull('coupons.deleted_at')
    .orderBy([{ column: 'coupons.created_at', order: 'desc' }, { column: 'coupons.id', order: 'desc' }])
    .limit(perPage)
    .offset((page - 1) * perPage);
  return { coupons: rows.map(toCoupon), totalCount: Number(count) };
}

export async function updateCoupon(db: Db, organizationId: string, code: string, patch: Partial<NewCoupon>): Promise<CouponRecord | null> {
  const current = await getCouponByCode(db, organizationId, code);
  if (!current) return null;
  try {
    await db('coupons').where({ organization_id: organizationId, id: current.id }).update({ ...couponRow(patch), updated_at: db.fn.now() });
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateCouponCodeError(patch.code ?? code);
    throw err;
  }
  return getCouponById(db, organizationId, current.id);
}

/** Soft delete; its active applications are terminated with it (one transaction). */
export async function deleteCoupon(db: Knex, organizationId: string, code: string): Promise<CouponRecord | null> {
  return db.transaction(async (trx) => {
    const current = await getCouponByCode(trx, organizationId, code);
    if (!current) return null;
    await trx('coupons').where({ organization_id: organizationId, id: current.id }).update({ deleted_at: trx.fn.now(), status: 'terminated', terminated_at: trx.fn.now(), updated_at: trx.fn.now() });
    await trx('applied_coupons').where({ organization_id: organizationId, coupon_id: current.id, status: 'active' }).update({ status: 'terminated', terminated_at: trx.fn.now() });
    return getCouponById(trx, organizationId, current.id);
  });
}

// ---- applied coupons ------------------------------------------------------------------------------------------

function appliedQuery(db: Db, organizationId: string) {
  const consumed = db('applied_coupon_credits as acc')
    .where('acc.organization_id', organizationId)
    .groupBy('acc.applied_coupon_id')
    .select('acc.applied_coupon_id', db.raw('sum(acc.amount_cents)::bigint as consumed'), db.raw('count(*)::int as used'))
    .as('u');
  return db('applied_coupons as ac')
    .join('coupons as cp', 'cp.id', 'ac.coupon_id')
    .join('customers as cu', 'cu.id', 'ac.customer_id')
    .leftJoin(consumed, 'u.applied_coupon_id', 'ac.id')
    .where('ac.organization_id', organizationId)
    .select(
      'ac.id', 'ac.organization_id', 'ac.coupon_id', 'ac.customer_id', 'ac.status', 'ac.amount_cents', 'ac.amount_currency', 'ac.frequency',
      'ac.frequency_duration', 'ac.created_at', 'ac.terminated_at', 'cp.code as coupon_code', 'cp.name as coupon_name', 'cp.status as coupon_status',
      'cp.deleted_at as coupon_deleted_at', 'cp.coupon_type', 'cp.plan_codes', 'cp.billable_metric_codes', 'cp.expiration_at',
      'cu.external_id as external_customer_id', db.raw('trim_scale(ac.percentage_rate)::text as percentage_rate'),
      db.raw('coalesce(u.consumed, 0) as consumed'), db.raw('coalesce(u.used, 0) as used'),
    );
}

function toApplied(r: Record<string, any>): AppliedCouponRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    couponId: r.coupon_id,
    couponCode: r.coupon_code,
    couponName: r.coupon_name,
    couponStatus: r.coupon_status,
    couponDeletedAt: r.coupon_deleted_at ?? null,
    customerId: r.customer_id,
    externalCustomerId: r.external_customer_id,
    status: r.status,
    couponType: r.coupon_type,
    amountCents: minorUnitsOrNull(r.amount_cents, 'amount_cents'),
    amountCurrency: r.amount_currency ? String(r.amount_currency).trim() : null,
    percentageRate: r.percentage_rate ?? null,
    frequency: r.frequency,
    frequencyDuration: r.frequency_duration ?? null,
    planCodes: r.plan_codes ?? [],
    billableMetricCodes: r.billable_metric_codes ?? [],
    expirationAt: r.expiration_at ?? null,
    consumedAmountCents: minorUnits(r.consumed, 'consumed'),
    usedOnInvoices: minorUnits(r.used, 'used'),
    createdAt: r.created_at,
    terminatedAt: r.terminated_at ?? null,
  };
}

export async function getAppliedCoupon(db: Db, organizationId: string, id: string): Promise<AppliedCouponRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const r = await appliedQuery(db, organizationId).where('ac.id', id).first();
  return r ? toApplied(r) : null;
}

export interface ApplyCouponInput {
  couponCode: string;
  customerId: string;
  customerCurrency: string | null;
  /** Overrides of the coupon's terms for this customer (Lago's applied_coupon input). */
  amountCents?: number | null;
  amountCurrency?: string | null;
  percentageRate?: string | null;
  frequency?: CouponFrequency | null;
  frequencyDuration?: number | null;
  now: Date;
}

/** Applies a coupon to a customer (see the header for the refusals). */
export async function applyCoupon(db: Knex, organizationId: string, input: ApplyCouponInput): Promise<AppliedCouponRecord> {
  return db.transaction(async (trx) => {
    const coupon = await getCouponByCode(trx, organizationId, input.couponCode);
    if (!coupon) throw new BillingError('coupon_not_found', `Coupon ${input.couponCode} not found`, 'coupon_code');
    if (coupon.status !== 'active' || (coupon.expirationAt !== null && coupon.expirationAt.getTime() <= input.now.getTime())) {
      throw new BillingError('coupon_expired', `Coupon ${coupon.code} is terminated or expired`, 'coupon_code');
    }
    const amountCurrency = coupon.couponType === 'fixed_amount' ? (input.amountCurrency ?? coupon.amountCurrency) : null;
    if (amountCurrency !== null) {
      if (input.customerCurrency !== null && input.customerCurrency !== amountCurrency) {
        throw new BillingError('currency_mismatch', `Coupon currency ${amountCurrency} differs from the customer's ${input.customerCurrency}`, 'currency');
      }
      await trx('customers').where({ organization_id: organizationId, id: input.customerId }).whereNull('currency').update({ currency: amountCurrency, updated_at: trx.fn.now() });
    }
    if (!coupon.reusable) {
      const before = await trx('applied_coupons').where({ organization_id: organizationId, coupon_id: coupon.id, customer_id: input.customerId }).first('id');
      if (before) throw new BillingError('coupon_not_reusable', `Coupon ${coupon.code} is not reusable and was already applied to this customer`, 'coupon_code');
    }
    const frequency = input.frequency ?? coupon.frequency;
    let id: string;
    try {
      const [row] = await trx('applied_coupons')
        .insert({
          organization_id: organizationId,
          coupon_id: coupon.id,
          customer_id: input.customerId,
          amount_cents: coupon.couponType === 'fixed_amount' ? (input.amountCents ?? coupon.amountCents) : null,
          amount_currency: amountCurrency,
          percentage_rate: coupon.couponType === 'percentage' ? (input.percentageRate ?? coupon.percentageRate) : null,
          frequency,
          frequency_duration: frequency === 'recurring' ? (input.frequencyDuration ?? coupon.frequencyDuration) : null,
          created_at: input.now,
        })
        .returning('id');
      id = row.id;
    } catch (err) {
      if (isUniqueViolation(err)) throw new BillingError('coupon_already_applied', `Coupon ${coupon.code} is already applied to this customer`, 'coupon_code');
      throw err;
    }
    return (await getAppliedCoupon(trx, organizationId, id))!;
  });
}

export interface AppliedCouponFilter {
  customerId?: string;
  status?: 'active' | 'terminated';
  /** Lago's coupon_code[] (GET /customers/:id/applied_coupons). */
  couponCodes?: string[];
  page: number;
  perPage: number;
}

export async function listAppliedCoupons(db: Db, organizationId: string, f: AppliedCouponFilter): Promise<{ appliedCoupons: AppliedCouponRecord[]; totalCount: number }> {
  const base = () => {
    const q = db('applied_coupons').where({ organization_id: organizationId });
    if (f.customerId) q.where('customer_id', f.customerId);
    if (f.status) q.where('status', f.status);
    if (f.couponCodes?.length) q.whereIn('coupon_id', db('coupons').where({ organization_id: organizationId }).whereIn('code', f.couponCodes).select('id'));
    return q;
  };
  const [{ count }] = await base().count({ count: '*' });
  const q = appliedQuery(db, organizationId);
  if (f.customerId) q.where('ac.customer_id', f.customerId);
  if (f.status) q.where('ac.status', f.status);
  if (f.couponCodes?.length) q.whereIn('cp.code', f.couponCodes);
  const rows = await q.orderBy([{ column: 'ac.created_at', order: 'desc' }, { column: 'ac.id', order: 'desc' }]).limit(f.perPage).offset((f.page - 1) * f.perPage);
  return { appliedCoupons: rows.map(toApplied), totalCount: Number(count) };
}

/** Terminates one active application of the customer (Lago: DELETE /customers/:id/applied_coupons/:id). */
export async function terminateAppliedCoupon(db: Db, organizationId: string, customerId: string, id: string): Promise<AppliedCouponRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const n = await db('applied_coupons').where({ organization_id: organizationId, customer_id: customerId, id, status: 'active' }).update({ status: 'terminated', terminated_at: db.fn.now() });
  if (n === 0) return null;
  return getAppliedCoupon(db, organizationId, id);
}

// ---- the coupons step of an invoice -------------------------------------------------------------------------

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The customer's active applied coupons usable on an invoice of `currency` (fixed amounts only in that currency),
 * locked for the caller's transaction, with what FINALIZED invoices took from them deducted (a draft's own credits
 * are written only when it is finalized, and a finalized invoice is never rated again).
 */
export async function applicableCoupons(trx: Knex.Transaction, organizationId: string, customerId: string, currency: string): Promise<ApplicableCoupon[]> {
  const locked: { id: string }[] = await trx('applied_coupons')
    .where({ organization_id: organizationId, customer_id: customerId, status: 'active' })
    .orderBy('id')
    .forUpdate()
    .select('id');
  if (locked.length === 0) return [];
  const rows = await appliedQuery(trx, organizationId).whereIn('ac.id', locked.map((l) => l.id));
  const out: ApplicableCoupon[] = [];
  for (const r of rows.map(toApplied)) {
    if (r.couponType === 'fixed_amount' && r.amountCurrency !== currency) continue;
    const usage = appliedCouponUsage({ couponType: r.couponType, frequency: r.frequency, amountCents: r.amountCents, frequencyDuration: r.frequencyDuration }, r.usedOnInvoices, r.consumedAmountCents);
    if (usage.terminated) continue;
    out.push({
      appliedCouponId: r.id,
      couponType: r.couponType,
      amountCents: r.couponType === 'fixed_amount' ? (usage.amountCentsRemaining ?? r.amountCents) : null,
      percentageRate: r.percentageRate,
      planCodes: r.planCodes,
      metricCodes: r.billableMetricCodes,
      createdAt: r.createdAt.toISOString(),
    });
  }
  return out;
}

/** At finalization: the invoice's coupon credits become consumption; exhausted applications are terminated. */
export async function recordCouponCredits(trx: Knex.Transaction, organizationId: string, invoiceId: string, credits: CouponCredit[]): Promise<void> {
  if (credits.length === 0) return;
  await trx('applied_coupon_credits')
    .insert(credits.map((c) => ({ organization_id: organizationId, applied_coupon_id: c.appliedCouponId, invoice_id: invoiceId, amount_cents: c.amountCents })))
    .onConflict(['applied_coupon_id', 'invoice_id'])
    .ignore();
  const rows = (await appliedQuery(trx, organizationId).whereIn('ac.id', credits.map((c) => c.appliedCouponId))).map(toApplied);
  for (const r of rows) {
    const usage = appliedCouponUsage({ couponType: r.couponType, frequency: r.frequency, amountCents: r.amountCents, frequencyDuration: r.frequencyDuration }, r.usedOnInvoices, r.consumedAmountCents);
    if (usage.terminated && r.status === 'active') {
      await trx('applied_coupons').where({ organization_id: organizationId, id: r.id }).update({ status: 'terminated', terminated_at: trx.fn.now() });
    }
  }
}
