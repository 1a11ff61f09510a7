// Payment activity doubles for the workflow tests: the real `PaymentActivities` type, scripted outcomes per
// attempt, every call recorded (arguments including idempotency keys).
import { ApplicationFailure } from '@temporalio/common';
import type { CollectionPlan, DunningConsequenceInput, PaymentActivities, PaymentAttemptRequest, PaymentAttemptResult, PaymentStepRecord } from '../../activities/payment-types';
import type { InvoiceRef } from '../../activities/types';

export interface PaymentCalls {
  prepareCollection: InvoiceRef[];
  attemptPayment: PaymentAttemptRequest[];
  recordPaymentStep: PaymentStepRecord[];
  markInvoiceOverdue: InvoiceRef[];
  applyDunningConsequence: DunningConsequenceInput[];
  voidInvoice: InvoiceRef[];
}

/** What the n-th attempt (1-based) does. */
export type ScriptedAttempt = 'succeeds' | { decline: string } | 'requires_action';

export interface PaymentFakeOptions {
  plan?: Partial<CollectionPlan>;
  attempts?: (attempt: number) => ScriptedAttempt;
}

export const decline = (code: string): ApplicationFailure =>
  ApplicationFailure.create({
    message: 'Your card was declined.',
    type: 'payment_declined',
    nonRetryable: true,
    details: [{ code: 'card_declined', declineCode: code, providerPaymentId: 'pi_declined', requestId: 'req_1' }],
  });

export function fakePaymentActivities(opts: PaymentFakeOptions = {}): { activities: PaymentActivities; calls: PaymentCalls } {
  const calls: PaymentCalls = { prepareCollection: [], attemptPayment: [], recordPaymentStep: [], markInvoiceOverdue: [], applyDunningConsequence: [], voidInvoice: [] };
  const activities: PaymentActivities = {
    async prepareCollection(ref) {
      calls.prepareCollection.push(ref);
      return {
        invoiceId: ref.invoiceId,
        providerConfigured: false,
        totalAmountCents: 1999,
        totalDueAmountCents: 1999,
        currency: 'USD',
        paymentStatus: 'pending',
        paymentDueDate: null,
        dunning: null,
        subscriptionId: 'sub-1',
        ...opts.plan,
      };
    },
    async attemptPayment(input): Promise<PaymentAttemptResult> {
      calls.attemptPayment.push(input);
      const script = opts.attempts?.(input.attempt) ?? 'succeeds';
      if (script === 'succeeds') return { attempt: input.attempt, status: 'succeeded', providerPaymentId: `pi_${input.attempt}`, declineCode: null, recovered: false };
      if (script === 'requires_action') return { attempt: input.attempt, status: 'requires_action', providerPaymentId: `pi_${input.attempt}`, declineCode: 'authentication_required', recovered: false };
      throw decline(script.decline);
    },
    async recordPaymentStep(input) {
      calls.recordPaymentStep.push(input);
    },
    async markInvoiceOverdue(ref) {
      calls.markInvoiceOverdue.push(ref);
    },
    async applyDunningConsequence(input) {
      calls.applyDunningConsequence.push(input);
    },
    async voidInvoice(ref) {
      calls.voidInvoice.push(ref);
      return { outcome: 'voided' };
    },
  };
  return { activities, calls };
}
