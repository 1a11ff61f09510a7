// Every business error code, in ONE place, each with its class (decided here, once):
//   not_found → HTTP 404, conflict → HTTP 409, invalid → HTTP 422.
// `BillingError` accepts only these codes (billing/errors.ts), so a new code must be added here, with its class.
// Users of the list:
// - the workflows' non-retryable list (workflows/activity-options.ts NON_RETRYABLE_ERROR_TYPES): every code is a
//   business failure, deterministic, so retrying the activity cannot help;
// - the HTTP error mapping (api/errors.ts): a BillingError answers `httpStatusOf(code)`.
// The strings are part of the API (clients match on them): never rename one.

export const ERROR_CODE_CLASSES = {
  // not found
  customer_not_found: 'not_found',
  invoice_not_found: 'not_found',
  plan_not_found: 'not_found',
  subscription_not_found: 'not_found',
  // conflicts with the stored state
  invoice_conflict: 'conflict',
  invoice_finalized: 'conflict',
  // invalid input or data
  amount_out_of_range: 'invalid',
  before_subscription: 'invalid',
  currency_mismatch: 'invalid',
  event_values_required: 'invalid',
  invalid_adjustment: 'invalid',
  invalid_alert_type: 'invalid',
  invalid_allocation: 'invalid',
  invalid_amount: 'invalid',
  invalid_billing_time: 'invalid',
  invalid_bucket: 'invalid',
  invalid_data: 'invalid',
  invalid_datetime: 'invalid',
  invalid_decimal: 'invalid',
  invalid_event_timestamp: 'invalid',
  invalid_event_value: 'invalid',
  invalid_interval: 'invalid',
  invalid_invoice_type: 'invalid',
  invalid_pay_in_advance: 'invalid',
  invalid_period: 'invalid',
  invalid_plan: 'invalid',
  invalid_range: 'invalid',
  invalid_timezone: 'invalid',
  missing_field_name: 'invalid',
  missing_property: 'invalid',
  missing_subscription_at: 'invalid',
  not_minor_unit_exact: 'invalid',
  unknown_aggregation: 'invalid',
  unknown_charge: 'invalid',
  unknown_charge_model: 'invalid',
  unsupported_currency: 'invalid',
  unsupported_sql_aggregation: 'invalid',
  // taxes (billing/tax) and currencies (billing/fx)
  fx_after_taxes: 'invalid',
  invalid_date: 'invalid',
  invalid_fx_rate: 'invalid',
  invalid_rate_table: 'invalid',
  invalid_tax_point_date: 'invalid',
  invalid_tax_rate: 'invalid',
  tax_country_missing: 'invalid',
  tax_provider_invalid_amount: 'invalid',
  tax_provider_mismatch: 'invalid',
  tax_rate_missing: 'invalid',
  tax_state_missing: 'invalid',
  // plan changes (issue 11b, db/repositories/plan-changes.ts)
  plan_change_not_found: 'not_found',
  plan_change_canceled: 'invalid',
} as const satisfies Record<string, ErrorClass>;

export type ErrorClass = 'not_found' | 'conflict' | 'invalid';
export type ErrorCode = keyof typeof ERROR_CODE_CLASSES;

/** The codes as named constants: `ERROR_CODES.plan_not_found === 'plan_not_found'`. */
export const ERROR_CODES = Object.freeze(
  Object.fromEntries(Object.keys(ERROR_CODE_CLASSES).map((k) => [k, k])) as { readonly [K in ErrorCode]: K },
);

/** Every code (the workflows' non-retryable list is built from it). */
export const ALL_ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(ERROR_CODE_CLASSES) as ErrorCode[]);

export const HTTP_STATUS_OF_CLASS: Readonly<Record<ErrorClass, number>> = Object.freeze({ not_found: 404, conflict: 409, invalid: 422 });

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODE_CLASSES, code);
}

/** The class of a code; an unknown code is 'invalid'. */
export function errorClassOf(code: string): ErrorClass {
  return isErrorCode(code) ? ERROR_CODE_CLASSES[code] : 'invalid';
}

/** The HTTP status of a code (404 / 409 / 422). */
export function httpStatusOf(code: string): number {
  return HTTP_STATUS_OF_CLASS[errorClassOf(code)];
}
