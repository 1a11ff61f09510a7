import fc from 'fast-check';
import { D } from '../../billing';
import type { Fee, InvoiceDraft } from '../../billing/invoice';
import { decideTax, taxInvoiceDraft, taxPointDate, type Tax } from '../../billing/tax';

const fee = (over: Partial<Fee>): Fee => ({
  kind: 'charge', chargeId: 'c1', metricCode: 'm', filterIndex: null, filterValues: null, groupedBy: {}, displayName: 'x', units: '1', eventsCount: 1,
  unitAmount: '0', preciseAmount: '0', amountCents: 0, currency: 'EUR', fromDatetime: '2025-06-01T00:00:00Z', toDatetime: '2025-07-01T00:00:00Z', prorationRatio: null, ...over,
});
const draftOf = (fees: Fee[]): InvoiceDraft => {
  const total = fees.reduce((a, f) => a + f.amountCents, 0);
  return { currency: 'EUR', fees, feesAmountCents: total, totalAmountCents: total };
};
const VAT: Tax = { id: 't1', code: 'vat', name: 'VAT', rate: '20', description: null };

describe('tax point date', () => {
  it.each([
    [{ start: '2025-06-01T00:00:00.000Z', end: '2025-07-01T00:00:00.000Z' }, 'UTC', '2025-06-30'],
    // Tallinn is UTC+3 in summer: the local June period ends at 2025-06-30T21:00Z; its last day is June 30
    [{ start: '2025-05-31T21:00:00.000Z', end: '2025-06-30T21:00:00.000Z' }, 'Europe/Tallinn', '2025-06-30'],
    // a period terminated mid-day: that day
    [{ start: '2025-07-01T00:00:00.000Z', end: '2025-07-15T12:00:00.000Z' }, 'UTC', '2025-07-15'],
  ])('%j in %s → %s', (period, tz, date) => {
    expect(taxPointDate(period, tz)).toBe(date);
  });

  it('June usage of an EE consumer is taxed at 22 %, July usage at 24 % (EE change on 2025-07-01)', () => {
    const june = decideTax({ sellerCountry: 'FR' }, { country: 'EE', customerType: 'individual', vatNumberStatus: 'absent' }, taxPointDate({ start: '2025-05-31T21:00:00.000Z', end: '2025-06-30T21:00:00.000Z' }, 'Europe/Tallinn'));
    const july = decideTax({ sellerCountry: 'FR' }, { country: 'EE', customerType: 'individual', vatNumberStatus: 'absent' }, taxPointDate({ start: '2025-06-30T21:00:00.000Z', end: '2025-07-31T21:00:00.000Z' }, 'Europe/Tallinn'));
    expect([june.tax.rate, july.tax.rate]).toEqual(['22', '24']);
  });
});

describe('taxInvoiceDraft (the pipeline step)', () => {
  it('adds the taxes to the total, keeps the fee amounts, and records the decision only when a rule applied', () => {
    const d = draftOf([fee({ kind: 'subscription', chargeId: null, amountCents: 1000 }), fee({ amountCents: 333 })]);
    const viaTax = taxInvoiceDraft(d, { assignments: { planTaxes: [VAT] }, decision: null });
    expect(viaTax).toMatchObject({ feesAmountCents: 1333, taxesAmountCents: 267, totalAmountCents: 1600, taxDecision: null }); // 266.6 → 267
    expect(viaTax.fees.map((f) => f.amountCents)).toEqual([1000, 333]);

    const decision = decideTax({ sellerCountry: 'FR' }, { country: 'DE', customerType: 'company', vatNumberStatus: 'valid' }, '2026-01-31');
    const ruled = taxInvoiceDraft(d, { assignments: {}, decision });
    expect(ruled).toMatchObject({ taxesAmountCents: 0, totalAmountCents: 1333, taxDecision: { rule: 'eu_reverse_charge' } });
    // plan taxes beat the rule: the decision is not recorded since no fee used it
    const planWins = taxInvoiceDraft(d, { assignments: { planTaxes: [VAT] }, decision });
    expect(planWins.taxDecision).toBeNull();
  });

  it('property: total = fees + taxes, and taxes = round(Σ fees × rate) for one tax on every fee', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -100_000, max: 10_000_000 }), { minLength: 1, maxLength: 10 }), fc.constantFrom('0', '5.5', '19', '20', '25.5'), (amounts, rate) => {
        const d = draftOf(amounts.map((a) => fee({ amountCents: a })));
        const out = taxInvoiceDraft(d, { assignments: { chargeTaxes: { c1: [{ ...VAT, rate }] } }, decision: null });
        expect(out.totalAmountCents).toBe(d.totalAmountCents + out.taxesAmountCents);
        const expected = new D(d.feesAmountCents).times(rate).div(100).toDecimalPlaces(0, D.ROUND_HALF_UP).toNumber();
        expect(out.taxesAmountCents).toBe(expected === 0 ? 0 : expected);
      }),
    );
  });
});
