// Inputs and outputs of the activities the workflows call. Plain JSON; workflows import these as types.
import type { Period, Plan } from '../billing/types';
import type { InvoiceKind } from '../billing/invoice';
import type { LevelLadder } from '../billing/threshold-ladder';
import type { LiveMetricUsage } from '../contracts/workflows';

export interface CreatePeriodInvoiceInput {
  organizationId: string;
  subscriptionId: string;
  kind: Extract<InvoiceKind, 'subscription' | 'termination'>;
  /** The period billed in arrears: [start, end). For a termination, end is the termination instant. */
  period: Period;
  /** Its unclipped plan period (proration). */
  fullPeriod: Period;
}

export interface PeriodInvoiceResult {
  invoiceId: string;
  status: 'draft' | 'finalized' | 'deleted' | 'failed';
  totalAmountCents: number;
  currency: string;
  /** False when the invoice already existed (a retried activity or a replayed close). */
  created: boolean;
  /** Days this invoice stays a draft before finalization (organization setting, customer override). */
  gracePeriodDays: number;
}

export interface InvoiceRef {
  organizationId: string;
  invoiceId: string;
}

export interface MarkTerminatedInput {
  organizationId: string;
  subscriptionId: string;
  terminatedAt: string;
}

export interface BillingRulesInput {
  organizationId: string;
  subscriptionId: string;
  /** The open period. */
  period: Period;
}

/**
 * What the subscription workflow watches in its open period (see activities/thresholds.ts). Amount levels are
 * minor units of the plan currency, compared with the period's current usage amount (Σ charge lines, like
 * GET current_usage); unit levels are compared with a metric's units in the period.
 */
export interface BillingRules {
  /** False when the subscription has no usage thresholds and no alerts: nothing to watch. */
  active: boolean;
  /** The plan's progressive-billing thresholds and every amount alert, one ladder each. */
  amountLadders: LevelLadder[];
  /** Unit alerts per billable metric code. */
  unitLadders: Record<string, LevelLadder[]>;
  /** Alerts the workflow cannot estimate from live usage (per-metric amounts): only the periodic check sees them. */
  periodicOnly: boolean;
  /** The plan, to estimate the amount from live usage; null when there is no amount ladder. */
  plan: Plan | null;
  /** Metric codes (of the plan's charges) aggregated with count_agg: their units are event counts. */
  countMetricCodes: string[];
}

export interface EvaluateThresholdsInput {
  organizationId: string;
  subscriptionId: string;
  /** The open period [start, end) (business ids only: the idempotency keys are derived from these). */
  period: Period;
  fullPeriod: Period;
  /** The instant the check is made at (ISO UTC): a test clock's time (workflows/clock-coverage.ts); absent: now. */
  asOf?: string;
}

export interface EvaluateThresholdsResult {
  /** The instant the confirmed totals were read at (ISO UTC). */
  asOf: string;
  /** Confirmed current usage amount of the period, minor units (the same number as GET current_usage). */
  amountCents: number;
  /** Confirmed usage per billable metric code of the plan's charges (units as aggregated for billing). */
  metrics: Record<string, LiveMetricUsage>;
  /** Every progressive-billing invoice of the period (new and earlier ones), oldest first. */
  progressiveInvoices: PeriodInvoiceResult[];
  /** Alert triggers recorded by this evaluation (0 when they all existed already). */
  alertTriggersRecorded: number;
  /** The rules as they are now (alerts may have been added since the period started). */
  rules: BillingRules;
}

/**
 * The activity functions. `activities/index.ts` builds an object of this type from its deps; the workflows
 * use `proxyActivities<SubscriptionActivities>` and the workflow tests mock exactly this type.
 */
export interface SubscriptionActivities {
  /** Aggregates the period's usage from Postgres, rates it with billing/, writes the invoice exactly once
   * (unique per subscription, period and kind). Re-running returns the same invoice (a draft is refreshed). */
  createPeriodInvoice(input: CreatePeriodInvoiceInput): Promise<PeriodInvoiceResult>;
  /** Recomputes a draft invoice's fees from Postgres (late events during the grace period). No-op when finalized. */
  refreshDraftInvoice(input: InvoiceRef): Promise<PeriodInvoiceResult>;
  /** Draft → finalized: assigns the invoice number and the issuing date. Idempotent. */
  finalizeInvoice(input: InvoiceRef): Promise<PeriodInvoiceResult>;
  /** Records the termination on the subscription row (status terminated, terminated_at). Idempotent. */
  markSubscriptionTerminated(input: MarkTerminatedInput): Promise<void>;
  /** The period's usage thresholds and alert levels (read only). */
  loadBillingRules(input: BillingRulesInput): Promise<BillingRules>;
  /** Confirms usage against Postgres; issues the progressive invoice of a crossed threshold and records alert
   * triggers, each exactly once (unique per subscription, period and threshold). Safe to repeat. */
  evaluateUsageThresholds(input: EvaluateThresholdsInput): Promise<EvaluateThresholdsResult>;
  /** Pay in advance: the start invoice of an advance plan's first period (once) and what to bill per event. */
  startAdvancePeriod(input: AdvancePeriodInput): Promise<AdvancePeriodStart>;
  /** Pay in advance: one fee per not-yet-billed event of the period's pay-in-advance charges (unique per event). */
  billInAdvanceCharges(input: AdvancePeriodInput): Promise<InAdvanceChargesResult>;
}

// Pay in advance (issue 11, activities/advance-billing.ts; the workflow side is workflows/advance-billing.ts).
export interface AdvancePeriodInput {
  organizationId: string;
  subscriptionId: string;
  /** The open period [start, end) and its unclipped period. */
  period: Period;
  fullPeriod: Period;
}

export interface AdvancePeriodStart {
  /** The start invoice (first period's advance fee) when the plan is paid in advance and this is the first period. */
  startInvoice: PeriodInvoiceResult | null;
  /** Metric codes of the plan's pay-in-advance charges: usage of these is billed per event. */
  inAdvanceMetricCodes: string[];
  /** units11: the plan bills fixed charges in advance (the close then bills units changes once more). Absent before. */
  advanceFixedCharges?: boolean;
}

export interface InAdvanceChargesResult {
  /** Fees this call wrote (0 when every event was billed already). */
  feesCreated: number;
  /** The per-event invoices this call issued (finalized), for charges with `invoiceable: true`. */
  invoices: PeriodInvoiceResult[];
}
