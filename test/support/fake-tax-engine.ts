// A fake external tax engine behind the TaxProvider port, behaving like Anrok/Avalara-style engines: it taxes each
// line from the customer's address (a per-jurisdiction table), rounds each line half-up itself, and fails like one:
// a timeout or a 5xx is transient, an address it cannot place is permanent. It records the idempotency keys.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { D } from '../../billing';
import type { ProviderFeeTaxes } from '../../billing/tax';
import { TaxProviderError, type TaxProvider, type TaxProviderRequest } from '../../adapters/tax-provider/port';
import { eventually } from '../e2e/harness';

/** The fake's one taxing rule (both transports): the jurisdiction of an address, its rate, and each line's tax (the
 * engine's own rounding: per line, half-up to the minor unit); null when it cannot place the address. */
function placeAndTax(rates: Map<string, string>, address: { country: string; state?: string | null; zip?: string | null }): { jurisdiction: string; rate: string; taxOf(amountCents: number): number } | null {
  const country = address.country.toUpperCase();
  const jurisdiction = country === 'US' ? `US-${address.state ?? ''}` : country;
  const rate = rates.get(jurisdiction);
  if (rate === undefined || (country === 'US' && !address.zip)) return null;
  return { jurisdiction, rate, taxOf: (amountCents) => new D(amountCents).times(rate).div(100).toDecimalPlaces(0, D.ROUND_HALF_UP).toNumber() };
}

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
    const placed = placeAndTax(this.rates, { country: a.country, state: a.state, zip: a.zipcode });
    if (!placed) {
      throw new TaxProviderError('permanent', 'tax_provider_invalid_address', `fake-engine: cannot place address in ${a.country === 'US' ? `US-${a.state ?? ''}` : a.country}`);
    }
    const { jurisdiction, rate, taxOf } = placed;
    return req.fees.map((f) => ({ taxes: [{ code: `fake_${jurisdiction.toLowerCase()}`, name: `Tax ${jurisdiction}`, rate, amountCents: taxOf(f.amountCents) }] }));
  }
}

// ---------------------------------------------------------------------------------------------------------
// failed13: the same engine at the edge, over HTTP, speaking Lago's integration-aggregator tax protocol
// (adapters/tax-provider/aggregator-http.ts): POST /v1/anrok/finalized_invoices with a Bearer key. Like the real
// service it answers 401 to a wrong key, 200 with failedInvoices [{validation_errors: {type:
// "customerAddressCouldNotResolve"}}] for an address it cannot place, and plays queued failures first: a slow answer
// (timeout), 500 / 503, 429, or Lago's "API limit" validation string. Rates go back as fractions ("0.08875"), tax
// amounts per fee rounded half-up by the engine. It records each request's Idempotency-Key and body.

export type FakeEngineFailure = 'slow' | 'http_500' | 'http_503' | 'http_429' | 'api_limit';

export interface FakeTaxEngineServer {
  url: string;
  apiKey: string;
  rates: Map<string, string>;
  failNext: FakeEngineFailure[];
  /** Idempotency-Key of every request, in order (failures included). */
  calls: string[];
  bodies: any[];
  /** How long a `slow` answer waits (ms). */
  slowMs: number;
  close(): Promise<void>;
}

function fraction(percent: string): string {
  return new D(percent).div(100).toString();
}

function engineAnswer(engine: FakeTaxEngineServer, inv: any): { status: number; body: unknown } {
  const c = inv?.contact ?? {};
  const placed = placeAndTax(engine.rates, { country: String(c.country ?? ''), state: c.state == null ? null : String(c.state), zip: c.zip });
  if (!placed) {
    return { status: 200, body: { succeededInvoices: [], failedInvoices: [{ ...inv, validation_errors: { type: 'customerAddressCouldNotResolve' } }] } };
  }
  const { jurisdiction, rate, taxOf } = placed;
  const fees = (inv.fees as { item_key: string; item_id: string; item_code: string; amount_cents: number }[]).map((f) => {
    const tax = taxOf(f.amount_cents);
    return { ...f, tax_amount_cents: tax, tax_breakdown: [{ name: `Sales tax ${jurisdiction}`, rate: fraction(rate), tax_amount: tax, type: 'tax' }] };
  });
  const taxes = fees.reduce((a, f) => a + f.tax_amount_cents, 0);
  return { status: 200, body: { succeededInvoices: [{ id: `anrok_${String(inv.id)}`, issuing_date: inv.issuing_date, currency: inv.currency, taxes_amount_cents: taxes, fees }], failedInvoices: [] } };
}

export async function startFakeTaxEngineServer(apiKey = 'anrok_test_key'): Promise<FakeTaxEngineServer> {
  const engine: FakeTaxEngineServer = {
    url: '',
    apiKey,
    rates: new Map<string, string>([['US-NY', '8.875'], ['US-CA', '7.25'], ['DE', '19']]),
    failNext: [],
    calls: [],
    bodies: [],
    slowMs: 2_000,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        if (res.writableEnded) return;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/anrok/finalized_invoices') return send(404, { error: { code: 'not_found', message: 'Not found' } });
      if (req.headers.authorization !== `Bearer ${engine.apiKey}`) return send(401, { error: { code: 'unauthorized', message: 'Invalid API key' } });
      engine.calls.push(String(req.headers['idempotency-key'] ?? ''));
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(400, { error: { code: 'invalid_json', message: 'Body is not JSON' } });
      }
      engine.bodies.push(body);
      const failure = engine.failNext.shift();
      if (failure === 'slow') return void setTimeout(() => send(200, engineAnswer(engine, body[0]).body), engine.slowMs);
      if (failure === 'http_500' || failure === 'http_503' || failure === 'http_429') return send(Number(failure.slice(5)), { error: { code: 'unavailable', message: failure } });
      if (failure === 'api_limit') return send(200, { succeededInvoices: [], failedInvoices: [{ ...body[0], validation_errors: "You've exceeded your API limit of 10 per second" }] });
      if (!Array.isArray(body) || body.length !== 1 || !Array.isArray(body[0]?.fees)) return send(422, { error: { code: 'invalid_request', message: 'Expected one invoice with fees' } });
      const answer = engineAnswer(engine, body[0]);
      return send(answer.status, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  engine.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  engine.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return engine;
}

type ApiRequest = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

/**
 * A `failed` invoice through the API (the route-table tests' retry call): turns the organization's tax engine on
 * (PUT /tax_settings, its other settings kept), subscribes a customer the engine cannot place (New York without a
 * ZIP code, no grace period) from `subscriptionAt`, waits for the closed period's invoice to fail, and turns the
 * engine off again (the organization's other invoices keep their taxes). Returns the failed invoice's lago_id.
 */
export async function failedInvoiceThroughEngine(request: ApiRequest, engine: FakeTaxEngineServer, o: { externalId: string; planCode: string; subscriptionAt: string }): Promise<string> {
  const settings = (await request('GET', '/tax_settings')).body.tax_settings;
  const put = (taxProvider: unknown) => request('PUT', '/tax_settings', {
    tax_settings: { automatic_taxes_enabled: settings.automatic_taxes_enabled, seller_country: settings.seller_country, us_state_rates: settings.us_state_rates, country_rates: settings.country_rates, tax_provider: taxProvider },
  });
  if ((await put({ provider: 'anrok', code: 'anrok_test', api_url: engine.url, api_key: engine.apiKey })).status !== 200) throw new Error('PUT /tax_settings refused the tax engine');
  try {
    await request('POST', '/customers', { customer: { external_id: o.externalId, currency: 'USD', country: 'US', state: 'NY', billing_configuration: { invoice_grace_period: 0 } } });
    await request('POST', '/subscriptions', { subscription: { external_customer_id: o.externalId, plan_code: o.planCode, external_id: o.externalId, subscription_at: o.subscriptionAt } });
    const failed = await eventually(async () => (await request('GET', `/invoices?external_customer_id=${o.externalId}&status=failed`)).body.invoices?.[0], 60_000, `a failed invoice for ${o.externalId}`);
    return failed.lago_id as string;
  } finally {
    await put(null);
  }
}
