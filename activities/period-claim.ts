// The period invoice a close claims (db/repositories/invoices.ts claimPeriodInvoice: insert or lock the one invoice of
// the subscription's period), from the close's own input: the same claim for the two-step close, the one-step close
// (activities/period-close.ts) and the waiting-for-rate mark (activities/fx.ts).
import type { Knex } from 'knex';
import { claimPeriodInvoice } from '../db/repositories/invoices';
import type { LockedInvoice } from '../db/repositories/invoices';
import type { CreatePeriodInvoiceInput } from './types';

export function claimClosedPeriodInvoice(trx: Knex.Transaction, input: CreatePeriodInvoiceInput, customerId: string, currency: string): Promise<LockedInvoice> {
  return claimPeriodInvoice(trx, {
    organizationId: input.organizationId,
    subscriptionId: input.subscriptionId,
    customerId,
    invoiceType: input.kind,
    period: input.period,
    fullPeriod: input.fullPeriod,
    currency,
  });
}
