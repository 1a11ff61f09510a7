// Inputs and outputs of the payment activities (activities/payments.ts) called by the invoice workflow.
// Plain JSON; workflows import these as types only.
import type { InvoiceRef } from './types';

export type DunningConsequence = 'mark_uncollectible' | 'suspend_subscription' | 'terminate_subscription';

export interface CollectionPlan {
  invoiceId: string;
  /** False: no provider for the organization (or the invoice is not collectable): nothing is attempted. */
  providerConfigured: boolean;
  totalAmountCents: number;
  totalDueAmountCents: number;
  currency: string;
  paymentStatus: string;
  /** ISO date (issuing date + net payment term); null while unknown. */
  paymentDueDate: string | null;
  /** The organization's dunning campaign when it applies to this invoice (threshold reached), else null. */
  dunning: { code: string; maxAttempts: number; daysBetweenAttempts: number; consequence: DunningConsequence } | null;
  subscriptionId: string;
}

export interface PaymentAttemptRequest extends InvoiceRef {
  /** 1-based, from the workflow's state: the idempotency key is `invoice:<id>:attempt:<n>`. */
  attempt: number;
  idempotencyKey: string;
}

export interface PaymentAttemptResult {
  attempt: number;
  status: 'succeeded' | 'processing' | 'requires_action' | 'failed' | 'already_paid';
  providerPaymentId: string | null;
  declineCode: string | null;
  /** True when the payment was found by the metadata lookup or the recorded row (no new charge sent). */
  recovered: boolean;
}

export interface PaymentStepRecord extends InvoiceRef {
  /** payment_events.event_type, e.g. `dunning.attempt_failed`. */
  eventType: string;
  /** Unique per step: a replayed activity writes once. */
  dedupeKey: string;
  payload: Record<string, unknown>;
}

export interface DunningConsequenceInput extends InvoiceRef {
  subscriptionId: string;
  consequence: DunningConsequence;
  attempts: number;
}

export interface PaymentActivities {
  /** Reads what collection needs and sets payment_due_date once (issuing date + net payment term). */
  prepareCollection(input: InvoiceRef): Promise<CollectionPlan>;
  /** One provider payment attempt, exactly once per (invoice, attempt): recorded row → metadata lookup → charge. */
  attemptPayment(input: PaymentAttemptRequest): Promise<PaymentAttemptResult>;
  /** Writes a webhook-ready payment_events row (idempotent on dedupeKey). */
  recordPaymentStep(input: PaymentStepRecord): Promise<void>;
  /** Voids a finalized, unpaid invoice (keeps its number); idempotent (a second call answers not_voidable). */
  voidInvoice(input: InvoiceRef): Promise<{ outcome: 'voided' | 'not_voidable' | 'not_found' }>;
  /** Sets payment_overdue (the workflow's due-date timer fired and the invoice is unpaid). */
  markInvoiceOverdue(input: InvoiceRef): Promise<void>;
  /**
   * After the last dunning attempt: payment_status failed, and the subscription suspended (until this invoice is
   * paid) or terminated when configured.
   */
  applyDunningConsequence(input: DunningConsequenceInput): Promise<void>;
}
