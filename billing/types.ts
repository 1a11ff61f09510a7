// The pricing engine's domain types: the contract between billing/ and everything that calls it.
// Plain JSON only (they travel through Temporal payloads and continue-as-new).
// Money: integer minor units in `*AmountCents` (safe integers), precise values as decimal strings.
// Instants: ISO-8601 UTC strings. Periods are half-open: [start, end).

export type Interval = 'weekly' | 'monthly' | 'quarterly' | 'semiannual' | 'yearly';
export type BillingTime = 'calendar' | 'anniversary';

export type AggregationType =
  | 'count_agg'
  | 'sum_agg'
  | 'max_agg'
  | 'unique_count_agg'
  | 'latest_agg'
  | 'weighted_sum_agg';

export type ChargeModel =
  | 'standard'
  | 'graduated'
  | 'volume'
  | 'package'
  | 'percentage'
  | 'graduated_percentage'
  | 'dynamic';

export interface MetricFilter {
  key: string;
  values: string[];
}

export interface BillableMetric {
  code: string;
  name: string;
  aggregationType: AggregationType;
  /** Event property aggregated by sum/max/unique_count/latest/weighted_sum; null for count_agg. */
  fieldName: string | null;
  /** A recurring metric's value carries into the next period (e.g. seats, storage). */
  recurring: boolean;
  filters: MetricFilter[];
}

/** Lago-shaped charge properties (`amount`, `graduated_ranges`, `package_size`, `rate`, ...). */
export type ChargeProperties = Record<string, unknown>;

export interface ChargeFilter {
  invoiceDisplayName: string | null;
  properties: ChargeProperties;
  /** key -> accepted values, e.g. { model: ['gpt-4o'], direction: ['input'] }. */
  values: Record<string, string[]>;
}

export interface Charge {
  /** Stable id of the charge (its lago_id). */
  id: string;
  billableMetric: BillableMetric;
  chargeModel: ChargeModel;
  payInAdvance: boolean;
  invoiceable: boolean;
  /** Lago's regroup_paid_fees (pay in advance, invoiceable false): 'invoice' groups the paid fees at the period end. */
  regroupPaidFees?: 'invoice' | null;
  prorated: boolean;
  /** Charge minimum in minor units; 0 means none. */
  minAmountCents: number;
  invoiceDisplayName: string | null;
  properties: ChargeProperties;
  filters: ChargeFilter[];
}

export interface UsageThreshold {
  amountCents: number;
  recurring: boolean;
  thresholdDisplayName: string | null;
}

export interface Plan {
  code: string;
  name: string;
  interval: Interval;
  /** Subscription fee per full period, minor units of amountCurrency. */
  amountCents: number;
  amountCurrency: string;
  /** Subscription fee billed at the start of the period (true) or at its end (false). */
  payInAdvance: boolean;
  trialPeriodDays: number;
  /** Plan minimum commitment per period in minor units; 0 means none. */
  minimumCommitmentAmountCents: number;
  charges: Charge[];
  usageThresholds: UsageThreshold[];
}

export type EventPropertyValue = string | number | boolean | null;

export interface UsageEvent {
  transactionId: string;
  /** ISO-8601 UTC instant. */
  timestamp: string;
  properties: Record<string, EventPropertyValue>;
  /** Only for `dynamic` charges: the event's own precise amount (decimal string), if given. */
  preciseTotalAmount?: string | null;
}

export interface Period {
  /** ISO-8601 UTC, inclusive. */
  start: string;
  /** ISO-8601 UTC, exclusive. */
  end: string;
}
