// Every business error code, in ONE place, each with its class (decided here, once):
//   not_found → HTTP 404, conflict → HTTP 409, invalid → HTTP 422, not_allowed → HTTP 405 (an invoice action the
//   invoice's state refuses), transient → retried (a condition that passes: the activity retry policy retries it;
//   the API answers 503 if one ever reaches it).
// `BillingError` accepts only these codes (billing/errors.ts), so a new code must be added here, with its class.
// Users of the list:
// - the workflows' non-retryable list (workflows/activity-options.ts NON_RETRYABLE_ERROR_TYPES): every code but the
//   transient ones is a business failure, deterministic, so retrying the activity cannot help;
// - the invoice workflow's update validators (workflows/invoice.ts, through INVOICE_ACTION_ERRORS) and the API's
//   invoice actions (api/routes/invoice-actions.ts), which answer a refusal with httpStatusOf(code) = 405;
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
  unique_counts_required: 'invalid',
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
  // input robustness (issue 8): codes in `error_details` of a 422 (api/, ingest, event_errors)
  currencies_does_not_match: 'invalid',
  value_is_out_of_range: 'invalid',
  too_many_decimals: 'invalid',
  event_quarantined: 'invalid',
  too_old: 'invalid',
  too_far_in_future: 'invalid',
  subscription_terminated: 'invalid',
  subscription_not_started: 'invalid',
  // invoice actions refused by the invoice's state (Lago answers 405)
  is_not_draft: 'not_allowed',
  not_voidable: 'not_allowed',
  payment_not_retryable: 'not_allowed',
  // PUT /fees/:lago_id on a fee that is on an invoice (Lago answers 405 invoiced_fee)
  invoiced_fee: 'not_allowed',
  // POST /invoices/:lago_id/lose_dispute of an invoice that is not finalized (Lago: 405 not_disputable; ops13c)
  not_disputable: 'not_allowed',
  // DELETE /invoices/:lago_id of an invoice that is not a draft (Lago: 405 not_deletable; del13)
  not_deletable: 'not_allowed',
  // transient: retried until it passes
  fx_rate_missing: 'transient',
  // wallets (billing/wallet.ts)
  invalid_rate_amount: 'invalid',
  wallet_not_found: 'not_found',
  wallet_terminated: 'invalid',
  // coupons, add-ons and credit notes (billing/coupons.ts, billing/credit-notes.ts)
  add_on_not_found: 'not_found',
  coupon_not_found: 'not_found',
  applied_coupon_not_found: 'not_found',
  credit_note_not_found: 'not_found',
  fee_not_found: 'not_found',
  coupon_already_applied: 'conflict',
  credit_note_not_voidable: 'conflict',
  coupon_expired: 'invalid',
  coupon_not_reusable: 'invalid',
  credit_note_amount_exceeds_creditable: 'invalid',
  credit_note_amounts_do_not_balance: 'invalid',
  invalid_credit_note: 'invalid',
  invoice_not_creditable: 'invalid',
  // plan changes (issue 11b, db/repositories/plan-changes.ts)
  plan_change_not_found: 'not_found',
  plan_change_canceled: 'invalid',
  // fixed charges (fixed13, billing/fixed-charges.ts): a units value that is not a decimal >= 0
  invalid_units: 'invalid',
  // ops13d (issue 13): billable metric expressions (billing/expression.ts)
  invalid_expression: 'invalid',
  expression_evaluation_failed: 'invalid',
} as const satisfies Record<string, ErrorClass>;

export type ErrorClass = 'not_found' | 'conflict' | 'invalid' | 'not_allowed' | 'transient';
export type ErrorCode = keyof typeof ERROR_CODE_CLASSES;

/** The codes as named constants: `ERROR_CODES.plan_not_found === 'plan_not_found'`. */
export const ERROR_CODES = Object.freeze(
  Object.fromEntries(Object.keys(ERROR_CODE_CLASSES).map((k) => [k, k])) as { readonly [K in ErrorCode]: K },
);

/** Every code. */
export const ALL_ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(ERROR_CODE_CLASSES) as ErrorCode[]);

/** Every code an activity must not retry (all but the transient ones): the workflows' non-retryable list. */
export const NON_RETRYABLE_ERROR_CODES: readonly ErrorCode[] = Object.freeze(ALL_ERROR_CODES.filter((c) => ERROR_CODE_CLASSES[c] !== 'transient'));

/** The invoice workflow's refusals of an invoice action (its update validators throw them; the API answers 405). */
export const INVOICE_ACTION_ERRORS = Object.freeze({
  notDraft: ERROR_CODES.is_not_draft,
  notVoidable: ERROR_CODES.not_voidable,
  paymentNotRetryable: ERROR_CODES.payment_not_retryable,
} as const);

export const HTTP_STATUS_OF_CLASS: Readonly<Record<ErrorClass, number>> = Object.freeze({ not_found: 404, conflict: 409, invalid: 422, not_allowed: 405, transient: 503 });

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODE_CLASSES, code);
}

/** The class of a code; an unknown code is 'invalid'. */
export function errorClassOf(code: string): ErrorClass {
  return isErrorCode(code) ? ERROR_CODE_CLASSES[code] : 'invalid';
}

/** The HTTP status of a code (404 / 409 / 422 / 405 / 503). */
export function httpStatusOf(code: string): number {
  return HTTP_STATUS_OF_CLASS[errorClassOf(code)];
}
