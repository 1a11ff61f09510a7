// failed13: the production tax engine adapter (Lago's integration-aggregator protocol over HTTP) against the fake
// engine at the edge: what it sends, how it reads the engine's taxes, and how each failure is classified.
import { ApplicationFailure } from '@temporalio/common';
import { AggregatorHttpTaxProvider } from '../../adapters/tax-provider/aggregator-http';
import { classifyTaxProviderError, TaxProviderError, type TaxProviderRequest } from '../../adapters/tax-provider/port';
import { startFakeTaxEngineServer, type FakeTaxEngineServer } from '../support/fake-tax-engine';

let engine: FakeTaxEngineServer;
beforeAll(async () => { engine = await startFakeTaxEngineServer(); });
afterAll(async () => { await engine.close(); });

const request = (zipcode: string | null): TaxProviderRequest => ({
  idempotencyKey: 'invoice:inv-1:taxes',
  invoiceId: 'inv-1',
  currency: 'USD',
  taxPointDate: '2025-01-31',
  customer: { externalId: 'nyc', name: 'NYC Inc', address: { country: 'US', state: 'NY', zipcode }, taxIdentificationNumber: null },
  fees: [{ itemKey: 'fee_0', itemCode: 'subscription', amountCents: 1000 }, { itemKey: 'fee_1', itemCode: 'calls', amountCents: 333 }],
});
const adapter = (o: { apiKey?: string; timeoutMs?: number } = {}) => new AggregatorHttpTaxProvider({ provider: 'anrok', apiUrl: engine.url, apiKey: o.apiKey ?? engine.apiKey, timeoutMs: o.timeoutMs });

async function failure(p: Promise<unknown>): Promise<TaxProviderError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof TaxProviderError)) throw new Error(`expected a TaxProviderError, got ${String(err)}`);
  return err;
}

test('a placed address: Lago\'s Anrok payload with the idempotency key, the engine\'s per-fee taxes as percentages and integer cents', async () => {
  const taxes = await adapter().computeTaxes(request('10001'));
  // 1000 × 8.875 % = 88.75 → 89; 333 × 8.875 % = 29.55 → 30 (the engine rounds each line).
  expect(taxes).toEqual([
    { taxes: [{ code: 'sales_tax_us_ny', name: 'Sales tax US-NY', rate: '8.875', amountCents: 89 }] },
    { taxes: [{ code: 'sales_tax_us_ny', name: 'Sales tax US-NY', rate: '8.875', amountCents: 30 }] },
  ]);
  expect(engine.calls.at(-1)).toBe('invoice:inv-1:taxes');
  expect(engine.bodies.at(-1)).toEqual([expect.objectContaining({
    id: 'inv-1', currency: 'USD', issuing_date: '2025-01-31', tax_date: '2025-01-31',
    contact: expect.objectContaining({ external_id: 'nyc', country: 'US', state: 'NY', zip: '10001', taxable: false }),
    fees: [{ item_key: 'fee_0', item_id: 'fee_0', item_code: 'subscription', amount_cents: 1000 }, { item_key: 'fee_1', item_id: 'fee_1', item_code: 'calls', amount_cents: 333 }],
  })]);
});

test('an address the engine cannot place is permanent (non-retryable, its code kept for error_details)', async () => {
  const err = await failure(adapter().computeTaxes(request(null)));
  expect(err).toMatchObject({ kind: 'permanent', code: 'tax_provider_invalid_address', providerCode: 'customerAddressCouldNotResolve' });
  const classified = classifyTaxProviderError(err);
  expect(classified).toBeInstanceOf(ApplicationFailure);
  expect(classified).toMatchObject({ nonRetryable: true, type: 'tax_provider_invalid_address' });
});

test('a wrong API key (401) is permanent', async () => {
  expect(await failure(adapter({ apiKey: 'wrong' }).computeTaxes(request('10001')))).toMatchObject({ kind: 'permanent', code: 'tax_provider_rejected', providerCode: 'unauthorized' });
});

test.each([
  ['http_500', 'tax_provider_unavailable'],
  ['http_503', 'tax_provider_unavailable'],
  ['http_429', 'tax_provider_rate_limited'],
  ['api_limit', 'tax_provider_rate_limited'],
] as const)('%s is transient (%s): rethrown as is for the retry policy, and the next call succeeds', async (kind, code) => {
  engine.failNext.push(kind);
  const err = await failure(adapter().computeTaxes(request('10001')));
  expect(err).toMatchObject({ kind: 'transient', code });
  expect(classifyTaxProviderError(err)).toBe(err);
  expect(await adapter().computeTaxes(request('10001'))).toHaveLength(2);
});

test('an answer slower than the timeout is a transient tax_provider_timeout', async () => {
  engine.slowMs = 1_000;
  engine.failNext.push('slow');
  expect(await failure(adapter({ timeoutMs: 200 }).computeTaxes(request('10001')))).toMatchObject({ kind: 'transient', code: 'tax_provider_timeout' });
});

test('an engine that is not listening is transient', async () => {
  const down = new AggregatorHttpTaxProvider({ provider: 'anrok', apiUrl: 'http://127.0.0.1:9', apiKey: 'k', timeoutMs: 2_000 });
  expect(await failure(down.computeTaxes(request('10001')))).toMatchObject({ kind: 'transient' });
});
