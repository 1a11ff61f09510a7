// Payment collection activities of the invoice workflow (issue 10), over the payment-provider port.
//
// Exactly-once charging per (invoice, attempt), in three layers:
// 1. the payments row of (invoice_id, attempt) is claimed first (unique index); a recorded outcome is returned
//    as is ("already done" → success);
// 2. otherwise the provider is asked by METADATA whether a payment for this invoice and attempt exists (a
//    previous run may have died between "charge sent" and "charge recorded", possibly more than 24 h ago
//    when Stripe has forgotten the idempotency key);
// 3. only then is a payment created, with the idempotency key `invoice:<id>:attempt:<n>`, for the amount
//    stored on the claimed row (a retry sends identical parameters, never an idempotency conflict).
// Errors: the adapter classifies them (activities/payment-provider.ts). A decline is recorded on the row and
// in payment_events, then rethrown as the non-retryable failure it is.
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import {
  claimProviderPayment,
  getCollectionContext,
  getDefaultDunningCampaign,
  getProviderConfig,
  insertPaymentEvent,
  markInvoicePaymentFailed,
  markPaymentOverdue,
  recomputeInvoicePayment,
  recordPaymentOutcome,
  setPaymentDueDateOnce,
  setProviderCustomerId,
  voidInvoiceRow,
  type CollectionContext,
  type PaymentRecord,
  type ProviderConfig,
} from '../db/repositories/payments';
import { PAYMENT_FAILURE_TYPES, type PaymentFailureDetails, type PaymentProvider, type ProviderPayment } from './payment-provider';
import type { CollectionPlan, DunningConsequenceInput, PaymentActivities, PaymentAttemptRequest, PaymentAttemptResult, PaymentStepRecord } from './payment-types';
import type { InvoiceRef } from './types';
import { suspendSubscriptionForInvoice } from '../db/repositories/subscription-suspensions';
import type { SubscriptionSuspensionSignalPayload } from '../contracts/workflows';
import { classified } from './invoices';

export interface PaymentActivityDeps {
  db: Knex;
  /** Builds the provider adapter of an organization's connection (production: Stripe SDK; tests: the fake). */
  providerFor(config: ProviderConfig): PaymentProvider;
  /** Terminates a subscription through its workflow (dunning consequence `terminate_subscription`). */
  terminateSubscription?(organizationId: string, subscriptionId: string): Promise<void>;
  /** Wakes the subscription workflow after its suspension changed (dunning consequence `suspend_subscription`). */
  notifySubscriptionSuspension?(organizationId: string, subscriptionId: string, payload: SubscriptionSuspensionSignalPayload): Promise<void>;
}

function notFound(invoiceId: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `Invoice ${invoiceId} not found`, type: 'invoice_not_found', nonRetryable: true });
}

async function loadContext(db: Knex, ref: InvoiceRef): Promise<CollectionContext> {
  const ctx = await getCollectionContext(db, ref.organizationId, ref.invoiceId);
  if (!ctx) throw notFound(ref.invoiceId);
  return ctx;
}

function resultOf(attempt: number, p: PaymentRecord, recovered: boolean): PaymentAttemptResult {
  const status = p.status === 'succeeded' || p.status === 'processing' || p.status === 'requires_action' ? p.status : 'failed';
  return { attempt, status, providerPaymentId: p.providerPaymentId, declineCode: p.declineCode, recovered };
}

export function createPaymentActivities(deps: PaymentActivityDeps): PaymentActivities {
  const { db } = deps;

  async function providerCustomer(provider: PaymentProvider, ctx: CollectionContext): Promise<string> {
    if (ctx.customer.providerCustomerId) return ctx.customer.providerCustomerId;
    const { providerCustomerId } = await provider.syncCustomer({
      customerId: ctx.customer.id,
      externalCustomerId: ctx.customer.externalId,
      name: ctx.customer.name,
      email: ctx.customer.email,
      providerCustomerId: null,
    });
    await setProviderCustomerId(db, ctx.organizationId, ctx.customer.id, providerCustomerId);
    return providerCustomerId;
  }

  async function record(ctx: CollectionContext, row: PaymentRecord, payment: ProviderPayment, recovered: boolean): Promise<PaymentAttemptResult> {
    return db.transaction(async (trx) => {
      const stored = await recordPaymentOutcome(trx, ctx.organizationId, row.id, {
        status: payment.status === 'canceled' ? 'failed' : payment.status,
        providerPaymentId: payment.providerPaymentId,
        declineCode: payment.declineCode,
      });
      await recomputeInvoicePayment(trx, ctx.organizationId, ctx.invoiceId);
      await insertPaymentEvent(trx, {
        organizationId: ctx.organizationId,
        invoiceId: ctx.invoiceId,
        eventType: `payment.${stored.status}`,
        dedupeKey: `payment:${stored.id}:${stored.status}`,
        paymentId: stored.id,
        payload: { attempt: row.attempt, provider_payment_id: stored.providerPaymentId, amount_cents: stored.amountCents, currency: stored.currency, decline_code: stored.declineCode },
      });
      return resultOf(row.attempt ?? 0, stored, recovered);
    });
  }

  return {
    async prepareCollection(ref: InvoiceRef): Promise<CollectionPlan> {
      return classified(async () => {
        const ctx = await loadContext(db, ref);
        const dueDate = await setPaymentDueDateOnce(db, ref.organizationId, ref.invoiceId, ctx.customer.netPaymentTerm);
        const config = await getProviderConfig(db, ref.organizationId);
        const campaign = await getDefaultDunningCampaign(db, ref.organizationId);
        const due = ctx.totalDueAmountCents;
        // Lago's threshold: the campaign applies when the amount due reaches the threshold of its currency
        // (here: this invoice's due amount; a campaign without a threshold for the currency does not apply).
        const threshold = campaign?.thresholds.find((t) => t.currency === ctx.currency);
        const applies = campaign !== null && threshold !== undefined && due >= threshold.amountCents;
        return {
          invoiceId: ref.invoiceId,
          providerConfigured: config !== null && ctx.status === 'finalized',
          totalAmountCents: ctx.totalAmountCents,
          totalDueAmountCents: due,
          currency: ctx.currency,
          paymentStatus: ctx.paymentStatus,
          paymentDueDate: dueDate,
          dunning: applies
            ? { code: campaign.code, maxAttempts: campaign.maxAttempts, daysBetweenAttempts: campaign.daysBetweenAttempts, consequence: campaign.consequence }
            : null,
          subscriptionId: ctx.subscriptionId,
        };
      });
    },

    async attemptPayment(input: PaymentAttemptRequest): Promise<PaymentAttemptResult> {
      return classified(async () => {
        const ctx = await loadContext(db, input);
        if (ctx.paymentStatus === 'succeeded') return { attempt: input.attempt, status: 'already_paid', providerPaymentId: null, declineCode: null, recovered: false };
        if (ctx.status !== 'finalized' || ctx.voided || ctx.paymentDisputeLost) {
          const state = ctx.voided ? 'voided' : ctx.paymentDisputeLost ? 'a lost payment dispute' : ctx.status;
          throw ApplicationFailure.create({ message: `Invoice ${input.invoiceId} is ${state}, not payable`, type: 'invoice_not_payable', nonRetryable: true });
        }
        const config = await getProviderConfig(db, input.organizationId);
        if (!config) {
          throw ApplicationFailure.create({ message: 'No payment provider configured', type: PAYMENT_FAILURE_TYPES.notConfigured, nonRetryable: true });
        }
        const provider = deps.providerFor(config);
        const due = ctx.totalDueAmountCents;
        if (due <= 0) return { attempt: input.attempt, status: 'already_paid', providerPaymentId: null, declineCode: null, recovered: false };
        const row = await claimProviderPayment(db, {
          organizationId: input.organizationId,
          invoiceId: input.invoiceId,
          attempt: input.attempt,
          idempotencyKey: input.idempotencyKey,
          amountCents: due,
          currency: ctx.currency,
        });
        if (row.status !== 'pending' && row.providerPaymentId !== null) return resultOf(input.attempt, row, true);

        const providerCustomerId = await providerCustomer(provider, ctx);
        const found = await provider.findPayment({ providerCustomerId, invoiceId: input.invoiceId, attempt: input.attempt });
        if (found) return record(ctx, row, found, true);
        try {
          const payment = await provider.createPayment({
            invoiceId: input.invoiceId,
            attempt: input.attempt,
            idempotencyKey: row.idempotencyKey ?? input.idempotencyKey,
            amountCents: row.amountCents,
            currency: row.currency,
            providerCustomerId,
            invoiceNumber: ctx.number,
          });
          return await record(ctx, row, payment, false);
        } catch (err) {
          if (err instanceof ApplicationFailure && err.nonRetryable) {
            const details = (err.details?.[0] ?? {}) as Partial<PaymentFailureDetails>;
            await db.transaction(async (trx) => {
              const stored = await recordPaymentOutcome(trx, input.organizationId, row.id, {
                status: 'failed',
                providerPaymentId: details.providerPaymentId ?? null,
                failureType: err.type ?? null,
                declineCode: details.declineCode ?? details.code ?? null,
              });
              await recomputeInvoicePayment(trx, input.organizationId, input.invoiceId);
              await insertPaymentEvent(trx, {
                organizationId: input.organizationId,
                invoiceId: input.invoiceId,
                eventType: 'payment.failed',
                dedupeKey: `payment:${stored.id}:failed`,
                paymentId: stored.id,
                payload: { attempt: input.attempt, failure_type: err.type, decline_code: stored.declineCode, provider_payment_id: stored.providerPaymentId },
              });
            });
          }
          throw err;
        }
      });
    },

    async recordPaymentStep(input: PaymentStepRecord): Promise<void> {
      return classified(() =>
        insertPaymentEvent(db, { organizationId: input.organizationId, invoiceId: input.invoiceId, eventType: input.eventType, dedupeKey: input.dedupeKey, payload: input.payload }),
      );
    },

    async voidInvoice(ref: InvoiceRef): Promise<{ outcome: 'voided' | 'not_voidable' | 'not_found' }> {
      return classified(async () => ({ outcome: await db.transaction((trx) => voidInvoiceRow(trx, ref.organizationId, ref.invoiceId)) }));
    },

    async markInvoiceOverdue(ref: InvoiceRef): Promise<void> {
      return classified(async () => {
        if (await markPaymentOverdue(db, ref.organizationId, ref.invoiceId)) {
          await insertPaymentEvent(db, { organizationId: ref.organizationId, invoiceId: ref.invoiceId, eventType: 'invoice.payment_overdue', dedupeKey: `invoice:${ref.invoiceId}:overdue`, payload: {} });
        }
      });
    },

    async applyDunningConsequence(input: DunningConsequenceInput): Promise<void> {
      return classified(async () => {
        const campaign = await getDefaultDunningCampaign(db, input.organizationId);
        if (input.consequence === 'suspend_subscription' && !deps.notifySubscriptionSuspension) {
          throw ApplicationFailure.create({ message: 'suspend_subscription needs a Temporal client in the worker', type: 'dunning_consequence_unavailable', nonRetryable: true });
        }
        await db.transaction(async (trx) => {
          await markInvoicePaymentFailed(trx, input.organizationId, input.invoiceId);
          await insertPaymentEvent(trx, {
            organizationId: input.organizationId,
            invoiceId: input.invoiceId,
            eventType: 'dunning.exhausted',
            dedupeKey: `invoice:${input.invoiceId}:dunning_exhausted`,
            payload: { consequence: input.consequence, attempts: input.attempts, subscription_id: input.subscriptionId, dunning_campaign_code: campaign?.code ?? null },
          });
          // Suspended in the same transaction as the exhausted record (unique on subscription and invoice).
          if (input.consequence === 'suspend_subscription') {
            await suspendSubscriptionForInvoice(trx, input.organizationId, input.subscriptionId, input.invoiceId, input.attempts);
          }
        });
        if (input.consequence === 'suspend_subscription') {
          await deps.notifySubscriptionSuspension!(input.organizationId, input.subscriptionId, { reason: 'dunning_suspended', invoiceId: input.invoiceId });
        }
        if (input.consequence === 'terminate_subscription') {
          if (!deps.terminateSubscription) {
            throw ApplicationFailure.create({ message: 'terminate_subscription needs a Temporal client in the worker', type: 'dunning_consequence_unavailable', nonRetryable: true });
          }
          await deps.terminateSubscription(input.organizationId, input.subscriptionId);
        }
      });
    },
  };
}
