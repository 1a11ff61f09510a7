// Inputs and outputs of the activities the workflows call. Plain JSON; workflows import these as types.
import type { Period } from '../billing/types';
import type { InvoiceKind } from '../billing/invoice';

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
  status: 'draft' | 'finalized';
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
}
