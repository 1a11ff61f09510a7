// Conformance: the unused part of a paid pay-in-advance fee (billing/advance-billing.ts), from Lago's published
// numbers (test/conformance/advance-fixtures/*.json, each citing its source).
import fs from 'node:fs';
import path from 'node:path';
import { terminationCreditCents, upgradeCreditCents } from '../../billing/advance-billing';

interface CreditFixture {
  name: string;
  source: string;
  mode: 'termination' | 'upgrade';
  timezone: string;
  fee: { amount_cents: number; currency: string; fee_period: { start: string; end: string }; already_credited_cents: number };
  terminated_at: string;
  expected_credit_cents: number;
}

const DIR = path.join(__dirname, 'advance-fixtures');
const fixtures: CreditFixture[] = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')));

test('there are credit fixtures, each citing its source', () => {
  expect(fixtures.length).toBeGreaterThanOrEqual(6);
  for (const f of fixtures) expect(f.source).toMatch(/lago-api/);
});

test.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, f) => {
  const fee = { amountCents: f.fee.amount_cents, currency: f.fee.currency, feePeriod: f.fee.fee_period, alreadyCreditedCents: f.fee.already_credited_cents };
  const credit = f.mode === 'upgrade' ? upgradeCreditCents(fee, f.terminated_at, f.timezone) : terminationCreditCents(fee, f.terminated_at, f.timezone);
  expect(credit.amountCents).toBe(f.expected_credit_cents);
});
