// Conformance runner for `"fixture_kind": "taxes"` fixtures: fees (kind, charge, amount_cents, the coupons
// already allocated to them as Lago's precise_coupons_amount_cents) and tax codes at each level of the
// precedence → each fee's taxes_amount_cents / taxes_rate and the invoice's taxes_amount_cents.
// Shape:
// { "fixture_kind": "taxes", "name", "source", "currency",
//   "taxes": [{code, name, rate}], "organization_tax_codes"?, "customer_tax_codes"?, "plan_tax_codes"?,
//   "charge_tax_codes"?: {charge_id: [codes]},
//   "fees": [{kind, charge: charge_id | null, amount_cents, precise_coupons_amount_cents?}],
//   "expected": {"fees": [{taxes_amount_cents, taxes_rate}], "taxes_amount_cents"} }
import { D } from '../../billing';
import { applyTaxes, type Tax, type TaxableFee } from '../../billing/tax';
import type { FeeKind } from '../../billing/invoice';

export interface TaxFixture {
  file?: string;
  fixture_kind: 'taxes';
  name: string;
  source: string;
  currency: string;
  taxes: { code: string; name: string; rate: string; description?: string }[];
  organization_tax_codes?: string[];
  customer_tax_codes?: string[];
  plan_tax_codes?: string[];
  charge_tax_codes?: Record<string, string[]>;
  fees: { kind: FeeKind; charge: string | null; amount_cents: number; precise_coupons_amount_cents?: string }[];
  expected: { fees: { taxes_amount_cents: number; taxes_rate: string }[]; taxes_amount_cents: number };
}

export function isTaxFixture(f: unknown): f is TaxFixture {
  return (f as { fixture_kind?: string }).fixture_kind === 'taxes';
}

export function runTaxFixture(f: TaxFixture): TaxFixture['expected'] {
  const byCode = new Map<string, Tax>(
    f.taxes.map((t) => [t.code, { id: `tax-${t.code}`, code: t.code, name: t.name, rate: t.rate, description: t.description ?? null }]),
  );
  const pick = (codes: string[] | undefined): Tax[] | undefined =>
    codes?.map((c) => {
      const t = byCode.get(c);
      if (!t) throw new Error(`${f.name}: unknown tax code ${c}`);
      return t;
    });
  const chargeTaxes: Record<string, Tax[]> = {};
  for (const [charge, codes] of Object.entries(f.charge_tax_codes ?? {})) chargeTaxes[charge] = pick(codes)!;
  const fees: TaxableFee[] = f.fees.map((fee) => ({
    kind: fee.kind,
    chargeId: fee.charge,
    amountCents: fee.amount_cents,
    preTaxAmountCents: new D(fee.amount_cents).minus(fee.precise_coupons_amount_cents ?? '0').toString(),
  }));
  const out = applyTaxes(fees, {
    currency: f.currency,
    assignments: {
      chargeTaxes,
      ...(f.plan_tax_codes ? { planTaxes: pick(f.plan_tax_codes)! } : {}),
      ...(f.customer_tax_codes ? { customerTaxes: pick(f.customer_tax_codes)! } : {}),
      ...(f.organization_tax_codes ? { organizationTaxes: pick(f.organization_tax_codes)! } : {}),
    },
  });
  return {
    fees: out.fees.map((fee) => ({ taxes_amount_cents: fee.taxes.taxesAmountCents, taxes_rate: fee.taxes.taxesRate })),
    taxes_amount_cents: out.taxesAmountCents,
  };
}
