import fc from 'fast-check';
import { D } from '../../billing';
import { applyCoupons, appliedCouponUsage, orderCoupons, type ApplicableCoupon, type CouponableFee } from '../../billing/coupons';

const fixed = (id: string, amountCents: number, over: Partial<ApplicableCoupon> = {}): ApplicableCoupon => ({
  appliedCouponId: id, couponType: 'fixed_amount', amountCents, percentageRate: null, planCodes: [], metricCodes: [], createdAt: `2023-01-01T00:00:0${id.length}Z`, ...over,
});
const fee = (amountCents: number, metricCode: string | null, planCode: string | null = 'p1'): CouponableFee => ({ amountCents, metricCode, planCode });

describe('coupons: Lago order and pro-rata split', () => {
  // lago-api spec/scenarios/coupons_breakdown_spec.rb: 8 fees over two plans; coupon1 2,000 on bm1+bm2,
  // coupon2 1,000 on plan2, coupon3 500 on everything.
  const fees = [fee(1000, 'bm1'), fee(2000, 'bm2'), fee(3000, 'bm3'), fee(4000, 'bm4'), fee(1000, 'bm5', 'p2'), fee(2000, 'bm6', 'p2'), fee(3000, 'bm7', 'p2'), fee(4000, 'bm8', 'p2')];
  const coupons = [
    fixed('c3', 500, { createdAt: '2023-01-01T00:00:03Z' }),
    fixed('c2', 1000, { planCodes: ['p2'], createdAt: '2023-01-01T00:00:02Z' }),
    fixed('c1', 2000, { metricCodes: ['bm1', 'bm2'], createdAt: '2023-01-01T00:00:01Z' }),
  ];

  it('applies metric-limited, then plan-limited, then the other coupons, whatever the order given', () => {
    expect(orderCoupons(coupons).map((c) => c.appliedCouponId)).toEqual(['c1', 'c2', 'c3']);
  });

  it("matches coupons_breakdown: 3,500 of coupons, each fee's share within 0.00001 of Lago's", () => {
    const r = applyCoupons(fees, coupons);
    expect(r.couponsAmountCents).toBe(3500);
    const lago = ['676.47059', '1352.94117', '88.23529', '117.64706', '126.47059', '252.94118', '379.41176', '505.88235'];
    r.feeCoupons.forEach((c, i) => expect(new D(c).minus(lago[i]!).abs().lte('0.00001')).toBe(true));
  });

  it('the shares of each coupon sum exactly to its credit', () => {
    const r = applyCoupons(fees, coupons);
    expect(r.feeCoupons.reduce((a, c) => a.plus(c), new D(0)).toString()).toBe('3500');
  });

  it('a percentage coupon works on what the earlier coupons left, rounded half-up', () => {
    const r = applyCoupons([fee(1000, 'm'), fee(335, 'x')], [fixed('a', 100, { metricCodes: ['m'] }), { ...fixed('b', 0), couponType: 'percentage', amountCents: null, percentageRate: '10' }]);
    // 900 + 335 left = 1235 × 10 % = 123.5 → 124
    expect(r.credits).toEqual([{ appliedCouponId: 'a', amountCents: 100 }, { appliedCouponId: 'b', amountCents: 124 }]);
  });

  it('stops at zero: a coupon larger than the fees is capped, and the next one gives nothing (and is not consumed)', () => {
    const r = applyCoupons([fee(10000, 'm')], [fixed('a', 15000), fixed('bb', 500)]);
    expect(r.credits).toEqual([{ appliedCouponId: 'a', amountCents: 10000 }]);
    expect(r.feeCoupons).toEqual(['10000']);
  });

  it('a coupon limited to a plan or metric the invoice does not bill gives nothing', () => {
    expect(applyCoupons([fee(1000, 'm')], [fixed('a', 100, { planCodes: ['other'] }), fixed('bb', 100, { metricCodes: ['z'] })]).credits).toEqual([]);
  });

  it('property: credits never exceed the fees, shares sum to the credits, no fee goes negative', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 2_000_000 }).map((a) => ({ kind: 'f' as const, a })), fc.integer({ min: 0, max: 100 }).map((a) => ({ kind: 'p' as const, a }))), { maxLength: 5 }),
        (amounts, cs) => {
          const fs = amounts.map((a, i) => fee(a, `m${i % 3}`));
          const coupons = cs.map((c, i) => (c.kind === 'f' ? fixed(`c${i}`, c.a, i % 2 ? { metricCodes: ['m1'] } : {}) : { ...fixed(`c${i}`, 0), couponType: 'percentage' as const, amountCents: null, percentageRate: String(c.a) }));
          const r = applyCoupons(fs, coupons);
          const total = amounts.reduce((a, b) => a + b, 0);
          expect(r.couponsAmountCents).toBeLessThanOrEqual(total);
          expect(r.feeCoupons.reduce((a, c) => a.plus(c), new D(0)).toString()).toBe(String(r.couponsAmountCents));
          r.feeCoupons.forEach((c, i) => expect(new D(amounts[i]!).minus(c).isNegative()).toBe(false));
        },
      ),
    );
  });
});

describe('coupons: what remains after use', () => {
  it('a fixed once coupon carries its unused amount to later invoices and ends when used up', () => {
    const s = { couponType: 'fixed_amount' as const, frequency: 'once' as const, amountCents: 5000, frequencyDuration: null };
    expect(appliedCouponUsage(s, 1, 3000)).toEqual({ amountCentsRemaining: 2000, frequencyDurationRemaining: null, terminated: false });
    expect(appliedCouponUsage(s, 2, 5000).terminated).toBe(true);
  });
  it('a percentage once coupon ends after one invoice; recurring counts down; forever never ends', () => {
    expect(appliedCouponUsage({ couponType: 'percentage', frequency: 'once', amountCents: null, frequencyDuration: null }, 1, 10).terminated).toBe(true);
    expect(appliedCouponUsage({ couponType: 'percentage', frequency: 'recurring', amountCents: null, frequencyDuration: 3 }, 2, 10)).toEqual({ amountCentsRemaining: null, frequencyDurationRemaining: 1, terminated: false });
    expect(appliedCouponUsage({ couponType: 'percentage', frequency: 'recurring', amountCents: null, frequencyDuration: 3 }, 3, 10).terminated).toBe(true);
    expect(appliedCouponUsage({ couponType: 'fixed_amount', frequency: 'forever', amountCents: 10, frequencyDuration: null }, 99, 990).terminated).toBe(false);
  });
});
