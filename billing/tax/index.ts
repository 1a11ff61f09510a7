// Public API of the tax engine (pure).
export * from './types';
export { applicableTaxes, type ApplicableTaxes } from './precedence';
export { applyTaxes, computeFeeTaxes, computeInvoiceTaxes, taxBase, type TaxContext } from './compute';
