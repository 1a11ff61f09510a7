// Coupons, one-off invoices and credit notes through the real API over a real Postgres (issue 12b): the refusals
// (concurrent `once` coupon, foreign currency, above creditable, unknown fee, voided invoice) write nothing, and the
// cents balance (offset lowers the due amount; a credit-note balance is consumed by the next invoice).
import { creditUnusedFee } from '../../activities/credits';
import { recordCouponCredits } from '../../db/repositories/coupons';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_credits' });
  await h.request('POST', '/taxes', { tax: { name: 'VAT', code: 'vat', rate: '20' } });
  await h.request('POST', '/customers', { customer: { external_id: 'c1', currency: 'USD' } });
  await h.request('POST', '/add_ons', { add_on: { name: 'GPU-hour pack', code: 'gpu', amount_cents: 10_000, amount_currency: 'USD', tax_codes: ['vat'] } });
});
afterAll(async () => {
  await h?.stop();
});

async function rows(table: string): Promise<number> {
  const [{ n }] = await h.database.db(table).where({ organization_id: h.org.id }).count({ n: '*' });
  return Number(n);
}

async function oneOff(units = '1'): Promise<any> {
  const res = await h.request('POST', '/invoices', { invoice: { external_customer_id: 'c1', fees: [{ add_on_code: 'gpu', units }] } });
  expect(res.status).toBe(200);
  return res.body.invoice;
}

describe('coupons', () => {
  it('two concurrent applications of a once coupon: one wins, the other is a 409 coupon_already_applied', async () => {
    await h.request('POST', '/coupons', { coupon: { name: 'Once', code: 'once', coupon_type: 'fixed_amount', amount_cents: 1000, amount_currency: 'USD', frequency: 'once', expiration: 'no_expiration' } });
    const body = { applied_coupon: { external_customer_id: 'c1', coupon_code: 'once' } };
    const [a, b] = await Promise.all([h.request('POST', '/applied_coupons', body), h.request('POST', '/applied_coupons', body)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect([a, b].find((r) => r.status === 409)!.body.code).toBe('coupon_already_applied');
    expect(await h.database.db('applied_coupons').where({ organization_id: h.org.id, status: 'active' }).count({ n: '*' }).then(([r]) => Number(r!.n))).toBe(1);
  });

  it('a fixed coupon in another currency than the customer is refused with 422 currency_mismatch', async () => {
    await h.request('POST', '/coupons', { coupon: { name: 'Euro', code: 'eur', coupon_type: 'fixed_amount', amount_cents: 1000, amount_currency: 'EUR', frequency: 'forever', expiration: 'no_expiration' } });
    const res = await h.request('POST', '/applied_coupons', { applied_coupon: { external_customer_id: 'c1', coupon_code: 'eur' } });
    expect([res.status, res.body.error_details]).toEqual([422, { currency: ['currency_mismatch'] }]);
  });

  it('a recurring coupon without frequency_duration is a 422 naming the field', async () => {
    const res = await h.request('POST', '/coupons', { coupon: { name: 'R', code: 'r', coupon_type: 'percentage', percentage_rate: '5', frequency: 'recurring', expiration: 'no_expiration' } });
    expect([res.status, res.body.error_details]).toEqual([422, { frequency_duration: ['value_is_mandatory'] }]);
  });
});

describe('applied coupons list what they took (Lago AppliedCouponObjectExtended credits)', () => {
  it('GET /applied_coupons answers each finalized invoice a coupon reduced as a credit, and none before', async () => {
    await h.request('POST', '/customers', { customer: { external_id: 'cc', currency: 'USD' } });
    await h.request('POST', '/coupons', { coupon: { name: 'Fifty', code: 'fifty', coupon_type: 'fixed_amount', amount_cents: 5000, amount_currency: 'USD', frequency: 'forever', expiration: 'no_expiration' } });
    const applied = (await h.request('POST', '/applied_coupons', { applied_coupon: { external_customer_id: 'cc', coupon_code: 'fifty' } })).body.applied_coupon;
    const before = await h.request('GET', '/applied_coupons?external_customer_id=cc');
    expect(before.body.applied_coupons.map((a: any) => [a.lago_id, a.credits])).toEqual([[applied.lago_id, []]]);
    const inv = (await h.request('POST', '/invoices', { invoice: { external_customer_id: 'cc', fees: [{ add_on_code: 'gpu' }] } })).body.invoice;
    // As the finalization of an invoice the coupon reduced records it (db/repositories/coupons.ts recordCouponCredits).
    await h.database.db.transaction((trx) => recordCouponCredits(trx, h.org.id, inv.lago_id, [{ appliedCouponId: applied.lago_id, amountCents: 1200 }]));
    const after = (await h.request('GET', '/applied_coupons?external_customer_id=cc')).body.applied_coupons[0];
    expect(after.credits).toEqual([
      {
        lago_id: expect.any(String), amount_cents: 1200, amount_currency: 'USD', before_taxes: true,
        item: { lago_item_id: applied.lago_coupon_id, type: 'coupon', code: 'fifty', name: 'Fifty' },
        invoice: { lago_id: inv.lago_id, payment_status: 'pending' },
      },
    ]);
  });
});

describe('one-off invoices and credit notes', () => {
  it('sells a GPU-hour pack once: taxed at the add-on tax, finalized with a number, one_off', async () => {
    const inv = await oneOff('2.5');
    expect([inv.invoice_type, inv.status, inv.fees_amount_cents, inv.taxes_amount_cents, inv.total_amount_cents]).toEqual(['one_off', 'finalized', 25_000, 5_000, 30_000]);
    expect(inv.number).toMatch(/^[A-Z0-9]+-\d{6}-\d{6}$/);
    expect(inv.fees[0].item).toMatchObject({ type: 'add_on', code: 'gpu', item_type: 'AddOn' });
  });

  it('refuses a credit note above the creditable amount, an unknown fee and a voided invoice, writing nothing', async () => {
    const inv = await oneOff();
    const fee = inv.fees[0].lago_id;
    const before = [await rows('credit_notes'), await rows('credit_note_items'), await rows('payments')];
    const above = await h.request('POST', '/credit_notes', { credit_note: { invoice_id: inv.lago_id, items: [{ fee_id: fee, amount_cents: 10_001 }] } });
    expect([above.status, above.body.error_details]).toEqual([422, { 'items[0].amount_cents': ['credit_note_amount_exceeds_creditable'] }]);
    const unbalanced = await h.request('POST', '/credit_notes', { credit_note: { invoice_id: inv.lago_id, credit_amount_cents: 100, offset_amount_cents: 100, items: [{ fee_id: fee, amount_cents: 1000 }] } });
    expect([unbalanced.status, unbalanced.body.error_details]).toEqual([422, { credit_amount_cents: ['credit_note_amounts_do_not_balance'] }]);
    const unknown = await h.request('POST', '/credit_notes', { credit_note: { invoice_id: inv.lago_id, items: [{ fee_id: '00000000-0000-4000-8000-000000000000', amount_cents: 1 }] } });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'fee_not_found']);
    await h.database.db('invoices').where({ id: inv.lago_id }).update({ voided_at: new Date() });
    const voided = await h.request('POST', '/credit_notes', { credit_note: { invoice_id: inv.lago_id, items: [{ fee_id: fee, amount_cents: 1 }] } });
    expect([voided.status, voided.body.error_details]).toEqual([422, { invoice_id: ['invoice_not_creditable'] }]);
    expect([await rows('credit_notes'), await rows('credit_note_items'), await rows('payments')]).toEqual(before);
  });

  it('an offset lowers what is due; a credited balance is consumed by the next invoice, after its taxes; no cent appears or vanishes', async () => {
    const inv = await oneOff();
    const fee = inv.fees[0].lago_id;
    // 5,000 + 20 % = 6,000: 1,000 offset against the unpaid invoice, 5,000 credited to the customer's balance.
    const note = await h.request('POST', '/credit_notes', { credit_note: { invoice_id: inv.lago_id, reason: 'product_unsatisfactory', offset_amount_cents: 1000, credit_amount_cents: 5000, items: [{ fee_id: fee, amount_cents: 5000 }] } });
    expect(note.status).toBe(200);
    expect([note.body.credit_note.total_amount_cents, note.body.credit_note.taxes_amount_cents, note.body.credit_note.balance_amount_cents]).toEqual([6000, 1000, 5000]);
    const after = (await h.request('GET', `/invoices/${inv.lago_id}`)).body.invoice;
    expect(after.total_due_amount_cents).toBe(12_000 - 1000);
    // The rest of the fee can still be credited, but not one cent more (total 12,000 − 6,000 already).
    const est = await h.request('POST', '/credit_notes/estimate', { credit_note: { invoice_id: inv.lago_id, items: [{ fee_id: fee, amount_cents: 5000 }] } });
    expect(est.body.estimated_credit_note.max_creditable_amount_cents).toBe(6000);
    const next = await oneOff();
    expect([next.total_amount_cents, next.credit_notes_amount_cents, next.taxes_amount_cents]).toEqual([12_000 - 5000, 5000, 2000]);
    const consumed = (await h.request('GET', `/credit_notes/${note.body.credit_note.lago_id}`)).body.credit_note;
    expect([consumed.balance_amount_cents, consumed.credit_status]).toEqual([0, 'consumed']);
    const voidAgain = await h.request('PUT', `/credit_notes/${consumed.lago_id}/void`, {});
    expect(voidAgain.status).toBe(409);
  });

  it('credits the unused part of a fee once per fee, whatever the number of calls (order_change)', async () => {
    const inv = await oneOff();
    const input = { organizationId: h.org.id, invoiceId: inv.lago_id, feeId: inv.fees[0].lago_id, amountCents: 4000, reason: 'order_change' as const, issuingDate: '2026-12-01' };
    const [a, b] = [await creditUnusedFee(h.database.db, input), await creditUnusedFee(h.database.db, input)];
    expect(a!.id).toBe(b!.id);
    expect([a!.reason, a!.totalAmountCents, a!.creditAmountCents]).toEqual(['order_change', 4800, 4800]);
    expect(await h.database.db('credit_notes').where({ organization_id: h.org.id, invoice_id: inv.lago_id }).count({ n: '*' }).then(([r]) => Number(r!.n))).toBe(1);
  });
});
