// What applied coupons took from finalized invoices (applied_coupon_credits, written at finalization by
// db/repositories/coupons.ts recordCouponCredits), for Lago's AppliedCouponObjectExtended `credits` on
// GET /applied_coupons: one credit per (applied coupon, invoice), with the invoice's currency and payment status.
// Scoped by organization_id.
import type { Knex } from 'knex';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

export interface AppliedCouponCredit {
  id: string;
  appliedCouponId: string;
  couponId: string;
  couponCode: string;
  couponName: string;
  amountCents: number;
  currency: string;
  invoiceId: string;
  invoicePaymentStatus: string;
}

/** applied coupon id → its credits, oldest first. */
export async function creditsOfAppliedCoupons(db: Db, organizationId: string, appliedCouponIds: readonly string[]): Promise<Map<string, AppliedCouponCredit[]>> {
  const out = new Map<string, AppliedCouponCredit[]>();
  if (appliedCouponIds.length === 0) return out;
  const rows: Array<Record<string, any>> = await db('applied_coupon_credits as acc')
    .join('applied_coupons as ac', 'ac.id', 'acc.applied_coupon_id')
    .join('coupons as cp', 'cp.id', 'ac.coupon_id')
    .join('invoices as i', 'i.id', 'acc.invoice_id')
    .where({ 'acc.organization_id': organizationId, 'ac.organization_id': organizationId, 'i.organization_id': organizationId })
    .whereIn('acc.applied_coupon_id', [...new Set(appliedCouponIds)])
    .orderBy([{ column: 'acc.created_at' }, { column: 'acc.id' }])
    .select('acc.id', 'acc.applied_coupon_id', 'acc.amount_cents', 'cp.id as coupon_id', 'cp.code', 'cp.name', 'i.id as invoice_id', 'i.currency', 'i.payment_status');
  for (const r of rows) {
    const amountCents = minorUnits(r.amount_cents, `coupon credit ${String(r.id)}`);
    const list = out.get(r.applied_coupon_id) ?? [];
    list.push({
      id: r.id, appliedCouponId: r.applied_coupon_id, couponId: r.coupon_id, couponCode: r.code, couponName: r.name, amountCents,
      currency: String(r.currency).trim(), invoiceId: r.invoice_id, invoicePaymentStatus: r.payment_status,
    });
    out.set(r.applied_coupon_id, list);
  }
  return out;
}
