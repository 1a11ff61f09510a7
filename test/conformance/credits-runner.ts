// Conformance runners for coupons (`"fixture_kind": "coupons"`: fees → Lago's coupon order and split → taxes on the
// discounted bases) and credit notes (`"fixture_kind": "credit_note"`: an invoice's fees → a credit note's amounts).
import { applyCoupons, type ApplicableCoupon } from '../../billing/coupons';
import { computeCreditNote, type CreditableFee } from '../../billing/credit-notes';
import { D } from '../../billing';
import { applyTaxes, type Tax, type TaxableFee } from '../../billing/tax';

export interface CouponFixture {
  file?: string;
  fixture_kind: 'coupons';
  name: string;
  source: string;
  currency: string;
  taxes: { code: string; rate: string }[];
  fees: { metric: string | null; plan: string; amount_cents: number; tax_codes: string[] }[];
  coupons: { id: string; coupon_type: 'fixed_amount' | 'percentage'; amount_cents?: number; percentage_rate?: string; plan_codes?: string[]; billable_metric_codes?: string[]; applied_at: string }[];
  expected: { coupons_amount_cents: number; fee_taxes_amount_cents: number[]; taxes_amount_cents: number; total_amount_cents: number };
}

export interface CreditNoteFixture {
  file?: string;
  fixture_kind: 'credit_note';
  name: string;
  source: string;
  currency: string;
  invoice: { total_amount_cents: number; taxes_amount_cents: number; paid_amount_cents: number };
  fees: { id: string; amount_cents: number; precise_coupons_amount_cents: string; tax_rates: string[] }[];
  items: { fee_id: string; amount_cents: number }[];
  expected: { coupons_adjustment_amount_cents: number; sub_total_excluding_taxes_amount_cents: number; taxes_amount_cents: number; total_amount_cents: number; max_refundable_amount_cents: number; taxes_rate: string };
}

export function isCouponFixture(f: unknown): f is CouponFixture {
  return (f as { fixture_kind?: string }).fixture_kind === 'coupons';
}
export function isCreditNoteFixture(f: unknown): f is CreditNoteFixture {
  return (f as { fixture_kind?: string }).fixture_kind === 'credit_note';
}

export function runCouponFixture(f: CouponFixture): CouponFixture['expected'] {
  const coupons: ApplicableCoupon[] = f.coupons.map((c) => ({
    appliedCouponId: c.id,
    couponType: c.coupon_type,
    amountCents: c.amount_cents ?? null,
    percentageRate: c.percentage_rate ?? null,
    planCodes: c.plan_codes ?? [],
    metricCodes: c.billable_metric_codes ?? [],
    createdAt: c.applied_at,
  }));
  const r = applyCoupons(f.fees.map((x) => ({ amountCents: x.amount_cents, metricCode: x.metric, planCode: x.plan })), coupons);
  const taxOf = (code: string): Tax => ({ id: code, code, name: code, rate: f.taxes.find((t) => t.code === code)!.rate, description: null });
  const chargeTaxes: Record<string, Tax[]> = {};
  const fees: TaxableFee[] = f.fees.map((x, i) => {
    chargeTaxes[`c${i}`] = x.tax_codes.map(taxOf);
    return { kind: 'charge', chargeId: `c${i}`, amountCents: x.amount_cents, preTaxAmountCents: new D(x.amount_cents).minus(r.feeCoupons[i]!).toString() };
  });
  const taxed = applyTaxes(fees, { currency: f.currency, assignments: { chargeTaxes } });
  const feesTotal = f.fees.reduce((a, x) => a + x.amount_cents, 0);
  return {
    coupons_amount_cents: r.couponsAmountCents,
    fee_taxes_amount_cents: taxed.fees.map((x) => x.taxes.taxesAmountCents),
    taxes_amount_cents: taxed.taxesAmountCents,
    total_amount_cents: feesTotal - r.couponsAmountCents + taxed.taxesAmountCents,
  };
}

export function runCreditNoteFixture(f: CreditNoteFixture): CreditNoteFixture['expected'] {
  const fees: CreditableFee[] = f.fees.map((x) => ({
    feeId: x.id,
    amountCents: x.amount_cents,
    preciseCouponsAmountCents: x.precise_coupons_amount_cents,
    taxes: x.tax_rates.map((rate, i) => ({ taxId: null, taxCode: `t${i}_${rate}`, taxName: 'tax', taxRate: rate })),
    creditedAmountCents: 0,
  }));
  const cn = computeCreditNote(
    { currency: f.currency, totalAmountCents: f.invoice.total_amount_cents, taxesAmountCents: f.invoice.taxes_amount_cents, creditedTotalCents: 0, creditedTaxesCents: 0, refundableCents: f.invoice.paid_amount_cents, dueCents: f.invoice.total_amount_cents - f.invoice.paid_amount_cents },
    fees,
    f.items.map((i) => ({ feeId: i.fee_id, amountCents: i.amount_cents })),
  );
  return {
    coupons_adjustment_amount_cents: cn.couponsAdjustmentAmountCents,
    sub_total_excluding_taxes_amount_cents: cn.subTotalExcludingTaxesAmountCents,
    taxes_amount_cents: cn.taxesAmountCents,
    total_amount_cents: cn.totalAmountCents,
    max_refundable_amount_cents: cn.maxRefundableAmountCents,
    taxes_rate: cn.taxesRate,
  };
}
