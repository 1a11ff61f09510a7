// A fake external tax engine behind the TaxProvider port, behaving like Anrok/Avalara-style engines: it taxes each
// line from the customer's address (a per-jurisdiction table), rounds each line half-up itself, and fails like one:
// a timeout or a 5xx is transient, an address it cannot place is permanent. It records the idempotency keys.
import { D } from '../../billing';
import type { ProviderFeeTaxes } from '../../billing/tax';
import { TaxProviderError, type TaxProvider, type TaxProviderRequest } from '../../adapters/tax-provider/port';

export class FakeTaxEngine implements TaxProvider {
  readonly name = 'fake-engine';
  /** Jurisdiction (`US-NY`, `DE`) → rate percentage. */
  readonly rates = new Map<string, string>([['US-NY', '8.875'], ['US-CA', '7.25'], ['DE', '19']]);
  /** Failures to play before answering, in order. */
  readonly failNext: ('timeout' | 'http_500' | 'http_503')[] = [];
  readonly calls: string[] = [];

  async computeTaxes(req: TaxProviderRequest): Promise<ProviderFeeTaxes[]> {
    this.calls.push(req.idempotencyKey);
    const failure = this.failNext.shift();
    if (failure === 'timeout') throw new TaxProviderError('transient', 'tax_provider_timeout', 'fake-engine: request timed out');
    if (failure) throw new TaxProviderError('transient', 'tax_provider_unavailable', `fake-engine: ${failure.replace('http_', 'HTTP ')}`);
    const a = req.customer.address;
    const jurisdiction = a.country === 'US' ? `US-${a.state ?? ''}` : a.country;
    const rate = this.rates.get(jurisdiction);
    if (rate === undefined || (a.country === 'US' && !a.zipcode)) {
      throw new TaxProviderError('permanent', 'tax_provider_invalid_address', `fake-engine: cannot place address in ${jurisdiction}`);
    }
    return req.fees.map((f) => ({
      taxes: [
        {
          code: `fake_${jurisdiction.toLowerCase()}`,
          name: `Tax ${jurisdiction}`,
          rate,
          // the engine's own rounding, per line, half-up to the minor unit
          amountCents: new D(f.amountCents).times(rate).div(100).toDecimalPlaces(0, D.ROUND_HALF_UP).toNumber(),
        },
      ],
    }));
  }
}
