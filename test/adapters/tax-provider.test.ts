import { ApplicationFailure } from '@temporalio/common';
import { applyProviderTaxes } from '../../billing/tax';
import { classifyTaxProviderError, TaxProviderError, type TaxProviderRequest } from '../../adapters/tax-provider/port';
import { FakeTaxEngine } from '../support/fake-tax-engine';

const request = (address: TaxProviderRequest['customer']['address']): TaxProviderRequest => ({
  idempotencyKey: 'invoice:inv-1:taxes',
  currency: 'USD',
  taxPointDate: '2026-12-01',
  customer: { externalId: 'acme', address },
  fees: [
    { itemKey: 'f1', itemCode: 'tokens', amountCents: 10000 },
    { itemKey: 'f2', itemCode: 'seats', amountCents: 333 },
  ],
});

describe('tax provider port (fake engine)', () => {
  it('the engine’s per-line taxes become applied taxes and invoice totals', async () => {
    const engine = new FakeTaxEngine();
    const answer = await engine.computeTaxes(request({ country: 'US', state: 'NY', zipcode: '10001' }));
    const out = applyProviderTaxes([{ kind: 'charge', chargeId: 'c1', amountCents: 10000 }, { kind: 'charge', chargeId: 'c2', amountCents: 333 }], answer, 'USD');
    // 10000 × 8.875 % = 887.5 → 888; 333 × 8.875 % = 29.55 → 30 (the engine rounds each line)
    expect(out.fees.map((f) => [f.taxes.source, f.taxes.taxesAmountCents])).toEqual([['provider', 888], ['provider', 30]]);
    expect(out.taxesAmountCents).toBe(918);
    expect(out.appliedTaxes).toEqual([expect.objectContaining({ taxCode: 'fake_us-ny', amountCents: 918, feesAmountCents: 10333 })]);
    expect(engine.calls).toEqual(['invoice:inv-1:taxes']);
  });

  it('refuses an answer that does not cover every fee', () => {
    expect(() => applyProviderTaxes([{ kind: 'charge', chargeId: 'c1', amountCents: 1 }], [], 'USD')).toThrow(/answered for 0 fees/);
  });

  it('a timeout and a 5xx are transient: rethrown for the retry policy', async () => {
    const engine = new FakeTaxEngine();
    engine.failNext.push('timeout', 'http_503');
    for (const code of ['tax_provider_timeout', 'tax_provider_unavailable']) {
      const err = await engine.computeTaxes(request({ country: 'DE' })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaxProviderError);
      expect(err).toMatchObject({ kind: 'transient', code });
      expect(classifyTaxProviderError(err)).toBe(err);
    }
    await expect(engine.computeTaxes(request({ country: 'DE' }))).resolves.toHaveLength(2);
  });

  it('an address the engine cannot place is permanent: a non-retryable failure typed with the code', async () => {
    const err = await new FakeTaxEngine().computeTaxes(request({ country: 'US', state: 'NY' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'permanent', code: 'tax_provider_invalid_address' });
    const failure = classifyTaxProviderError(err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'tax_provider_invalid_address', nonRetryable: true });
  });
});
