import fc from 'fast-check';
import { D } from '../../billing/money';
import { projectionMode, projectionRatio, projectUsage } from '../../billing/projection';

const START = '2026-06-01T00:00:00.000Z';
const END = '2026-07-01T00:00:00.000Z'; // 30 days

describe('projectionRatio: period length over elapsed time', () => {
  test.each([
    ['a third of the period elapsed → 3', '2026-06-11T00:00:00.000Z', '3'],
    ['half elapsed → 2', '2026-06-16T00:00:00.000Z', '2'],
    ['the whole period elapsed → 1', END, '1'],
    ['after the period end → 1 (nothing left to extrapolate)', '2026-07-05T00:00:00.000Z', '1'],
    ['nothing elapsed yet → 1 (nothing to extrapolate from)', START, '1'],
    ['before the period start → 1', '2026-05-20T00:00:00.000Z', '1'],
  ])('%s', (_name, now, expected) => {
    expect(projectionRatio(START, END, now).toString()).toBe(expected);
  });
});

describe('projectionMode: only additive, non-recurring usage grows with time', () => {
  test.each([
    ['count_agg', false, 'extrapolated'],
    ['sum_agg', false, 'extrapolated'],
    ['sum_agg', true, 'held'],
    ['max_agg', false, 'held'],
    ['latest_agg', false, 'held'],
    ['unique_count_agg', false, 'held'],
    ['weighted_sum_agg', false, 'held'],
  ] as const)('%s recurring=%s → %s', (agg, recurring, mode) => {
    expect(projectionMode(agg, recurring)).toBe(mode);
  });
});

describe('projectUsage', () => {
  test('extrapolated: 1,500 tokens and 300 cents after 10 of 30 days → 4,500 tokens and 900 cents', () => {
    expect(projectUsage('1500', 300, 'extrapolated', projectionRatio(START, END, '2026-06-11T00:00:00.000Z'))).toEqual({
      projectedUnits: '4500',
      projectedAmountCents: 900,
    });
  });

  test('P1: the projected amount is rounded half-up once to whole minor units (101 cents × 1.5 = 151.5 → 152)', () => {
    expect(projectUsage('101', 101, 'extrapolated', new D('1.5'))).toEqual({ projectedUnits: '151.5', projectedAmountCents: 152 });
    expect(projectUsage('1', 1, 'extrapolated', new D('1.49'))).toEqual({ projectedUnits: '1.49', projectedAmountCents: 1 });
  });

  test('held: a peak or a seat count is projected as it is now', () => {
    expect(projectUsage('12', 1200, 'held', new D(3))).toEqual({ projectedUnits: '12', projectedAmountCents: 1200 });
  });

  test('property: an extrapolation is never below the usage so far and equals it at the period end', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 30 * 86_400 }), (cents, elapsedS) => {
        const now = new Date(Date.parse(START) + elapsedS * 1000).toISOString();
        const p = projectUsage(String(cents), cents, 'extrapolated', projectionRatio(START, END, now));
        expect(p.projectedAmountCents).toBeGreaterThanOrEqual(cents);
        expect(Number.isSafeInteger(p.projectedAmountCents)).toBe(true);
        if (elapsedS === 30 * 86_400) expect(p.projectedAmountCents).toBe(cents);
      }),
    );
  });
});
