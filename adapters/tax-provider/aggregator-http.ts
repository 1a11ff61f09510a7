// The production tax engine adapter (failed13): Lago's integration-aggregator tax protocol, the one Lago's Anrok
// integration speaks (lago-api Integrations::Aggregator::Taxes::Invoices::CreateService and Payloads::Anrok):
//   POST {apiUrl}/v1/anrok/finalized_invoices   Authorization: Bearer <key>, Idempotency-Key: invoice:<id>:taxes
//   [{ id, issuing_date, currency, contact: {external_id, name, address_line_1, city, zip, country, taxable, tax_number},
//      fees: [{item_key, item_id, item_code, amount_cents}], tax_date }]
//   → 200 {succeededInvoices: [{fees: [{item_key, item_id, amount_cents, tax_amount_cents,
//            tax_breakdown: [{name, rate ("0.08875", a fraction), tax_amount, type}]}]}], failedInvoices: []}
//   → 200 {succeededInvoices: [], failedInvoices: [{validation_errors: {type: "customerAddressCouldNotResolve"}}]}
// Classified at the source (port.ts):
//   transient: a timeout or network error, 429, 5xx, an answer that is not the protocol's, and Lago's "API limit" /
//              "resource contention" validation strings;
//   permanent: any other 4xx (bad key, invalid request) and validation_errors (an address it cannot place...).
import { percentFromFraction, type ProviderFeeTaxes, type ProviderTaxLine } from '../../billing/tax';
import { TaxProviderError, type TaxProvider, type TaxProviderRequest } from './port';

export interface AggregatorHttpOptions {
  provider: 'anrok';
  apiUrl: string;
  apiKey: string;
  /** Per request; a slower answer is a transient `tax_provider_timeout`. */
  timeoutMs?: number;
}

/** Lago's taxation types that carry no tax (Integrations::Aggregator::Taxes::BaseService SPECIAL_TAXATION_TYPES). */
const NO_TAX_TYPES = new Set(['exempt', 'notCollecting', 'productNotTaxed', 'jurisNotTaxed', 'jurisHasNoTax']);

interface BreakdownItem {
  name?: unknown;
  rate?: unknown;
  tax_amount?: unknown;
  type?: unknown;
  reason?: unknown;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'tax';
}

function breakdownLine(b: BreakdownItem): ProviderTaxLine {
  const type = typeof b.type === 'string' ? b.type : 'unknown_taxation';
  if (NO_TAX_TYPES.has(type) || b.rate === undefined || b.rate === null) {
    const name = typeof b.reason === 'string' && b.reason ? b.reason : type;
    return { code: slug(name), name, rate: '0', amountCents: 0 };
  }
  const name = typeof b.name === 'string' && b.name ? b.name : 'Tax';
  return { code: slug(name), name, rate: percentFromFraction(String(b.rate)), amountCents: b.tax_amount as number };
}

export class AggregatorHttpTaxProvider implements TaxProvider {
  readonly name: string;

  constructor(private readonly opts: AggregatorHttpOptions) {
    this.name = opts.provider;
  }

  async computeTaxes(req: TaxProviderRequest): Promise<ProviderFeeTaxes[]> {
    const body = await this.post(req);
    const failed = Array.isArray(body?.failedInvoices) ? body.failedInvoices[0] : undefined;
    const succeeded = Array.isArray(body?.succeededInvoices) ? body.succeededInvoices[0] : undefined;
    if (!succeeded && failed) throw this.validationError(failed.validation_errors);
    if (!succeeded || !Array.isArray(succeeded.fees)) throw new TaxProviderError('transient', 'tax_provider_unavailable', `${this.name}: unexpected answer`);
    const byKey = new Map<string, { tax_breakdown?: BreakdownItem[] }>();
    for (const f of succeeded.fees as { item_key?: unknown; item_id?: unknown; tax_breakdown?: BreakdownItem[] }[]) byKey.set(String(f.item_key ?? f.item_id), f);
    return req.fees.map((fee) => {
      const answer = byKey.get(fee.itemKey);
      if (!answer) throw new TaxProviderError('transient', 'tax_provider_unavailable', `${this.name}: no answer for fee ${fee.itemKey}`);
      return { taxes: (answer.tax_breakdown ?? []).map(breakdownLine) };
    });
  }

  private payload(req: TaxProviderRequest): unknown[] {
    const a = req.customer.address;
    return [
      {
        id: req.invoiceId ?? req.idempotencyKey,
        issuing_date: req.taxPointDate,
        currency: req.currency,
        contact: {
          external_id: req.customer.externalId,
          name: req.customer.name ?? null,
          address_line_1: a.addressLine1 ?? null,
          city: a.city ?? null,
          state: a.state ?? null,
          zip: a.zipcode ?? null,
          country: a.country,
          taxable: Boolean(req.customer.taxIdentificationNumber),
          tax_number: req.customer.taxIdentificationNumber ?? null,
        },
        fees: req.fees.map((f) => ({ item_key: f.itemKey, item_id: f.itemKey, item_code: f.itemCode, amount_cents: f.amountCents })),
        tax_date: req.taxPointDate,
      },
    ];
  }

  private async post(req: TaxProviderRequest): Promise<any> {
    const url = `${this.opts.apiUrl.replace(/\/+$/, '')}/v1/${this.opts.provider}/finalized_invoices`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.apiKey}`, 'content-type': 'application/json', 'idempotency-key': req.idempotencyKey },
        body: JSON.stringify(this.payload(req)),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      throw new TaxProviderError('transient', timedOut ? 'tax_provider_timeout' : 'tax_provider_unavailable', `${this.name}: ${timedOut ? 'request timed out' : String((err as Error).message)}`, { cause: err });
    }
    const text = await res.text().catch(() => '');
    if (res.status === 429) throw new TaxProviderError('transient', 'tax_provider_rate_limited', `${this.name}: HTTP 429`);
    if (res.status >= 500) throw new TaxProviderError('transient', 'tax_provider_unavailable', `${this.name}: HTTP ${res.status}`);
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (res.status >= 400) {
      const code = typeof json?.error?.code === 'string' ? json.error.code : `http_${res.status}`;
      const message = typeof json?.error?.message === 'string' ? json.error.message : `HTTP ${res.status}`;
      throw new TaxProviderError('permanent', 'tax_provider_rejected', `${this.name}: ${message}`, { providerCode: code });
    }
    if (json === null) throw new TaxProviderError('transient', 'tax_provider_unavailable', `${this.name}: the answer is not JSON`);
    return json;
  }

  /** Lago's retrieve_error_details: a Hash gives its `type`; a string is a `validationError` unless it is contention. */
  private validationError(v: unknown): TaxProviderError {
    if (v !== null && typeof v === 'object') {
      const type = String((v as { type?: unknown }).type ?? 'validationError');
      const message = typeof (v as { message?: unknown }).message === 'string' ? String((v as { message?: unknown }).message) : 'Service failure';
      const code = type === 'customerAddressCouldNotResolve' ? 'tax_provider_invalid_address' : 'tax_provider_rejected';
      return new TaxProviderError('permanent', code, `${this.name}: ${type}: ${message}`, { providerCode: type });
    }
    const message = String(v ?? 'validation error');
    if (message.includes('API limit') || message.includes('resource contention')) {
      return new TaxProviderError('transient', 'tax_provider_rate_limited', `${this.name}: ${message}`);
    }
    return new TaxProviderError('permanent', 'tax_provider_rejected', `${this.name}: ${message}`, { providerCode: 'validationError' });
  }
}
