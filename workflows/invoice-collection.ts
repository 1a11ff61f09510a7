// Payment collection and dunning of one finalized invoice, run by invoiceWorkflow behind patched('payments-v1').
//
// prepareCollection (sets payment_due_date) → when a provider is configured and something is due:
// attempt 1, then the organization's dunning campaign when it applies (Lago's dunning_campaigns: max_attempts,
// days_between_attempts, a threshold per currency): each dunning attempt is a timer of days_between_attempts
// days, then a payment attempt with the idempotency key `invoice:<id>:attempt:<n>` (n from this state).
// A payment succeeding at any point (the attempt itself, a Stripe webhook, a manual payment: invoicePaymentSignal)
// stops the ladder. A requires_action attempt (3-D Secure) waits for the customer until the next attempt is due.
// After the last failed attempt the campaign's consequence is applied (applyDunningConsequence: payment_status
// failed and, for suspend_subscription, the subscription suspended until paid (workflows/suspension.ts), for
// terminate_subscription, terminated through its workflow).
// Overdue: a timer to the end of payment_due_date (UTC); if still unpaid then, markInvoiceOverdue.
// Without a provider nothing is attempted: the invoice waits for a manual payment (only the overdue timer runs).
// Deterministic: Date.now() and timers are Temporal's; no I/O.
import { ApplicationFailure, ActivityFailure, condition, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { DunningConsequence, PaymentActivities, PaymentAttemptResult } from '../activities/payment-types';
import type { InvoiceRef } from '../activities/types';
import { SEARCH_ATTRIBUTE_KEYS, type InvoicePaymentSignalPayload, type InvoicePaymentState } from './messages';
import { REAL_TIME, type WorkflowTime } from './test-clock';

const DAY_MS = 86_400_000;

/** Failure types after which another attempt cannot help until an operator or the customer acts. */
const STOPPING_FAILURES = new Set(['payment_provider_not_configured', 'invoice_not_payable', 'invoice_not_found', 'payment_provider_authentication_failed']);

export const PAYMENT_ACTIVITY_OPTIONS = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    // Declines and invalid requests are thrown non-retryable by the adapter; rate limits, 5xx and timeouts retry.
  },
} as const;

const pay = proxyActivities<PaymentActivities>(PAYMENT_ACTIVITY_OPTIONS);

function failureOf(err: unknown): ApplicationFailure | null {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause;
  return null;
}

export function paymentAttemptKey(invoiceId: string, attempt: number): string {
  return `invoice:${invoiceId}:attempt:${attempt}`;
}

export class InvoiceCollection {
  state: InvoicePaymentState | null = null;
  paid = false;
  /** A webhook said the attempt waiting for the customer failed. */
  actionFailed = false;
  voided = false;
  /** retry_payment while the ladder waits: attempt now. */
  retryRequested = false;
  private ladderDone = false;
  private readonly seenEvents: string[] = [];
  private subscriptionId = '';

  /** `time`: real time, or the subscription's test clock (workflows/test-clock.ts). */
  constructor(readonly ref: InvoiceRef, private readonly time: WorkflowTime = REAL_TIME) {}

  onPaymentSignal(p: InvoicePaymentSignalPayload): void {
    if (this.seenEvents.includes(p.eventId)) return;
    this.seenEvents.push(p.eventId);
    if (this.seenEvents.length > 200) this.seenEvents.shift();
    if (p.invoicePaymentStatus === 'succeeded') this.paid = true;
    if (p.kind === 'failed') this.actionFailed = true;
  }

  private publish(): void {
    if (!this.state) return;
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE_KEYS.PaymentStatus, value: this.state.status },
      { key: SEARCH_ATTRIBUTE_KEYS.DunningAttempt, value: Math.max(0, this.state.attempts - 1) },
    ]);
  }

  private setStatus(status: InvoicePaymentState['status']): void {
    if (!this.state) return;
    this.state.status = status;
    this.publish();
  }

  private markPaid(): void {
    this.paid = true;
    if (this.state) this.state.nextAttemptAt = null;
    this.setStatus('succeeded');
  }

  async run(): Promise<void> {
    const plan = await pay.prepareCollection(this.ref);
    this.subscriptionId = plan.subscriptionId;
    const maxAttempts = 1 + (plan.dunning?.maxAttempts ?? 0);
    this.state = {
      status: 'not_collected',
      providerConfigured: plan.providerConfigured,
      attempts: 0,
      maxAttempts,
      dunningCampaignCode: plan.dunning?.code ?? null,
      nextAttemptAt: null,
      lastDeclineCode: null,
      lastFailureType: null,
      paymentDueDate: plan.paymentDueDate,
      overdue: false,
      consequence: null,
    };
    if (plan.paymentStatus === 'succeeded' || plan.totalDueAmountCents <= 0) {
      this.paid = true;
      this.setStatus(plan.totalDueAmountCents <= 0 && plan.paymentStatus !== 'succeeded' ? 'not_collected' : 'succeeded');
      return;
    }
    this.publish();
    const ladder = plan.providerConfigured ? this.ladder(maxAttempts, plan.dunning).finally(() => (this.ladderDone = true)) : Promise.resolve();
    await Promise.all([ladder, this.overdueWatch(plan.paymentDueDate)]);
  }

  /** Why `void` is not allowed now, or null. */
  voidRefusal(): string | null {
    if (this.paid) return 'the invoice is paid';
    if (this.voided) return 'the invoice is already voided';
    if (this.state?.status === 'collecting') return 'a payment attempt is in flight';
    return null;
  }

  async voidNow(): Promise<InvoicePaymentState | null> {
    const { outcome } = await pay.voidInvoice(this.ref);
    if (outcome === 'voided') {
      this.voided = true;
      if (this.state) this.state.nextAttemptAt = null;
      this.setStatus('voided');
    }
    return this.state;
  }

  /** Why `retry_payment` is not allowed now, or null. */
  retryRefusal(): string | null {
    if (!this.state?.providerConfigured) return 'no payment provider is configured';
    if (this.paid || this.voided) return 'the invoice is paid or voided';
    if (!['dunning', 'requires_action', 'failed', 'uncollectible'].includes(this.state.status)) return `payment is ${this.state.status}`;
    return null;
  }

  async retryNow(): Promise<InvoicePaymentState | null> {
    if (!this.ladderDone) {
      // The ladder is waiting (dunning timer or the customer): wake it for its next attempt.
      this.retryRequested = true;
      await condition(() => !this.retryRequested || this.ladderDone);
      return this.state;
    }
    const result = await this.attempt(this.state!.attempts + 1);
    if (result !== 'stop' && (result.status === 'succeeded' || result.status === 'already_paid')) this.markPaid();
    else this.setStatus(result !== 'stop' && result.status === 'requires_action' ? 'requires_action' : 'failed');
    return this.state;
  }

  private async overdueWatch(dueDate: string | null): Promise<void> {
    if (dueDate === null) return;
    // Overdue once the due date is over (end of that day, UTC).
    const overdueAtMs = Date.parse(`${dueDate}T00:00:00.000Z`) + DAY_MS;
    const remaining = overdueAtMs - this.time.now();
    if (remaining > 0 && (await this.time.condition(() => this.paid || this.voided, remaining))) return;
    if (this.paid || this.voided) return;
    await pay.markInvoiceOverdue(this.ref);
    if (this.state) this.state.overdue = true;
  }

  private async attempt(n: number): Promise<PaymentAttemptResult | 'stop'> {
    const state = this.state!;
    state.attempts = n;
    state.nextAttemptAt = null;
    this.setStatus('collecting');
    try {
      return await pay.attemptPayment({ ...this.ref, attempt: n, idempotencyKey: paymentAttemptKey(this.ref.invoiceId, n) });
    } catch (err) {
      const failure = failureOf(err);
      if (!failure) throw err;
      const details = (failure.details?.[0] ?? {}) as { declineCode?: string | null; code?: string | null };
      state.lastFailureType = failure.type ?? null;
      state.lastDeclineCode = details.declineCode ?? details.code ?? null;
      if (failure.type && STOPPING_FAILURES.has(failure.type)) return 'stop';
      return { attempt: n, status: 'failed', providerPaymentId: null, declineCode: state.lastDeclineCode, recovered: false };
    }
  }

  private async ladder(maxAttempts: number, dunning: { daysBetweenAttempts: number; consequence: string } | null): Promise<void> {
    const state = this.state!;
    const waitMs = (dunning?.daysBetweenAttempts ?? 1) * DAY_MS;
    for (let n = 1; n <= maxAttempts; n++) {
      if (n > 1) {
        state.nextAttemptAt = new Date(this.time.now() + waitMs).toISOString();
        this.setStatus('dunning');
        await this.time.condition(() => this.paid || this.voided || this.retryRequested, waitMs);
        this.retryRequested = false;
        if (this.voided) return;
        if (this.paid) return this.markPaid();
      }
      if (this.paid) return this.markPaid();
      const result = await this.attempt(n);
      if (result === 'stop') return this.setStatus('failed');
      if (result.status === 'succeeded' || result.status === 'already_paid') return this.markPaid();
      if (result.status === 'processing' || result.status === 'requires_action') {
        this.setStatus(result.status === 'requires_action' ? 'requires_action' : 'collecting');
        this.actionFailed = false;
        // The customer (3-D Secure) or the bank (processing) answers through a webhook; until the next attempt is due.
        await this.time.condition(() => this.paid || this.actionFailed || this.voided || this.retryRequested, waitMs);
        if (this.voided) return;
        if (this.paid) return this.markPaid();
      } else {
        state.lastDeclineCode = result.declineCode ?? state.lastDeclineCode;
      }
    }
    if (this.paid) return this.markPaid();
    if (dunning) {
      await pay.applyDunningConsequence({
        ...this.ref,
        subscriptionId: this.subscriptionId,
        consequence: dunning.consequence as DunningConsequence,
        attempts: maxAttempts,
      });
      state.consequence = dunning.consequence;
      return this.setStatus('uncollectible');
    }
    this.setStatus('failed');
  }
}
