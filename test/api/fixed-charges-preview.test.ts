// POST /invoices/preview with a stored plan that has fixed charges (fixed11, issue 11), over real Postgres and the
// real Express app: the fixed charges are on the preview (every one over the period, the advance one included:
// the period's whole cost) and count toward the plan's minimum commitment (Lago). Writes nothing.
import crypto from 'node:crypto';
import { startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ prefix: 'api_fc_preview' });
});
afterAll(async () => {
  await h?.stop();
});

const MARCH = { from_datetime: '2026-03-01T00:00:00Z', to_datetime: '2026-04-01T00:00:00Z' };

async function seedPlan(minimumCommitmentCents: number | null) {
  const s = crypto.randomBytes(3).toString('hex');
  for (const code of [`seat_${s}`, `support_${s}`]) {
    const a = await h.request('POST', '/add_ons', { add_on: { name: `Add-on ${code}`, code, amount_cents: 0, amount_currency: 'USD' } });
    if (a.status !== 200) throw new Error(`add-on: ${JSON.stringify(a.body)}`);
  }
  const planCode = `fcp_${s}`;
  const plan = await h.request('POST', '/plans', {
    plan: {
      name: 'Seats', code: planCode, interval: 'monthly', amount_cents: 2000, amount_currency: 'USD', pay_in_advance: false, charges: [],
      ...(minimumCommitmentCents !== null ? { minimum_commitment: { amount_cents: minimumCommitmentCents } } : {}),
      fixed_charges: [
        { add_on_code: `seat_${s}`, code: `seats_${s}`, charge_model: 'standard', units: 3, properties: { amount: '10' } },
        { add_on_code: `support_${s}`, code: `support_${s}`, charge_model: 'standard', pay_in_advance: true, units: 1, properties: { amount: '25' } },
      ],
    },
  });
  if (plan.status !== 200) throw new Error(`plan: ${JSON.stringify(plan.body)}`);
  return { planCode, seats: `seats_${s}`, support: `support_${s}` };
}

test('a stored plan\'s fixed charges are on the preview: 3 seats × 10.00 and the advance support 25.00 over the period, with the plan fee', async () => {
  const p = await seedPlan(null);
  const before = Number(((await h.database.db('fees').count<{ n: string }[]>({ n: '*' })) as { n: string }[])[0]!.n);
  const res = await h.request('POST', '/invoices/preview', { plan_code: p.planCode, period: MARCH });
  expect(res.status).toBe(200);
  const lines = res.body.invoice.fees.map((f: any) => [f.item.type, f.item.code, f.amount_cents, f.from_date.slice(0, 10)]);
  expect(lines).toEqual([
    ['subscription', p.planCode, 2000, '2026-03-01'],
    ['fixed_charge', p.seats, 3000, '2026-03-01'],
    ['fixed_charge', p.support, 2500, '2026-03-01'],
  ]);
  expect(res.body.invoice.total_amount_cents).toBe(7500);
  const after = Number(((await h.database.db('fees').count<{ n: string }[]>({ n: '*' })) as { n: string }[])[0]!.n);
  expect(after).toBe(before);
});

test('the minimum commitment counts the fixed-charge fees: 100.00 committed vs 20 + 30 + 25 → a 25.00 true-up, none at 75.00', async () => {
  const p = await seedPlan(10000);
  const res = await h.request('POST', '/invoices/preview', { plan_code: p.planCode, period: MARCH });
  expect(res.status).toBe(200);
  const commitment = res.body.invoice.fees.filter((f: any) => f.item.type === 'commitment' || f.item.type === 'minimum_commitment');
  expect(commitment.map((f: any) => f.amount_cents)).toEqual([2500]);
  expect(res.body.invoice.total_amount_cents).toBe(10000);

  const q = await seedPlan(7500);
  const res2 = await h.request('POST', '/invoices/preview', { plan_code: q.planCode, period: MARCH });
  expect(res2.body.invoice.fees.map((f: any) => f.item.type)).toEqual(['subscription', 'fixed_charge', 'fixed_charge']);
  expect(res2.body.invoice.total_amount_cents).toBe(7500);
});
