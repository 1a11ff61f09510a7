import fc from 'fast-check';
import { D } from '../../billing';
import { applicableTaxes, applyTaxes, type Tax, type TaxableFee, type TaxAssignments } from '../../billing/tax';

const tax = (code: string, rate: string): Tax => ({ id: `id-${code}`, code, name: code.toUpperCase(), rate, description: null });
const VAT20 = tax('vat20', '20');
const VAT10 = tax('vat10', '10');
const ORG = tax('org', '5');
const CUST = tax('cust', '7');
const PLAN = tax('plan', '8');
const CHARGE = tax('charge', '19');
const ADDON = tax('addon', '3');

const fee = (over: Partial<TaxableFee> = {}): TaxableFee => ({ kind: 'charge', chargeId: 'c1', amountCents: 10000, ...over });

describe('tax precedence (Lago Fees::ApplyTaxesService)', () => {
  const all: TaxAssignments = {
    addOnTaxes: { a1: [ADDON] },
    chargeTaxes: { c1: [CHARGE] },
    planTaxes: [PLAN],
    customerTaxes: [CUST],
    organizationTaxes: [ORG],
  };
  it.each<[string, TaxableFee, TaxAssignments, string, string[]]>([
    ['charge taxes beat plan, customer and organization', fee(), all, 'charge', ['charge']],
    ['a charge minimum true-up carries its charge taxes', fee({ kind: 'charge_minimum' }), all, 'charge', ['charge']],
    ['a charge without taxes falls through to the plan', fee({ chargeId: 'c2' }), all, 'plan', ['plan']],
    ['the subscription fee takes the plan taxes', fee({ kind: 'subscription', chargeId: null }), all, 'plan', ['plan']],
    ['the minimum commitment takes the plan taxes', fee({ kind: 'minimum_commitment', chargeId: null }), all, 'plan', ['plan']],
    ['an add-on takes its own taxes', fee({ kind: 'add_on', chargeId: null, addOnId: 'a1' }), all, 'add_on', ['addon']],
    ['an add-on never takes plan taxes: customer next', fee({ kind: 'add_on', chargeId: null, addOnId: 'a2' }), all, 'customer', ['cust']],
    ['no plan taxes → customer taxes', fee({ chargeId: 'c2' }), { ...all, planTaxes: [] }, 'customer', ['cust']],
    ['no customer taxes → organization default', fee({ chargeId: 'c2' }), { organizationTaxes: [ORG] }, 'organization', ['org']],
    ['nothing anywhere → no tax', fee(), {}, 'none', []],
    ['explicit tax codes override every level', fee(), { ...all, explicit: [VAT10] }, 'explicit', ['vat10']],
  ])('%s', (_name, f, a, source, codes) => {
    const got = applicableTaxes(f, a);
    expect(got.source).toBe(source);
    expect(got.taxes.map((t) => t.code)).toEqual(codes);
  });
});

describe('tax computation and rounding', () => {
  const ctx = (a: TaxAssignments) => ({ currency: 'EUR', assignments: a });

  it('rounds each applied tax half-up (T1): 0.5 cent → 1, −0.5 → −1', () => {
    const out = applyTaxes([fee({ amountCents: 5, preTaxAmountCents: '2.5' }), fee({ amountCents: -5, preTaxAmountCents: '-2.5' })], ctx({ chargeTaxes: { c1: [VAT20] } }));
    expect(out.fees.map((f) => f.taxes.appliedTaxes[0]!.amountCents)).toEqual([1, -1]);
    expect(out.fees[0]!.taxes.appliedTaxes[0]!.preciseAmountCents).toBe('0.5');
  });

  it('a fee with two taxes rounds their unrounded sum once (T2): 0.4 + 0.4 → 1, not 0 + 0', () => {
    // base 4 cents, 10 % and 10 %: 0.4 each, each rounds to 0; the sum 0.8 rounds to 1.
    const out = applyTaxes([fee({ amountCents: 4 })], ctx({ chargeTaxes: { c1: [VAT10, tax('vat10b', '10')] } }));
    expect(out.fees[0]!.taxes.appliedTaxes.map((t) => t.amountCents)).toEqual([0, 0]);
    expect(out.fees[0]!.taxes.taxesAmountCents).toBe(1);
    expect(out.fees[0]!.taxes.taxesRate).toBe('20');
  });

  it('the invoice tax is the per-tax unrounded sums rounded once (T3/T4), not the sum of fee taxes', () => {
    // three fees of 3 cents at 10 %: 0.3 each → 0 per fee, 0.9 → 1 on the invoice.
    const out = applyTaxes([fee({ amountCents: 3 }), fee({ amountCents: 3 }), fee({ amountCents: 3 })], ctx({ chargeTaxes: { c1: [VAT10] } }));
    expect(out.fees.map((f) => f.taxes.taxesAmountCents)).toEqual([0, 0, 0]);
    expect(out.taxesAmountCents).toBe(1);
    expect(out.appliedTaxes).toEqual([
      expect.objectContaining({ taxCode: 'vat10', taxRate: '10', amountCents: 1, feesAmountCents: 9, preciseAmountCents: '0.9', amountCurrency: 'EUR' }),
    ]);
  });

  it('the invoice lists one applied tax per tax (Lago shape) with the base it applies to, 0 % taxes included', () => {
    const out = applyTaxes(
      [fee({ chargeId: 'c1', amountCents: 10000 }), fee({ chargeId: 'c2', amountCents: 5000 }), fee({ kind: 'subscription', chargeId: null, amountCents: 2000 })],
      ctx({ chargeTaxes: { c1: [VAT20], c2: [tax('zero', '0')] }, planTaxes: [VAT10] }),
    );
    expect(out.appliedTaxes.map((t) => [t.taxCode, t.amountCents, t.feesAmountCents])).toEqual([
      ['vat20', 2000, 10000],
      ['zero', 0, 5000],
      ['vat10', 200, 2000],
    ]);
    expect(out.taxesAmountCents).toBe(2200);
    // pro-rated invoice rate: 20 × 10000/17000 + 10 × 2000/17000 = 12.94118 (5 decimals)
    expect(out.taxesRate).toBe('12.94118');
  });

  it('taxes apply to the amount after coupons (preTaxAmountCents), not the fee amount', () => {
    const out = applyTaxes([fee({ amountCents: 10000, preTaxAmountCents: '9500' })], ctx({ chargeTaxes: { c1: [VAT10] } }));
    expect(out.fees[0]!.taxes.taxesAmountCents).toBe(950);
    expect(out.fees[0]!.taxes.subTotalExcludingTaxesPreciseAmountCents).toBe('9500');
  });

  it('refuses a negative rate', () => {
    expect(() => applyTaxes([fee()], ctx({ chargeTaxes: { c1: [tax('neg', '-1')] } }))).toThrow(/negative rate/);
  });
});

describe('tax properties', () => {
  const rate = fc.constantFrom('0', '5', '7.7', '10', '19', '20', '21', '24', '25.5', '27');
  const feeArb = fc.record({
    amountCents: fc.integer({ min: -1_000_000, max: 10_000_000 }),
    couponTenths: fc.integer({ min: 0, max: 10_000 }),
    charge: fc.constantFrom('c1', 'c2', 'c3'),
  });
  const taxesArb = fc.record({ c1: fc.array(rate, { minLength: 0, maxLength: 3 }), c2: fc.array(rate, { minLength: 1, maxLength: 2 }), plan: rate });

  function build(fs: { amountCents: number; couponTenths: number; charge: string }[], t: { c1: string[]; c2: string[]; plan: string }) {
    const fees = fs.map((f) => fee({ chargeId: f.charge, amountCents: f.amountCents, preTaxAmountCents: String(f.amountCents - f.couponTenths / 10) }));
    const assignments: TaxAssignments = {
      chargeTaxes: { c1: t.c1.map((r, i) => tax(`a${i}_${r}`, r)), c2: t.c2.map((r, i) => tax(`b${i}_${r}`, r)) },
      planTaxes: [tax(`p_${t.plan}`, t.plan)],
    };
    return applyTaxes(fees, { currency: 'EUR', assignments });
  }

  it('the invoice tax differs from the sum of fee taxes by less than half a cent per fee (plus one)', () => {
    fc.assert(
      fc.property(fc.array(feeArb, { minLength: 1, maxLength: 12 }), taxesArb, (fs, t) => {
        const out = build(fs, t);
        const sumFees = out.fees.reduce((a, f) => a + f.taxes.taxesAmountCents, 0);
        expect(Math.abs(out.taxesAmountCents - sumFees)).toBeLessThanOrEqual(Math.ceil(fs.length / 2) + 1);
      }),
    );
  });

  it('the invoice tax equals the sum of its applied taxes within half a cent per tax (each rounded once from the same sums)', () => {
    fc.assert(
      fc.property(fc.array(feeArb, { minLength: 1, maxLength: 12 }), taxesArb, (fs, t) => {
        const out = build(fs, t);
        const sumApplied = out.appliedTaxes.reduce((a, x) => a + x.amountCents, 0);
        expect(Math.abs(out.taxesAmountCents - sumApplied)).toBeLessThanOrEqual(Math.ceil(out.appliedTaxes.length / 2));
      }),
    );
  });

  it('each applied tax amount is its precise amount rounded half-up (within 0.5 cent, ties away from zero)', () => {
    fc.assert(
      fc.property(fc.array(feeArb, { minLength: 1, maxLength: 8 }), taxesArb, (fs, t) => {
        const out = build(fs, t);
        for (const f of out.fees) {
          for (const a of f.taxes.appliedTaxes) {
            expect(new D(a.amountCents).minus(a.preciseAmountCents).abs().lte('0.5')).toBe(true);
          }
        }
      }),
    );
  });

  it('taxing fees one invoice at a time or all together gives the same fee taxes (a fee’s tax depends only on itself)', () => {
    fc.assert(
      fc.property(fc.array(feeArb, { minLength: 2, maxLength: 8 }), taxesArb, (fs, t) => {
        const whole = build(fs, t).fees.map((f) => f.taxes.taxesAmountCents);
        const pieces = fs.map((f) => build([f], t).fees[0]!.taxes.taxesAmountCents);
        expect(whole).toEqual(pieces);
      }),
    );
  });

  it('tax is monotonic in the base: a larger base never gets less tax at the same rates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 1000 }), rate, (a, extra, r) => {
        const t = { c1: [r], c2: ['0'], plan: '0' };
        const lo = build([{ amountCents: a, couponTenths: 0, charge: 'c1' }], t).taxesAmountCents;
        const hi = build([{ amountCents: a + extra, couponTenths: 0, charge: 'c1' }], t).taxesAmountCents;
        expect(hi).toBeGreaterThanOrEqual(lo);
      }),
    );
  });
});
