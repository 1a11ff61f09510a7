import fc from 'fast-check';
import {
  allocatePrepaidCredits,
  centsToCredits,
  creditsToCents,
  isDepletion,
  ongoingBalanceCents,
  parseCredits,
  parseRateAmount,
  thresholdReached,
  topUpCredits,
  type CreditableFee,
  type WalletForAllocation,
} from '../../billing/wallet';

const wallet = (id: string, balanceCents: number, priority = 50, extra: Partial<WalletForAllocation> = {}): WalletForAllocation => ({
  id, priority, createdAt: `2026-01-0${id.length}T00:00:00.000Z`, balanceCents, feeTypes: null, billableMetricCodes: null, ...extra,
});
const fee = (id: string, dueCents: number, walletFeeType: CreditableFee['walletFeeType'] = 'charge', metricCode: string | null = null): CreditableFee => ({ id, dueCents, walletFeeType, metricCode });

describe('W1/W2 credits ↔ cents', () => {
  it.each([
    ['10', '1', 'USD', 1000],
    ['10.5', '1.5', 'USD', 1575],
    ['1', '0.333', 'USD', 33], // 33.3 cents → 33 (half-up once)
    ['1', '0.335', 'USD', 34], // 33.5 → 34
    ['100', '1', 'JPY', 100],
    ['1', '1.2345', 'KWD', 1235], // 1234.5 fils → 1235
  ])('%s credits at rate %s %s → %i minor units (W1, half-up)', (credits, rate, cur, cents) => {
    expect(creditsToCents(credits, rate, cur)).toBe(cents);
  });
  it('W2 shows cents as credits with at most 5 decimals: 1000 cents at rate 3 → 3.33333 credits', () => {
    expect(centsToCredits(1000, '3', 'USD')).toBe('3.33333');
    expect(centsToCredits(1575, '1.5', 'USD')).toBe('10.5');
  });
  it('parseCredits refuses negatives, exponents and more than 5 decimals; rate_amount must be > 0', () => {
    expect(parseCredits('20.0', 'paid_credits')).toBe('20');
    expect(parseCredits(7, 'paid_credits')).toBe('7');
    for (const bad of ['-1', '1e3', '0.000001', 'abc', '', null]) expect(() => parseCredits(bad, 'paid_credits')).toThrow();
    expect(() => parseRateAmount('0')).toThrow();
    expect(() => parseRateAmount('-1')).toThrow();
    expect(parseRateAmount('1.50')).toBe('1.5');
  });
});

describe('W3 allocatePrepaidCredits (after taxes and credit notes)', () => {
  it('wallets pay by priority (1 first), each up to its balance, never more than the invoice owes', () => {
    const out = allocatePrepaidCredits(1000, [fee('f', 1000)], [wallet('low', 800, 50), wallet('hi', 300, 1)]);
    expect(out).toEqual([{ walletId: 'hi', amountCents: 300 }, { walletId: 'low', amountCents: 700 }]);
  });
  it('applies_to limits a wallet to fee types / metric codes, taxes of the fee included', () => {
    const fees = [fee('sub', 1200, 'subscription'), fee('gpu', 600, 'charge', 'gpu_seconds'), fee('tok', 400, 'charge', 'tokens')];
    const out = allocatePrepaidCredits(2200, fees, [
      wallet('gpu-only', 10_000, 1, { billableMetricCodes: ['gpu_seconds'] }),
      wallet('subs-only', 500, 2, { feeTypes: ['subscription'] }),
    ]);
    expect(out).toEqual([{ walletId: 'gpu-only', amountCents: 600 }, { walletId: 'subs-only', amountCents: 500 }]);
  });
  it('two restricted wallets never pay the same fee twice', () => {
    const fees = [fee('gpu', 600, 'charge', 'gpu')];
    const out = allocatePrepaidCredits(600, fees, [wallet('a', 400, 1, { feeTypes: ['charge'] }), wallet('b', 400, 2, { billableMetricCodes: ['gpu'] })]);
    expect(out).toEqual([{ walletId: 'a', amountCents: 400 }, { walletId: 'b', amountCents: 200 }]);
  });
  it('nothing is taken from an invoice that owes nothing', () => {
    expect(allocatePrepaidCredits(0, [fee('f', 0)], [wallet('a', 500)])).toEqual([]);
  });
  it('property: Σ allocations ≤ invoice due, each ≤ its balance and > 0; an unrestricted wallet pays min(balance, due)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 500_000 }), fc.constantFrom('charge', 'subscription', 'commitment') as fc.Arbitrary<CreditableFee['walletFeeType']>), { maxLength: 6 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 500_000 }), fc.integer({ min: 1, max: 50 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
        (due, feeSpec, walletSpec) => {
          const fees = feeSpec.map(([c, t], i) => fee(`f${i}`, c, t));
          const wallets = walletSpec.map(([b, p, restricted], i) => wallet(`w${'x'.repeat(i)}`, b, p, restricted ? { feeTypes: ['charge'] } : {}));
          const out = allocatePrepaidCredits(due, fees, wallets);
          const total = out.reduce((a, x) => a + x.amountCents, 0);
          expect(total).toBeLessThanOrEqual(due);
          for (const a of out) {
            expect(a.amountCents).toBeGreaterThan(0);
            expect(a.amountCents).toBeLessThanOrEqual(wallets.find((w) => w.id === a.walletId)!.balanceCents);
          }
          if (walletSpec.length === 1 && !walletSpec[0]![2]) expect(total).toBe(Math.min(due, walletSpec[0]![0]));
        },
      ),
    );
  });
});

describe('ongoing balance, depletion and recurring top-ups', () => {
  it('ongoing = balance − usage, can go below zero; a depletion is the crossing to ≤ 0 from above, once', () => {
    expect(ongoingBalanceCents(1000, 1200)).toBe(-200);
    expect(isDepletion(100, 0)).toBe(true);
    expect(isDepletion(0, -50)).toBe(false);
    expect(isDepletion(null, 0)).toBe(true);
    expect(isDepletion(50, 10)).toBe(false);
  });
  const base = { paidCredits: '0', grantedCredits: '0', targetOngoingBalance: null, thresholdCredits: '10', grantsTargetTopUp: false };
  it('fixed tops up its credits; target tops up the gap to the target (W4), paid unless grants_target_top_up', () => {
    expect(topUpCredits({ ...base, method: 'fixed', paidCredits: '20', grantedCredits: '5' }, '3')).toEqual({ paidCredits: '20', grantedCredits: '5' });
    expect(topUpCredits({ ...base, method: 'target', targetOngoingBalance: '200' }, '12.5')).toEqual({ paidCredits: '187.5', grantedCredits: '0' });
    expect(topUpCredits({ ...base, method: 'target', targetOngoingBalance: '200', grantsTargetTopUp: true }, '-30')).toEqual({ paidCredits: '0', grantedCredits: '230' });
    expect(topUpCredits({ ...base, method: 'target', targetOngoingBalance: '5' }, '12')).toEqual({ paidCredits: '0', grantedCredits: '0' });
  });
  it('a threshold rule fires at or below threshold_credits of the ongoing balance', () => {
    expect(thresholdReached({ ...base, method: 'fixed' }, '10')).toBe(true);
    expect(thresholdReached({ ...base, method: 'fixed' }, '10.00001')).toBe(false);
  });
});
