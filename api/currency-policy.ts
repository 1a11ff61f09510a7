// Which customer / plan currency combinations the API lets through, decided in ONE place. Until FX conversion
// exists an invoice can only be issued in the plan's currency, so a subscription whose customer bills in another
// currency could never be invoiced (its close failed with currency_mismatch forever): it is refused at creation,
// with Lago's code. When FX lands (billing/fx.ts), relax `subscriptionCurrencyViolation` to allow any pair the
// rate source converts; the customer rule can stay (a live subscription's invoices keep one currency).
import { ApiError } from './errors';
import { ERROR_CODES } from '../billing/error-codes';

const CURRENCIES_DOES_NOT_MATCH = ERROR_CODES.currencies_does_not_match;

/** Lago's code on field `currency` when a customer's and a plan's currencies cannot go together. */
export function subscriptionCurrencyViolation(customerCurrency: string | null, planCurrency: string): typeof CURRENCIES_DOES_NOT_MATCH | null {
  return customerCurrency !== null && customerCurrency !== planCurrency ? CURRENCIES_DOES_NOT_MATCH : null;
}

/** A customer's currency cannot change while it has a live (active or pending) subscription. */
export function customerCurrencyChangeViolation(
  current: string | null,
  requested: string | null | undefined,
  hasLiveSubscription: boolean,
): typeof CURRENCIES_DOES_NOT_MATCH | null {
  if (requested === undefined || requested === current || current === null || !hasLiveSubscription) return null;
  return CURRENCIES_DOES_NOT_MATCH;
}

export function currencyError(code: string): ApiError {
  return new ApiError(422, 'validation_errors', 'Validation errors', { currency: [code] });
}
