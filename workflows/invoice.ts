// The invoice workflow `invoice:<invoice id>`, started by the subscription workflow (parent-close ABANDON).
//
// Grace period (a timer of `gracePeriodDays` days; 0 = none): the invoice stays a draft and each
// `refreshInvoiceSignal` recomputes it from Postgres (late events still count). Then it is finalized.
// A business failure while refreshing leaves the draft as it was (logged, finalization recomputes nothing and
// goes on); a business failure while finalizing fails this workflow with its type, visible to operators; the
// subscription's next close restarts a failed invoice workflow (id reuse policy ALLOW_DUPLICATE_FAILED_ONLY).
import { ApplicationFailure, allHandlersFinished, condition, log, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { InvoiceRef, PeriodInvoiceResult, SubscriptionActivities } from '../activities/types';
import { InvoiceCollection } from './invoice-collection';
import { catchUpTestClock, invoiceWorkflowTime } from './test-clock';
import {
  INVOICE_ACTION_ERRORS,
  finalizeInvoiceUpdate,
  refreshInvoiceUpdate,
  retryPaymentUpdate,
  voidInvoiceUpdate,
  invoicePaymentQuery,
  invoicePaymentSignal,
  invoiceStateQuery,
  refreshInvoiceSignal,
  type InvoiceLiveState,
  type InvoiceWorkflowInput,
} from './messages';
import { ACTIVITY_OPTIONS, businessFailureOf } from './activity-options';
import { CLOSE_FOLD_PATCH } from './period-close';

const activities = proxyActivities<SubscriptionActivities>(ACTIVITY_OPTIONS);

const DAY_MS = 86_400_000;

/** A deleted draft's workflow ends after its (no-op) finalization, without collection (see the end of invoiceWorkflow). */
export const INVOICE_DELETED_PATCH = 'invoice-deleted-v1';

export class InvoiceEntity {
  readonly ref: InvoiceRef;
  status: InvoiceLiveState['status'] = 'draft';
  graceEndsAt: string | null = null;
  refreshes = 0;
  refreshRequested = false;
  /** finalizeInvoiceUpdate: end the grace period now. */
  finalizeRequested = false;

  constructor(readonly input: InvoiceWorkflowInput) {
    if (input.version !== 1) {
      throw ApplicationFailure.nonRetryable(`Unsupported invoice workflow input version ${String(input.version)}`, 'unsupported_state_version');
    }
    if (!Number.isSafeInteger(input.gracePeriodDays) || input.gracePeriodDays < 0) {
      throw ApplicationFailure.nonRetryable(`gracePeriodDays must be a non-negative integer, got ${String(input.gracePeriodDays)}`, 'invalid_grace_period');
    }
    this.ref = { organizationId: input.organizationId, invoiceId: input.invoiceId };
  }

  requestRefresh(): void {
    if (this.status === 'draft') this.refreshRequested = true;
  }

  apply(result: PeriodInvoiceResult): void {
    this.status = result.status;
  }

  liveState(): InvoiceLiveState {
    return { invoiceId: this.input.invoiceId, status: this.status, graceEndsAt: this.graceEndsAt, refreshes: this.refreshes };
  }
}

export async function invoiceWorkflow(input: InvoiceWorkflowInput): Promise<InvoiceLiveState> {
  const invoice = new InvoiceEntity(input);
  // Test clocks (workflows/test-clock.ts): real time, or the subscription's test clock (patched 'test-clocks-v1').
  const time = invoiceWorkflowTime(input);
  const collection = new InvoiceCollection(invoice.ref, time);
  setHandler(invoiceStateQuery, () => invoice.liveState());
  setHandler(refreshInvoiceSignal, () => invoice.requestRefresh());
  setHandler(invoicePaymentQuery, () => collection.state);
  setHandler(invoicePaymentSignal, (p) => collection.onPaymentSignal(p));
  const refuse = (type: string, message: string) => ApplicationFailure.create({ message, type, nonRetryable: true });
  setHandler(
    refreshInvoiceUpdate,
    async () => {
      const before = invoice.refreshes;
      invoice.requestRefresh();
      await condition(() => invoice.refreshes > before || invoice.status !== 'draft');
      return invoice.liveState();
    },
    { validator: () => { if (invoice.status !== 'draft' || invoice.finalizeRequested) throw refuse(INVOICE_ACTION_ERRORS.notDraft, 'Only a draft invoice can be refreshed'); } },
  );
  setHandler(
    finalizeInvoiceUpdate,
    async () => {
      invoice.finalizeRequested = true;
      await condition(() => invoice.status !== 'draft');
      return invoice.liveState();
    },
    { validator: () => { if (invoice.status !== 'draft') throw refuse(INVOICE_ACTION_ERRORS.notDraft, 'Only a draft invoice can be finalized'); } },
  );
  setHandler(voidInvoiceUpdate, () => collection.voidNow(), {
    validator: () => {
      const why = invoice.status !== 'finalized' ? 'the invoice is a draft' : collection.voidRefusal();
      if (why) throw refuse(INVOICE_ACTION_ERRORS.notVoidable, `The invoice cannot be voided: ${why}`);
    },
  });
  setHandler(retryPaymentUpdate, () => collection.retryNow(), {
    validator: () => {
      const why = invoice.status !== 'finalized' ? 'the invoice is a draft' : collection.retryRefusal();
      if (why) throw refuse(INVOICE_ACTION_ERRORS.paymentNotRetryable, `Payment cannot be retried: ${why}`);
    },
  });

  await catchUpTestClock(time, input.organizationId);
  if (input.gracePeriodDays > 0) {
    const graceEndMs = time.startMs() + input.gracePeriodDays * DAY_MS;
    invoice.graceEndsAt = new Date(graceEndMs).toISOString();
    for (;;) {
      const remainingMs = graceEndMs - time.now();
      if (remainingMs <= 0) break;
      if (!(await time.condition(() => invoice.refreshRequested || invoice.finalizeRequested, remainingMs))) break;
      if (invoice.finalizeRequested) break;
      // Signals arriving while this refresh runs set the flag again: one more refresh covers them all.
      invoice.refreshRequested = false;
      invoice.refreshes += 1;
      try {
        invoice.apply(await activities.refreshDraftInvoice(invoice.ref));
      } catch (err) {
        const failure = businessFailureOf(err);
        if (!failure) throw err;
        log.error('Refreshing the draft invoice failed with a business failure; keeping the draft as it is', {
          invoiceId: input.invoiceId,
          type: failure.type,
          message: failure.message,
        });
      }
    }
  }

  // Issue 14 (workflows/period-close.ts): the close finalized it already, in its own transaction.
  if (input.finalizedAtClose === true && input.gracePeriodDays === 0 && patched(CLOSE_FOLD_PATCH)) invoice.status = 'finalized';
  else invoice.apply(await activities.finalizeInvoice(invoice.ref));
  invoice.refreshRequested = false;

  // del13 (issue 13): the draft was deleted (DELETE /invoices/:lago_id, decided by Postgres under the row lock), so
  // finalizeInvoice found the tombstone and did nothing: there is nothing to collect. Only reachable since deletion
  // exists, so no recorded history takes this branch; the marker is written only when it is taken.
  if (invoice.status === 'deleted' && patched(INVOICE_DELETED_PATCH)) {
    await condition(allHandlersFinished);
    return invoice.liveState();
  }

  // Payment collection and dunning (workflows/invoice-collection.ts). Histories recorded before this change
  // have no marker and skip it on replay.
  if (patched('payments-v1')) await collection.run();

  await condition(allHandlersFinished);
  return invoice.liveState();
}
