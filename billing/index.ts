// Public API of the pure billing engine (no I/O, no clock, no randomness; safe in Temporal workflows).
export * from './types';
export { BillingError, PlanValidationError, type PlanValidationIssue } from './errors';
export {
  type ErrorClass,
  type ErrorCode,
  ERROR_CODES,
  ERROR_CODE_CLASSES,
  ALL_ERROR_CODES,
  NON_RETRYABLE_ERROR_CODES,
  INVOICE_ACTION_ERRORS,
  HTTP_STATUS_OF_CLASS,
  errorClassOf,
  httpStatusOf,
  isErrorCode,
} from './error-codes';
export { currencyExponent, isSupportedCurrency, SUPPORTED_CURRENCIES } from './currency';
export {
  D,
  type Dec,
  isDecimalString,
  roundToMinorUnits,
  minorUnitsToDecimalString,
  toMinorUnits,
  allocateLargestRemainder,
} from './money';
export {
  type ScheduleInput,
  type PeriodPair,
  periodContaining,
  nextPeriod,
  terminatedPeriod,
  isValidTimezone,
} from './period';
export { prorationRatio, periodDays } from './proration';
export {
  type UsageBucket,
  type ChargeUsage,
  type AggregateOptions,
  aggregateCharge,
  emptyUsage,
  matchFilter,
  bucketProperties,
  pricingGroupKeys,
  eventValuesUse,
  aggregatesFromTotals,
  usageReadableFromTotals,
  isSingleBucketCharge,
} from './aggregation';
export { rateBucket, dispatchRate, modelEventValuesUse, type EventValuesUse, type RateContext, type RatedAmount, type ZeroUsageFlatFee } from './pricing';
export { validatePlan } from './plan-validation';
export { planFromLagoInput, billableMetricFromLagoInput, type MetricLookup } from './lago-plan';
export {
  type InvoiceKind,
  type InvoiceInput,
  type Fee,
  type InvoiceDraft,
  buildInvoice,
  rateInAdvanceEvent,
  applyEventToBucket,
} from './invoice';
export {
  type PayInAdvanceCharges,
  type RatePeriodInput,
  type RatedPeriod,
  ratePeriod,
  planAsRated,
  chargesToRead,
  usageAmountCents,
} from './rate-period';
export { type LevelLadder, ladderOf, levelsCrossed, crossesLevel } from './threshold-ladder';
