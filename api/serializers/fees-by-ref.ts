// Lago FeeObjects by reference (fee id + the invoice holding it, null for a fee on no invoice), each serialized as
// on its invoice (api/serializers/invoice.ts, as GET /invoices/:id shows it) or as a fee on no invoice
// (api/serializers/uninvoiced-fee.ts). One reader for GET /fees, GET /fees/:id, PUT /fees/:id and the `fee` a
// credit note's items carry (Lago's CreditNoteItemObject), in the API and in the credit_note.created webhook.
import type { Knex } from 'knex';
import { getCustomersByIds } from '../../db/repositories/customers';
import type { FeeRef } from '../../db/repositories/everyday-reads';
import { getInvoice, type InvoiceRecord } from '../../db/repositories/invoices';
import { metricIdsOfCharges } from '../../db/repositories/plans';
import { getSubscriptionsByIds } from '../../db/repositories/subscriptions';
import { getUninvoicedFeesByIds } from '../../db/repositories/uninvoiced-fees';
import { storedInvoice } from './invoice';
import { uninvoicedFee } from './uninvoiced-fee';

/** The fees of `refs`, by fee id (a reference to no stored fee is absent). */
export async function lagoFeesById(db: Knex, organizationId: string, defaultTimezone: string, refs: FeeRef[]): Promise<Map<string, unknown>> {
  const invoices: InvoiceRecord[] = [];
  for (const id of [...new Set(refs.map((r) => r.invoiceId).filter((i): i is string => i !== null))]) {
    const inv = await getInvoice(db, organizationId, id);
    if (inv) invoices.push(inv);
  }
  const uninvoiced = await getUninvoicedFeesByIds(db, organizationId, refs.filter((r) => r.invoiceId === null).map((r) => r.feeId));
  const chargeIds = [...invoices.flatMap((i) => i.fees.map((f) => f.chargeId)), ...[...uninvoiced.values()].map((f) => f.chargeId)].filter((id): id is string => id !== null);
  const [customers, subscriptions, metricIdByCharge] = await Promise.all([
    getCustomersByIds(db, organizationId, invoices.map((i) => i.customerId)),
    getSubscriptionsByIds(db, organizationId, invoices.map((i) => i.subscriptionId)),
    metricIdsOfCharges(db, organizationId, chargeIds),
  ]);
  const subById = new Map(subscriptions.map((s) => [s.id, s]));
  const byId = new Map<string, unknown>();
  for (const inv of invoices) {
    const body = storedInvoice(inv, customers.get(inv.customerId), inv.subscriptionId === null ? undefined : subById.get(inv.subscriptionId), metricIdByCharge, defaultTimezone);
    for (const fee of body.fees) if (fee.lago_id) byId.set(fee.lago_id, fee);
  }
  for (const fee of uninvoiced.values()) byId.set(fee.id, uninvoicedFee(fee, metricIdByCharge));
  return byId;
}

/** The fees of `refs` in their order (those not found left out). */
export async function lagoFeesByRef(db: Knex, organizationId: string, defaultTimezone: string, refs: FeeRef[]): Promise<unknown[]> {
  const byId = await lagoFeesById(db, organizationId, defaultTimezone, refs);
  return refs.map((r) => byId.get(r.feeId)).filter((f) => f !== undefined);
}
