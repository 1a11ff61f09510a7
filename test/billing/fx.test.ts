import fc from 'fast-check';
import {
  convertInvoice,
  convertLines,
  convertToMinorUnits,
  crossRate,
  rateForDate,
  resolveRate,
  type EurRate,
  type FxRate,
} from '../../billing/fx';
import type { Fee, InvoiceDraft } from '../../billing/invoice';
import { D } from '../../billing/money';

// ECB reference rates of two consecutive publication days (figures in the shape the ECB publishes).
const published: EurRate[] = [
  { currency: 'USD', date: '2026-11-26', rate: '1.0550' },
  { currency: 'JPY', date: '2026-11-26', rate: '161.20' },
  { currency: 'GBP', date: '2026-11-26', rate: '0.83150' },
  { currency: 'USD', date: '2026-11-27', rate: '1.0562' },
  { currency: 'JPY', date: '2026-11-27', rate: '161.45' },
  { currency: 'GBP', date: '2026-11-27', rate: '0.83210' },
];

function rate(from: string, to: string, r: string): FxRate {
  return { baseCurrency: from, quoteCurrency: to, rate: r, date: '2026-11-27', source: 'ecb' };
}

function fee(preciseAmount: string, amountCents: number, currency = 'USD'): Fee {
  return {
    kind: 'charge', chargeId: 'c1', metricCode: 'tokens', filterIndex: null, filterValues: null, groupedBy: {}, displayName: 'Tokens',
    units: '1', eventsCount: 1, unitAmount: preciseAmount, preciseAmount, amountCents, currency,
    fromDatetime: '2026-11-01T00:00:00.000Z', toDatetime: '2026-12-01T00:00:00.000Z', prorationRatio: null,
  };
}

describe('rateForDate: the latest ECB rate published on or before D', () => {
  it.each([
    ['EUR', 'USD', '2026-11-27', '1.0562', '2026-11-27'],
    ['EUR', 'USD', '2026-11-26', '1.055', '2026-11-26'],
    // Saturday 28 and Sunday 29: Friday's rate.
    ['EUR', 'USD', '2026-11-29', '1.0562', '2026-11-27'],
    // USD → EUR = 1 / 1.0562 at 12 significant digits (FX1).
    ['USD', 'EUR', '2026-11-27', '0.94679038061', '2026-11-27'],
    // Cross through EUR: 161.45 / 1.0562.
    ['USD', 'JPY', '2026-11-27', '152.859306949', '2026-11-27'],
    ['GBP', 'USD', '2026-11-27', '1.26931859152', '2026-11-27'],
  ])('%s→%s on %s is %s (published %s)', (from, to, date, expected, publishedOn) => {
    const r = rateForDate(published, from, to, date);
    expect(r).toEqual({ ok: true, rate: { baseCurrency: from, quoteCurrency: to, rate: expected, date: publishedOn, source: 'ecb' } });
  });

  it('the same currency is the identity rate 1', () => {
    expect(rateForDate(published, 'JPY', 'JPY', '2026-11-27')).toEqual({
      ok: true, rate: { baseCurrency: 'JPY', quoteCurrency: 'JPY', rate: '1', date: '2026-11-27', source: 'identity' },
    });
  });

  it('before the first publication there is no rate (fx_rate_missing), never a later one', () => {
    expect(rateForDate(published, 'EUR', 'USD', '2026-11-25')).toMatchObject({ ok: false, code: 'fx_rate_missing', latestDate: null });
  });

  it('a currency the ECB does not publish has no rate', () => {
    expect(rateForDate(published, 'EUR', 'KWD', '2026-11-27')).toMatchObject({ ok: false, code: 'fx_rate_missing' });
  });

  it('a rate more than 7 days before D is stale: no rate (day 7 still usable, day 8 not)', () => {
    expect(rateForDate(published, 'EUR', 'USD', '2026-12-04')).toMatchObject({ ok: true, rate: { date: '2026-11-27' } });
    expect(rateForDate(published, 'EUR', 'USD', '2026-12-05')).toMatchObject({ ok: false, code: 'fx_rate_stale', latestDate: '2026-11-27' });
  });

  it('both legs come from one publication date: a leg missing on the latest day falls back to a day with both', () => {
    const partial = [...published, { currency: 'USD', date: '2026-11-30', rate: '1.0600' }];
    // JPY has no 2026-11-30 figure: USD/JPY is the 27th's cross, not a mix of two days.
    expect(rateForDate(partial, 'USD', 'JPY', '2026-11-30')).toMatchObject({ ok: true, rate: { rate: '152.859306949', date: '2026-11-27' } });
  });

  it('unknown currencies and malformed dates are refused with codes', () => {
    expect(() => rateForDate(published, 'EUR', 'XYZ', '2026-11-27')).toThrow(expect.objectContaining({ code: 'unsupported_currency' }));
    expect(() => rateForDate(published, 'EUR', 'USD', '2026-02-30')).toThrow(expect.objectContaining({ code: 'invalid_date' }));
  });
});

describe('resolveRate: ECB first, the manual table as the fallback', () => {
  const manual = [{ baseCurrency: 'USD', quoteCurrency: 'KWD', date: '2026-11-20', rate: '0.3071' }];
  it('a pair the ECB lacks uses the operator-entered rate (source manual)', () => {
    expect(resolveRate(published, manual, 'USD', 'KWD', '2026-11-27')).toEqual({
      ok: true, rate: { baseCurrency: 'USD', quoteCurrency: 'KWD', rate: '0.3071', date: '2026-11-20', source: 'manual' },
    });
  });
  it('an ECB rate wins over a manual one', () => {
    const m = [{ baseCurrency: 'EUR', quoteCurrency: 'USD', date: '2026-11-27', rate: '2' }];
    expect(resolveRate(published, m, 'EUR', 'USD', '2026-11-27')).toMatchObject({ ok: true, rate: { source: 'ecb', rate: '1.0562' } });
  });
  it('no ECB and no manual rate: the ECB failure is reported', () => {
    expect(resolveRate(published, [], 'USD', 'KWD', '2026-11-27')).toMatchObject({ ok: false, code: 'fx_rate_missing' });
  });
});

describe('conversion per line: rounded once, half-up, to the invoice currency (FX2)', () => {
  it.each([
    // precise price-currency amount, rate, invoice currency, expected minor units
    ['100', 'USD', 'EUR', '0.946790380610', 9468], // 94.679038061 → 94.68
    ['0.005', 'EUR', 'USD', '1', 1], // tie → away from zero
    ['20', 'USD', 'JPY', '152.859306949', 3057], // 3057.186 → 3057 yen (0 decimals)
    ['20.01', 'USD', 'JPY', '152.5', 3052], // 3051.525 → 3052
    ['10', 'USD', 'KWD', '0.3071', 3071], // 3.071 KWD (3 decimals)
    ['0.001', 'USD', 'KWD', '0.5', 1], // 0.0005 KWD → 0.001 (tie, half-up)
    ['-12.345', 'USD', 'EUR', '1', -1235], // a credit line rounds away from zero too
  ])('%s %s × %s → %s: %s', (precise, from, to, r, cents) => {
    expect(convertToMinorUnits(precise, rate(from, to, r))).toBe(cents);
  });

  it('converts the PRECISE amount, so the line is rounded once (not price-currency cents re-rounded)', () => {
    // 0.004 USD rounds to 0 US cents, but 0.004 × 152.5 = 0.61 JPY rounds to 1 yen.
    const [line] = convertLines([fee('0.004', 0)], rate('USD', 'JPY', '152.5'));
    expect(line).toMatchObject({ currency: 'JPY', amountCents: 1, preciseAmount: '0.61' });
  });

  it('unit price is converted unrounded', () => {
    const [line] = convertLines([fee('0.000002', 0)], rate('USD', 'EUR', '0.946790380610'));
    expect(line!.unitAmount).toBe('0.00000189358076122');
  });

  it('convertInvoice: totals are the sums of the converted rounded lines', () => {
    const draft: InvoiceDraft = { currency: 'USD', fees: [fee('0.335', 34), fee('0.335', 34), fee('0.335', 34)], feesAmountCents: 102, totalAmountCents: 102 };
    const out = convertInvoice(draft, rate('USD', 'EUR', '0.5'));
    // each 0.1675 → 17 cents; the sum is 51, not round(1.005 × 0.5) = 50.
    expect(out.fees.map((f) => f.amountCents)).toEqual([17, 17, 17]);
    expect(out).toMatchObject({ currency: 'EUR', feesAmountCents: 51, totalAmountCents: 51 });
  });

  it('refuses lines in another currency than the rate converts from', () => {
    expect(() => convertLines([fee('1', 100, 'GBP')], rate('USD', 'EUR', '1'))).toThrow(expect.objectContaining({ code: 'currency_mismatch' }));
  });

  it('refuses non-decimal, zero and negative rates', () => {
    for (const bad of ['0', '-1', '1e3', 'abc', '']) {
      expect(() => convertLines([fee('1', 100)], rate('USD', 'EUR', bad))).toThrow(expect.objectContaining({ code: 'invalid_fx_rate' }));
    }
  });
});

describe('FX properties', () => {
  const currencies = ['USD', 'EUR', 'JPY', 'KWD', 'GBP'];
  const decimal = (maxScale: number) =>
    fc.tuple(fc.bigInt({ min: -10_000_000n, max: 10_000_000n }), fc.integer({ min: 0, max: maxScale })).map(([n, s]) => new D(n.toString()).div(new D(10).pow(s)).toString());
  const positiveRate = fc.tuple(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 8 })).map(([n, s]) => new D(n).div(new D(10).pow(s)).toString());

  it('the converted total always equals the sum of the converted lines, and each line is within half a minor unit of exact', () => {
    fc.assert(
      fc.property(fc.array(decimal(6), { minLength: 0, maxLength: 12 }), positiveRate, fc.constantFrom(...currencies), (amounts, r, to) => {
        const fees = amounts.map((a) => fee(a, 0));
        const draft: InvoiceDraft = { currency: 'USD', fees, feesAmountCents: 0, totalAmountCents: 0 };
        const out = convertInvoice(draft, rate('USD', to, r));
        expect(out.totalAmountCents).toBe(out.fees.reduce((a, f) => a + f.amountCents, 0));
        const exp = to === 'JPY' ? 0 : to === 'KWD' ? 3 : 2;
        out.fees.forEach((f, i) => {
          const exact = new D(amounts[i]!).times(r).times(new D(10).pow(exp));
          expect(exact.minus(f.amountCents).abs().lte('0.5')).toBe(true);
        });
      }),
    );
  });

  it('a cross rate through EUR is the quotient of its legs to 12 significant digits, and inverts within that precision', () => {
    fc.assert(
      fc.property(positiveRate, positiveRate, (a, b) => {
        const ab = new D(crossRate(a, b));
        const exact = new D(b).div(a);
        expect(ab.minus(exact).abs().lte(exact.abs().times('1e-11'))).toBe(true);
        const ba = new D(crossRate(b, a));
        expect(ab.times(ba).minus(1).abs().lte('1e-10')).toBe(true);
      }),
    );
  });

  it('conversion is monotonic: a larger precise amount never converts to fewer minor units', () => {
    fc.assert(
      fc.property(decimal(6), decimal(6), positiveRate, fc.constantFrom(...currencies), (x, y, r, to) => {
        const [lo, hi] = new D(x).lte(y) ? [x, y] : [y, x];
        expect(convertToMinorUnits(lo, rate('USD', to, r))).toBeLessThanOrEqual(convertToMinorUnits(hi, rate('USD', to, r)));
      }),
    );
  });
});
