import { BillingError } from '../../billing/errors';
import { computeCreditNote, consumeCreditNotes, splitCreditNote, type CreditableFee, type CreditableInvoice } from '../../billing/credit-notes';

const tax = (code: string, rate: string) => ({ taxId: null, taxCode: code, taxName: code, taxRate: rate });

// lago-api spec/scenarios/credit_notes/credit_note_spec.rb "Allows creation of partial credit note": fees 17,900
// (10 %) and 39,900 (10 % + 10 %) with a 25,000 coupon on the second; invoice total 37,570, taxes 4,770; 1,200 paid.
const invoice: CreditableInvoice = { currency: 'EUR', totalAmountCents: 37570, taxesAmountCents: 4770, creditedTotalCents: 0, creditedTaxesCents: 0, refundableCents: 1200, dueCents: 36370 };
const fees: CreditableFee[] = [
  { feeId: 'f1', amountCents: 17900, preciseCouponsAmountCents: '0', taxes: [tax('org', '10')], creditedAmountCents: 0 },
  { feeId: 'f2', amountCents: 39900, preciseCouponsAmountCents: '25000', taxes: [tax('plan', '10'), tax('org', '10')], creditedAmountCents: 0 },
];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof BillingError ? `${e.code}@${e.field}` : String(e);
  }
  return undefined;
}

describe('credit notes: amounts (Lago credit_note_spec)', () => {
  it('estimates the whole invoice: taxes 4,770, sub-total 32,800, coupons adjustment 25,000, creditable 37,570, refundable 1,200', () => {
    const cn = computeCreditNote(invoice, fees, [{ feeId: 'f1', amountCents: 17900 }, { feeId: 'f2', amountCents: 39900 }]);
    expect([cn.taxesAmountCents, cn.subTotalExcludingTaxesAmountCents, cn.maxCreditableAmountCents, cn.maxRefundableAmountCents, cn.couponsAdjustmentAmountCents])
      .toEqual([4770, 32800, 37570, 1200, 25000]);
    expect(cn.taxesRate).toBe('14.54268');
  });

  it('estimates 26,260 of the coupon-discounted fee: coupons adjustment 16,454, sub-total 9,806, taxes 1,961 (20 %), total 11,767', () => {
    const cn = computeCreditNote(invoice, fees, [{ feeId: 'f2', amountCents: 26260 }]);
    expect([cn.couponsAdjustmentAmountCents, cn.subTotalExcludingTaxesAmountCents, cn.taxesAmountCents, cn.totalAmountCents]).toEqual([16454, 9806, 1961, 11767]);
    expect(cn.taxesRate).toBe('20');
  });

  it('two credit notes of half-cent taxes never give back more tax than the invoice charged (credit_note_spec rounding: 1,367 then 1,366)', () => {
    const inv: CreditableInvoice = { currency: 'EUR', totalAmountCents: 16399, taxesAmountCents: 2733, creditedTotalCents: 0, creditedTaxesCents: 0, refundableCents: 16399, dueCents: 0 };
    const fs: CreditableFee[] = ['a', 'b'].map((id) => ({ feeId: id, amountCents: 6833, preciseCouponsAmountCents: '0', taxes: [tax('vat', '20')], creditedAmountCents: 0 }));
    const first = computeCreditNote(inv, fs, [{ feeId: 'a', amountCents: 6833 }]);
    expect([first.taxesAmountCents, first.totalAmountCents]).toEqual([1367, 8200]);
    const second = computeCreditNote({ ...inv, creditedTotalCents: 8200, creditedTaxesCents: 1367 }, fs.map((f) => (f.feeId === 'a' ? { ...f, creditedAmountCents: 6833 } : f)), [{ feeId: 'b', amountCents: 6833 }]);
    expect([second.taxesAmountCents, second.totalAmountCents]).toEqual([1366, 8199]);
    expect(first.totalAmountCents + second.totalAmountCents).toBe(inv.totalAmountCents);
  });
});

describe('credit notes: bad input', () => {
  it('refuses an item above what the fee has left, an unknown fee, a repeated fee and an empty list', () => {
    expect(codeOf(() => computeCreditNote(invoice, fees, [{ feeId: 'f1', amountCents: 17901 }]))).toBe('credit_note_amount_exceeds_creditable@items[0].amount_cents');
    expect(codeOf(() => computeCreditNote(invoice, [{ ...fees[0]!, creditedAmountCents: 17000 }], [{ feeId: 'f1', amountCents: 901 }]))).toBe('credit_note_amount_exceeds_creditable@items[0].amount_cents');
    expect(codeOf(() => computeCreditNote(invoice, fees, [{ feeId: 'nope', amountCents: 1 }]))).toBe('fee_not_found@items[0].fee_id');
    expect(codeOf(() => computeCreditNote(invoice, fees, [{ feeId: 'f1', amountCents: 1 }, { feeId: 'f1', amountCents: 1 }]))).toBe('invalid_credit_note@items[1].fee_id');
    expect(codeOf(() => computeCreditNote(invoice, fees, []))).toBe('invalid_credit_note@items');
    expect(codeOf(() => computeCreditNote(invoice, fees, [{ feeId: 'f1', amountCents: 0 }]))).toBe('invalid_amount@items[0].amount_cents');
  });

  it('refuses a total above what the invoice has left to credit', () => {
    expect(codeOf(() => computeCreditNote({ ...invoice, creditedTotalCents: 30000 }, fees, [{ feeId: 'f1', amountCents: 17900 }]))).toBe('credit_note_amount_exceeds_creditable@items');
  });

  it('credit + refund + offset must equal the total; refund ≤ paid, offset ≤ due; none given → all credited', () => {
    const cn = computeCreditNote(invoice, fees, [{ feeId: 'f1', amountCents: 1000 }]); // 1,000 + 100 tax
    expect(cn.totalAmountCents).toBe(1100);
    expect(splitCreditNote(cn, {})).toEqual({ creditAmountCents: 1100, refundAmountCents: 0, offsetAmountCents: 0 });
    expect(splitCreditNote(cn, { refundAmountCents: 1000, offsetAmountCents: 100 })).toEqual({ creditAmountCents: 0, refundAmountCents: 1000, offsetAmountCents: 100 });
    expect(codeOf(() => splitCreditNote(cn, { creditAmountCents: 1000 }))).toBe('credit_note_amounts_do_not_balance@credit_amount_cents');
    expect(codeOf(() => splitCreditNote({ ...cn, maxRefundableAmountCents: 500 }, { refundAmountCents: 1100 }))).toBe('credit_note_amount_exceeds_creditable@refund_amount_cents');
    expect(codeOf(() => splitCreditNote({ ...cn, maxOffsettableAmountCents: 0 }, { offsetAmountCents: 1100 }))).toBe('credit_note_amount_exceeds_creditable@offset_amount_cents');
    expect(codeOf(() => splitCreditNote(cn, { creditAmountCents: 1200, refundAmountCents: -100 }))).toBe('invalid_amount@refund_amount_cents');
  });
});

describe('credit notes: balances consumed by later invoices', () => {
  it('oldest first, never more than the invoice, never more than a balance', () => {
    const notes = [
      { creditNoteId: 'new', balanceAmountCents: 500, createdAt: '2026-02-01T00:00:00Z' },
      { creditNoteId: 'old', balanceAmountCents: 300, createdAt: '2026-01-01T00:00:00Z' },
    ];
    expect(consumeCreditNotes(600, notes)).toEqual([{ creditNoteId: 'old', amountCents: 300 }, { creditNoteId: 'new', amountCents: 300 }]);
    expect(consumeCreditNotes(100, notes)).toEqual([{ creditNoteId: 'old', amountCents: 100 }]);
    expect(consumeCreditNotes(0, notes)).toEqual([]);
    expect(consumeCreditNotes(10_000, notes).reduce((a, c) => a + c.amountCents, 0)).toBe(800);
  });
});
