// billing/invoice.ts adjustmentFees / withExtraFees: late usage of a finalized period as adjustment lines.
// The periods are rated with buildInvoice itself, so the lines compared are the real ones.
import fc from 'fast-check';
import { buildInvoice, type Fee, type InvoiceInput } from '../../billing';
import { adjustmentFees, withExtraFees, type AdjustedInvoice } from '../../billing/invoice';
import type { ChargeUsage, Plan } from '../../billing';
import { charge, metric, plan } from './helpers';

const OCT = { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' };
const ORIGINAL: AdjustedInvoice = { invoiceId: 'inv-oct', period: OCT, timezone: 'UTC' };

const tokens = charge('standard', { amount: '0.000002' }, { id: 'c-tokens', billableMetric: metric({ code: 'tokens', name: 'tokens', fieldName: 'tokens' }) });

function rate(p: Plan, usage: ChargeUsage[], over: Partial<InvoiceInput> = {}): Fee[] {
  return buildInvoice({
    plan: p, kind: 'subscription', currency: 'USD', timezone: 'UTC', period: OCT, fullPeriod: OCT,
    chargeSubscriptionFee: true, usage, ...over,
  }).fees;
}

const u = (chargeId: string, units: string, eventsCount: number): ChargeUsage => ({
  chargeId,
  buckets: [{ filterIndex: null, groupedBy: {}, units, eventsCount }],
});

describe('adjustmentFees', () => {
  const p = plan([tokens], { amountCents: 2000, name: 'Pro' });

  it('returns no line when the period re-rated now equals what was billed (no late events)', () => {
    const billed = rate(p, [u('c-tokens', '1000000', 3)]);
    expect(adjustmentFees(billed, rate(p, [u('c-tokens', '1000000', 3)]), ORIGINAL)).toEqual([]);
  });

  it('bills late tokens as one labelled line dated with the ORIGINAL period, for the difference in cents, units and events', () => {
    const billed = rate(p, [u('c-tokens', '1000000', 3)]); // 2.00 USD
    const rerated = rate(p, [u('c-tokens', '5000000', 4)]); // 10.00 USD
    const adj = adjustmentFees(billed, rerated, ORIGINAL);
    expect(adj).toHaveLength(1);
    expect(adj[0]).toMatchObject({
      kind: 'adjustment',
      chargeId: 'c-tokens',
      metricCode: 'tokens',
      displayName: 'Adjustment: tokens usage of 2026-10-01 – 2026-11-01 (late events)',
      units: '4000000',
      eventsCount: 1,
      amountCents: 800,
      preciseAmount: '8',
      unitAmount: '0.000002',
      currency: 'USD',
      fromDatetime: OCT.start,
      toDatetime: OCT.end,
      prorationRatio: null,
      adjusts: { invoiceId: 'inv-oct', period: OCT, feeKind: 'charge' },
    });
  });

  it('returns nothing once the adjustment itself has been billed (running the close again never doubles it)', () => {
    const billed = rate(p, [u('c-tokens', '1000000', 3)]);
    const rerated = rate(p, [u('c-tokens', '5000000', 4)]);
    const first = adjustmentFees(billed, rerated, ORIGINAL);
    expect(adjustmentFees([...billed, ...first], rerated, ORIGINAL)).toEqual([]);
  });

  it('ignores the subscription fee and a price edit alone (usage unchanged → no adjustment, prices are not retroactive)', () => {
    const billed = rate(p, [u('c-tokens', '1000000', 3)]);
    const repriced = plan([{ ...tokens, properties: { amount: '0.000004' } }], { amountCents: 9900, name: 'Pro' });
    expect(adjustmentFees(billed, rate(repriced, [u('c-tokens', '1000000', 3)]), ORIGINAL)).toEqual([]);
  });

  it('leaves alone a charge that is no longer in the plan (it cannot be re-rated)', () => {
    const gpu = charge('standard', { amount: '0.01' }, { id: 'c-gpu', billableMetric: metric({ code: 'gpu', name: 'gpu' }) });
    const billed = rate(plan([tokens, gpu]), [u('c-tokens', '10', 1), u('c-gpu', '100', 1)]);
    const rerated = rate(plan([tokens]), [u('c-tokens', '1000010', 2)]);
    const adj = adjustmentFees(billed, rerated, ORIGINAL);
    expect(adj.map((f) => f.chargeId)).toEqual(['c-tokens']);
    expect(adj[0]!.amountCents).toBe(200);
  });

  it('keeps a negative difference: late usage reaching a cheaper volume tier lowers the period (a credit line)', () => {
    const volume = charge('volume', {
      volume_ranges: [
        { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '0' },
        { from_value: 101, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
      ],
    }, { id: 'c-vol', billableMetric: metric({ code: 'calls', name: 'calls', aggregationType: 'count_agg', fieldName: null }) });
    const pv = plan([volume]);
    const billed = rate(pv, [u('c-vol', '100', 100)]); // 100 × 1 = 100.00
    const rerated = rate(pv, [u('c-vol', '120', 120)]); // 120 × 0.5 = 60.00
    const adj = adjustmentFees(billed, rerated, ORIGINAL);
    expect(adj).toHaveLength(1);
    expect(adj[0]).toMatchObject({ amountCents: -4000, units: '20', eventsCount: 20, preciseAmount: '-40' });
  });

  it('nets a charge minimum: late usage that fills the minimum moves cents from the true-up line to the usage line (total 0)', () => {
    const minimum = { ...tokens, minAmountCents: 1000 }; // 10.00 USD minimum
    const pm = plan([minimum]);
    const billed = rate(pm, [u('c-tokens', '1000000', 1)]); // 2.00 + 8.00 true-up
    const rerated = rate(pm, [u('c-tokens', '3000000', 2)]); // 6.00 + 4.00 true-up
    const adj = adjustmentFees(billed, rerated, ORIGINAL);
    expect(adj.map((f) => [f.adjusts!.feeKind, f.amountCents])).toEqual([['charge', 400], ['charge_minimum', -400]]);
    expect(adj[1]!.displayName).toBe('Adjustment: tokens - minimum spend true-up of 2026-10-01 – 2026-11-01 (late events)');
    expect(adj.reduce((a, f) => a + f.amountCents, 0)).toBe(0);
  });

  it('re-evaluates the minimum commitment when some usage changed', () => {
    const pc = plan([tokens], { minimumCommitmentAmountCents: 1500 });
    const billed = rate(pc, [u('c-tokens', '1000000', 1)], { chargeSubscriptionFee: false }); // 2.00 + 13.00 commitment
    const rerated = rate(pc, [u('c-tokens', '2000000', 2)], { chargeSubscriptionFee: false }); // 4.00 + 11.00
    const adj = adjustmentFees(billed, rerated, ORIGINAL);
    expect(adj.map((f) => [f.adjusts!.feeKind, f.amountCents, f.displayName])).toEqual([
      ['charge', 200, 'Adjustment: tokens usage of 2026-10-01 – 2026-11-01 (late events)'],
      ['minimum_commitment', -200, 'Adjustment: Minimum commitment true-up of 2026-10-01 – 2026-11-01 (late events)'],
    ]);
  });

  it('adjusts only the filter / group bucket whose usage changed', () => {
    const gpu = charge('standard', { amount: '0.01' }, {
      id: 'c-gpu',
      billableMetric: metric({ code: 'gpu', name: 'GPU seconds' }),
      filters: [{ invoiceDisplayName: 'H100 seconds', properties: { amount: '0.03' }, values: { gpu: ['h100'] } }],
    });
    const pg = plan([gpu]);
    const usage = (h100: string, rest: string): ChargeUsage[] => [{
      chargeId: 'c-gpu',
      buckets: [
        { filterIndex: 0, groupedBy: {}, units: h100, eventsCount: 1 },
        { filterIndex: null, groupedBy: {}, units: rest, eventsCount: 1 },
      ],
    }];
    const adj = adjustmentFees(rate(pg, usage('10', '100')), rate(pg, usage('110', '100')), ORIGINAL);
    // The h100 bucket changed (+100 s × 0.03 = 3.00); the other bucket has identical usage → no line.
    expect(adj).toHaveLength(1);
    expect(adj[0]).toMatchObject({ filterIndex: 0, filterValues: { gpu: ['h100'] }, amountCents: 300, eventsCount: 0, units: '100' });
    expect(adj[0]!.displayName).toBe('Adjustment: H100 seconds usage of 2026-10-01 – 2026-11-01 (late events)');
  });

  it("labels the period with the customer's local dates", () => {
    const tokyoOct = { start: '2026-09-30T15:00:00.000Z', end: '2026-10-31T15:00:00.000Z' };
    const adj = adjustmentFees(
      rate(p, [u('c-tokens', '0', 0)], { period: tokyoOct, fullPeriod: tokyoOct, timezone: 'Asia/Tokyo' }),
      rate(p, [u('c-tokens', '1000000', 1)], { period: tokyoOct, fullPeriod: tokyoOct, timezone: 'Asia/Tokyo' }),
      { invoiceId: 'inv', period: tokyoOct, timezone: 'Asia/Tokyo' },
    );
    expect(adj[0]!.displayName).toBe('Adjustment: tokens usage of 2026-10-01 – 2026-11-01 (late events)');
  });

  it('rejects a billed adjustment that belongs to another invoice', () => {
    const billed = rate(p, [u('c-tokens', '1', 1)]);
    const other = adjustmentFees(billed, rate(p, [u('c-tokens', '2', 2)]), { ...ORIGINAL, invoiceId: 'other' });
    expect(() => adjustmentFees([...billed, ...other], billed, ORIGINAL)).toThrow(/Adjustment for invoice other/);
  });

  it('property: what was billed plus the adjustments equals the period re-rated now, line by line, to the cent', () => {
    const graduated = charge('graduated', {
      graduated_ranges: [
        { from_value: 0, to_value: 1000, per_unit_amount: '0.013', flat_amount: '1' },
        { from_value: 1001, to_value: null, per_unit_amount: '0.0071', flat_amount: '0' },
      ],
    }, { id: 'c-g', minAmountCents: 700, billableMetric: metric({ code: 'g', name: 'g' }) });
    const pg = plan([graduated], { minimumCommitmentAmountCents: 2500 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (a, b, c) => {
        // Three successive re-ratings as late events keep arriving: each adjustment is billed before the next.
        const billed = rate(pg, [u('c-g', String(a), a)]);
        const second = rate(pg, [u('c-g', String(a + b), a + b)]);
        const adj1 = adjustmentFees(billed, second, ORIGINAL);
        const third = rate(pg, [u('c-g', String(a + b + c), a + b + c)]);
        const adj2 = adjustmentFees([...billed, ...adj1], third, ORIGINAL);
        const usageLines = (fees: Fee[]) => fees.filter((f) => f.kind !== 'subscription').reduce((s, f) => s + f.amountCents, 0);
        expect(usageLines(billed) + usageLines(adj1) + usageLines(adj2)).toBe(usageLines(third));
        if (b === 0) expect(adj1).toEqual([]);
        if (c === 0) expect(adj2).toEqual([]);
        expect(adjustmentFees([...billed, ...adj1, ...adj2], third, ORIGINAL)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('withExtraFees', () => {
  it('appends the lines and makes the totals the sums of all rounded lines', () => {
    const p = plan([tokens], { amountCents: 2000 });
    const draft = buildInvoice({
      plan: p, kind: 'subscription', currency: 'USD', timezone: 'UTC', period: OCT, fullPeriod: OCT, chargeSubscriptionFee: true,
      usage: [u('c-tokens', '1000000', 1)],
    });
    const adj = adjustmentFees(draft.fees, rate(p, [u('c-tokens', '3000000', 2)]), ORIGINAL);
    const merged = withExtraFees(draft, adj);
    expect(merged.fees).toHaveLength(draft.fees.length + 1);
    expect(merged.totalAmountCents).toBe(2200 + 400);
    expect(merged.feesAmountCents).toBe(merged.fees.reduce((a, f) => a + f.amountCents, 0));
    expect(withExtraFees(draft, [])).toBe(draft);
    expect(() => withExtraFees(draft, [{ ...adj[0]!, currency: 'EUR' }])).toThrow(/EUR/);
  });
});
