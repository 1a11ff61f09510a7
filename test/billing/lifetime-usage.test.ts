import fc from 'fast-check';
import { thresholdCompletions } from '../../billing/lifetime-usage';

describe('thresholdCompletions: progress of the usage towards each usage threshold (lifetime_usage.usage_thresholds)', () => {
  test.each([
    ['below a fixed threshold: usage / amount', [{ amountCents: 1000, recurring: false }], 250, [], [{ amountCents: 1000, completionRatio: '0.25', reachedAt: null }]],
    ['above it: capped at 1, reached when a progressive invoice for that level was issued', [{ amountCents: 500, recurring: false }], 600, [{ levelCents: 500, at: '2026-06-10T00:00:00.000Z' }], [{ amountCents: 500, completionRatio: '1', reachedAt: '2026-06-10T00:00:00.000Z' }]],
    ['a higher level invoiced reaches the lower one too', [{ amountCents: 500, recurring: false }, { amountCents: 800, recurring: false }], 900, [{ levelCents: 800, at: '2026-06-12T00:00:00.000Z' }], [
      { amountCents: 500, completionRatio: '1', reachedAt: '2026-06-12T00:00:00.000Z' },
      { amountCents: 800, completionRatio: '1', reachedAt: '2026-06-12T00:00:00.000Z' },
    ]],
    ['a recurring threshold after the highest fixed one: its next repetition above the usage (500 + 1000 = 1500)', [{ amountCents: 500, recurring: false }, { amountCents: 1000, recurring: true }], 600, [], [
      { amountCents: 500, completionRatio: '1', reachedAt: null },
      { amountCents: 1500, completionRatio: '0.4', reachedAt: null },
    ]],
    ['a recurring threshold alone, usage exactly on a repetition: the next one (3 × 200)', [{ amountCents: 200, recurring: true }], 400, [], [{ amountCents: 600, completionRatio: '0.666667', reachedAt: null }]],
    ['ratios rounded half-up to 6 decimals (1/3 → 0.333333, 2/3 → 0.666667)', [{ amountCents: 3, recurring: false }], 1, [], [{ amountCents: 3, completionRatio: '0.333333', reachedAt: null }]],
    ['no usage: 0', [{ amountCents: 300, recurring: false }], 0, [], [{ amountCents: 300, completionRatio: '0', reachedAt: null }]],
  ])('%s', (_name, thresholds, usage, reached, expected) => {
    expect(thresholdCompletions(thresholds, usage, reached)).toEqual(expected);
  });

  it('every ratio lies in [0, 1] and a recurring entry is always above the usage (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 50_000_000 }), (fixed, step, usage) => {
        const out = thresholdCompletions([{ amountCents: fixed, recurring: false }, { amountCents: step, recurring: true }], usage, []);
        for (const t of out) expect(Number(t.completionRatio) >= 0 && Number(t.completionRatio) <= 1).toBe(true);
        expect(out[1]!.amountCents).toBeGreaterThan(usage);
        expect(out[1]!.amountCents - fixed).toBeGreaterThan(0);
        expect((out[1]!.amountCents - fixed) % step).toBe(0);
      }),
    );
  });
});
