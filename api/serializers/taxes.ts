// Lago's applied taxes (FeeAppliedTaxObject, InvoiceAppliedTaxObject) from billing/tax's stored shapes, and the
// Meterline `tax_decision` extension (which automatic rule applied and why, with the legal mention).
// An applied tax has no row of its own (it is stored as JSON on its fee / invoice): its lago_id is derived from the
// owner's id and the tax code (a name-based UUID), stable across reads. lago_tax_id is null for taxes that are not
// tax objects (automatic rules, external engines).
import crypto from 'node:crypto';
import type { FeeAppliedTax, InvoiceAppliedTax, TaxDecision } from '../../billing/tax';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A version-5-style UUID from a name (SHA-1), so the same applied tax always has the same lago_id. */
export function nameUuid(name: string): string {
  const h = crypto.createHash('sha1').update(`meterline:applied_tax:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function base(t: FeeAppliedTax | InvoiceAppliedTax, ownerId: string, createdAt: string | null) {
  return {
    lago_id: nameUuid(`${ownerId}:${t.taxCode}:${t.taxRate}`),
    lago_tax_id: UUID_RE.test(t.taxId) ? t.taxId : null,
    tax_name: t.taxName,
    tax_code: t.taxCode,
    tax_rate: Number(t.taxRate), // Lago: a JSON number; rates have ≤ 8 significant digits, exact
    tax_description: t.taxDescription,
    amount_cents: t.amountCents,
    amount_currency: t.amountCurrency,
    created_at: createdAt,
  };
}

export function lagoFeeAppliedTaxes(taxes: FeeAppliedTax[], feeId: string | null, createdAt: string | null) {
  if (feeId === null) return [];
  return taxes.map((t) => ({ ...base(t, feeId, createdAt), lago_fee_id: feeId }));
}

export function lagoInvoiceAppliedTaxes(taxes: InvoiceAppliedTax[], invoiceId: string | null, createdAt: string | null) {
  if (invoiceId === null) return [];
  return taxes.map((t) => ({ ...base(t, invoiceId, createdAt), lago_invoice_id: invoiceId, fees_amount_cents: t.feesAmountCents }));
}

export function lagoTaxDecision(d: TaxDecision | null) {
  if (!d) return null;
  return {
    rule: d.rule,
    tax_code: d.tax.code,
    tax_rate: d.tax.rate,
    legal_mention: d.legalMention,
    explanation: d.explanation,
    seller_country: d.reasons.sellerCountry,
    customer_country: d.reasons.customerCountry,
    customer_state: d.reasons.customerState,
    customer_type: d.reasons.customerType,
    vat_number_status: d.reasons.vatNumberStatus,
    tax_point_date: d.reasons.taxPointDate,
    rate_source: d.reasons.rateSource,
  };
}
