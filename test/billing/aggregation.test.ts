import { aggregateCharge, type AggregationType, type UsageEvent } from '../../billing';
import { charge, metric } from './helpers';

const period = { start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z' }; // 30 days
let n = 0;
const ev = (timestamp: string, properties: UsageEvent['properties']): UsageEvent => ({ transactionId: `t${++n}`, timestamp, properties });

const events = [
  ev('2026-03-31T23:59:59.999Z', { value: 1000, user: 'z' }), // before the period
  ev('2026-04-01T00:00:00.000Z', { value: 10, user: 'a' }),
  ev('2026-04-10T00:00:00.000Z', { value: '2.5', user: 'b' }),
  ev('2026-04-20T00:00:00.000Z', { value: 7, user: 'a' }),
  ev('2026-04-25T00:00:00.000Z', { user: 'c' }), // no value: counts as an event, not as a value
  ev('2026-05-01T00:00:00.000Z', { value: 1000, user: 'z' }), // end is exclusive
];

const agg = (aggregationType: AggregationType, fieldName: string | null, evs = events, recurring = false, carriedUnits?: string) =>
  aggregateCharge(charge('standard', { amount: '1' }, { billableMetric: metric({ aggregationType, fieldName, recurring }) }), evs, period, carriedUnits ? { carriedUnits } : undefined).buckets;

describe('aggregations over [start, end)', () => {
  it.each([
    ['count_agg', null, '4'],
    ['sum_agg', 'value', '19.5'],
    ['max_agg', 'value', '10'],
    ['unique_count_agg', 'user', '3'],
    ['latest_agg', 'value', '7'],
  ] as const)('%s -> %s', (type, field, units) => {
    const b = agg(type, field);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ filterIndex: null, groupedBy: {}, units, eventsCount: 4 });
  });

  it('weighted_sum_agg: 1000 GB from the 1st, +1000 at mid-month of a 30-day month -> 1500', () => {
    const b = agg('weighted_sum_agg', 'value', [ev('2026-04-01T00:00:00.000Z', { value: 1000 }), ev('2026-04-16T00:00:00.000Z', { value: 1000 })]);
    expect(b[0]!.units).toBe('1500');
  });
  it('weighted_sum_agg starts from the carried level of a recurring metric and decrements', () => {
    const b = agg('weighted_sum_agg', 'value', [ev('2026-04-11T00:00:00.000Z', { value: -30 })], true, '60');
    expect(b[0]!.units).toBe('40'); // 60 for 10 days, 30 for 20 days
  });
  it('recurring sum adds the carried units', () => {
    expect(agg('sum_agg', 'value', events, true, '100')[0]!.units).toBe('119.5');
  });
  it('no events -> one zero bucket', () => {
    expect(agg('sum_agg', 'value', [])).toEqual([{ filterIndex: null, groupedBy: {}, units: '0', eventsCount: 0 }]);
  });
  it.each([[true], ['abc'], ['1,5'], [Number.NaN]])('non-numeric value %p throws invalid_event_value (never 0)', (value) => {
    expect(() => agg('sum_agg', 'value', [ev('2026-04-02T00:00:00.000Z', { value: value as never })])).toThrow(
      expect.objectContaining({ code: 'invalid_event_value' }),
    );
  });
});

describe('filters and pricing groups', () => {
  const m = metric({ filters: [{ key: 'model', values: ['gpt-4o', 'mini'] }, { key: 'direction', values: ['in', 'out'] }] });
  const c = charge('standard', { amount: '1' }, {
    billableMetric: m,
    filters: [
      { invoiceDisplayName: null, properties: { amount: '2' }, values: { model: ['gpt-4o'] } },
      { invoiceDisplayName: null, properties: { amount: '3', pricing_group_keys: ['region'] }, values: { model: ['gpt-4o'], direction: ['out'] } },
    ],
  });
  const evs = [
    ev('2026-04-02T00:00:00.000Z', { value: 1, model: 'gpt-4o', direction: 'in' }),
    ev('2026-04-02T00:00:00.000Z', { value: 2, model: 'gpt-4o', direction: 'out', region: 'eu' }),
    ev('2026-04-02T00:00:00.000Z', { value: 4, model: 'gpt-4o', direction: 'out', region: 'us' }),
    ev('2026-04-02T00:00:00.000Z', { value: 8, model: 'gpt-4o', direction: 'out', region: 'eu' }),
    ev('2026-04-02T00:00:00.000Z', { value: 16, model: 'mini', direction: 'out' }),
  ];
  it('the most specific filter wins; unmatched events go to the null bucket; groups split a filter', () => {
    const b = aggregateCharge(c, evs, period).buckets;
    expect(b).toEqual([
      { filterIndex: 0, groupedBy: {}, units: '1', eventsCount: 1 },
      { filterIndex: 1, groupedBy: { region: 'eu' }, units: '10', eventsCount: 2 },
      { filterIndex: 1, groupedBy: { region: 'us' }, units: '4', eventsCount: 1 },
      { filterIndex: null, groupedBy: {}, units: '16', eventsCount: 1 },
    ]);
  });
  it('every filter slot gets a zero bucket when it has no events', () => {
    expect(aggregateCharge(c, [], period).buckets.map((b) => [b.filterIndex, b.units])).toEqual([[0, '0'], [1, '0'], [null, '0']]);
  });
  it('percentage charges carry per-event values in timestamp order', () => {
    const p = charge('percentage', { rate: '1' });
    const b = aggregateCharge(p, [ev('2026-04-03T00:00:00.000Z', { value: 3 }), ev('2026-04-02T00:00:00.000Z', { value: 5 })], period).buckets[0]!;
    expect(b.eventValues).toEqual([{ units: '5' }, { units: '3' }]);
  });
});
