// Pricing throughput: charge evaluations per second per charge model (median of 5 runs of 200k
// evaluations each) over synthetic buckets. Run with `npm run bench:pricing`.
import { performance } from 'node:perf_hooks';
import { rateBucket, type Charge, type ChargeModel, type ChargeProperties, type UsageBucket } from '../billing';

const EVALUATIONS = Number(process.env.BENCH_EVALUATIONS ?? 200_000);
const RUNS = 5;

const metric = { code: 'm', name: 'M', aggregationType: 'sum_agg' as const, fieldName: 'v', recurring: false, filters: [] };
const models: [ChargeModel, ChargeProperties][] = [
  ['standard', { amount: '0.000002' }],
  ['graduated', { graduated_ranges: [
    { from_value: 0, to_value: 1000, per_unit_amount: '0.01', flat_amount: '1' },
    { from_value: 1000, to_value: 100000, per_unit_amount: '0.005', flat_amount: '0' },
    { from_value: 100000, to_value: null, per_unit_amount: '0.001', flat_amount: '0' },
  ] }],
  ['volume', { volume_ranges: [
    { from_value: 0, to_value: 1000, per_unit_amount: '0.01', flat_amount: '1' },
    { from_value: 1001, to_value: 100000, per_unit_amount: '0.005', flat_amount: '0' },
    { from_value: 100001, to_value: null, per_unit_amount: '0.001', flat_amount: '0' },
  ] }],
  ['package', { amount: '5', package_size: 1000, free_units: 100 }],
  ['percentage', { rate: '2.9', free_units_per_total_aggregation: '100' }],
  ['graduated_percentage', { graduated_percentage_ranges: [
    { from_value: 0, to_value: 1000, rate: '3', flat_amount: '0' },
    { from_value: 1000, to_value: null, rate: '1.5', flat_amount: '0.5' },
  ] }],
  ['dynamic', {}],
];

// Deterministic synthetic units (LCG), decimal strings with up to 3 decimals.
function buckets(model: ChargeModel, count: number): UsageBucket[] {
  let x = 12345;
  const out: UsageBucket[] = [];
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const units = `${x % 500000}.${x % 1000}`;
    const b: UsageBucket = { filterIndex: null, groupedBy: {}, units, eventsCount: 1 + (x % 50) };
    if (model === 'dynamic') b.eventValues = [{ units, preciseTotalAmount: `${x % 1000}.${x % 97}` }];
    out.push(b);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const rows: string[][] = [];
for (const [model, properties] of models) {
  const charge: Charge = {
    id: model, billableMetric: metric, chargeModel: model, payInAdvance: false, invoiceable: true, prorated: false,
    minAmountCents: 0, invoiceDisplayName: null, properties, filters: [],
  };
  const data = buckets(model, 10_000);
  for (let i = 0; i < 20_000; i++) rateBucket(charge, properties, data[i % data.length]!, { currency: 'USD' }); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < EVALUATIONS; i++) rateBucket(charge, properties, data[i % data.length]!, { currency: 'USD' });
    rates.push(EVALUATIONS / ((performance.now() - t0) / 1000));
  }
  rows.push([model, String(EVALUATIONS), Math.floor(median(rates)).toLocaleString('en-US')]);
}

const header = ['model', 'evaluations/run', 'evals/s (median of 5)'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(`pricing engine throughput (node ${process.version})`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
