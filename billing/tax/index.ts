// Public API of the tax engine (pure).
export * from './types';
export { applicableTaxes, type ApplicableTaxes } from './precedence';
export { applyTaxes, computeFeeTaxes, computeInvoiceTaxes, taxBase, type TaxContext } from './compute';
export { EU_VAT, UK_VAT, EU_COUNTRIES, isEuCountry, rateOn, type RateTable, type RateEntry, type ResolvedRate } from './rates';
export {
  decideTax,
  EU_REVERSE_CHARGE_MENTION,
  UK_REVERSE_CHARGE_MENTION,
  type CustomerType,
  type VatNumberStatus,
  type TaxRule,
  type TaxRuleSettings,
  type TaxRuleCustomer,
  type TaxDecision,
} from './rules';
export { checkVatNumberFormat, normalizeVatNumber, type VatNumberFormat } from './vat-number';
export { applyProviderTaxes, percentFromFraction, providerFeeAmountCents, providerTaxInvoiceDraft, type ProviderFeeTaxes, type ProviderTaxLine } from './provider';
export { taxInvoiceDraft, type InvoiceTaxContext, type TaxedInvoiceDraft } from './invoice-taxes';
export { taxPointDate } from './tax-point';
