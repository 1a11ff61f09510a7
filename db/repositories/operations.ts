// Fleet-wide read models for operators (metrics, readiness). The one place where a query spans organizations
// on purpose: an operator's gauge counts every tenant's invoices; nothing here is served to an API client.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface InvoiceStatusCount {
  status: string;
  paymentStatus: string;
  count: number;
}

/** Invoices by (status, payment_status), across organizations. */
export async function countInvoicesByStatus(db: Db): Promise<InvoiceStatusCount[]> {
  const rows = (await db('invoices').select('status', 'payment_status').count({ n: '*' }).groupBy('status', 'payment_status')) as {
    status: string;
    payment_status: string;
    n: string | number;
  }[];
  return rows.map((r) => ({ status: r.status, paymentStatus: r.payment_status, count: Number(r.n) }));
}

/** Payment attempts (provider and manual) by type and status, across organizations (the /metrics gauge). */
export async function countPaymentsByStatus(db: Db): Promise<{ paymentType: string; status: string; count: number }[]> {
  const rows = (await db('payments').select('payment_type', 'status').count({ n: '*' }).groupBy('payment_type', 'status')) as { payment_type: string; status: string; n: string | number }[];
  return rows.map((r) => ({ paymentType: r.payment_type, status: r.status, count: Number(r.n) }));
}

/** Outgoing webhook deliveries (the outbox) by status, across organizations (the /metrics gauge). */
export async function countWebhooksByStatus(db: Db): Promise<{ status: string; count: number }[]> {
  const rows = (await db('webhooks').select('status').count({ n: '*' }).groupBy('status')) as { status: string; n: string | number }[];
  return rows.map((r) => ({ status: r.status, count: Number(r.n) }));
}

/** Round trip to Postgres (readiness). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.raw('select 1');
}
