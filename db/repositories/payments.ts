// Payments, payment-provider connections, dunning campaigns, processed webhook events and payment events.
// Every query is scoped by organization_id. Status changes only move forward (STATUS_RANK): a reordered or
// duplicated provider notification can never move a payment back.
import type { Knex } from 'knex';
import { enqueuePaymentStepWebhooks, type PaymentStep } from './payment-webhooks';
import { settleTopUpOfPaidInvoice } from './wallet-top-up-settlement';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

export type PaymentStatus = 'pending' | 'requires_action' | 'failed' | 'processing' | 'succeeded' | 'canceled';

/** Forward-only order of payment statuses; an update to a lower or equal rank is ignored. */
export const STATUS_RANK: Readonly<Record<PaymentStatus, number>> = {
  pending: 0,
  requires_action: 1,
  failed: 2,
  processing: 3,
  succeeded: 4,
  canceled: 4,
};

export interface ProviderConfig {
  organizationId: string;
  provider: 'stripe';
  code: string;
  secretKey: string;
  webhookSecret: string | null;
  successRedirectUrl: string | null;
}

export interface PaymentRecord {
  id: string;
  organizationId: string;
  invoiceId: string;
  paymentType: 'provider' | 'manual';
  attempt: number | null;
  provider: string | null;
  providerPaymentId: string | null;
  idempotencyKey: string | null;
  amountCents: number;
  currency: string;
  status: PaymentStatus;
  failureType: string | null;
  declineCode: string | null;
  reference: string | null;
  paidAt: Date | null;
  refundedAmountCents: number;
  disputed: boolean;
  createdAt: Date;
}

export interface CollectionContext {
  invoiceId: string;
  organizationId: string;
  status: string;
  paymentStatus: string;
  number: string | null;
  currency: string;
  totalAmountCents: number;
  totalPaidAmountCents: number;
  /** total − paid, computed in SQL. */
  totalDueAmountCents: number;
  issuingDate: string | null;
  paymentDueDate: string | null;
  voided: boolean;
  /** POST /invoices/:id/lose_dispute set payment_dispute_lost_at (ops13c): no more collection. */
  paymentDisputeLost: boolean;
  subscriptionId: string;
  customer: {
    id: string;
    externalId: string;
    name: string | null;
    email: string | null;
    providerCustomerId: string | null;
    /** Customer setting, else the organization's (days). */
    netPaymentTerm: number;
  };
}

export interface DunningCampaign {
  code: string;
  maxAttempts: number;
  daysBetweenAttempts: number;
  thresholds: { currency: string; amountCents: number }[];
  consequence: 'mark_uncollectible' | 'suspend_subscription' | 'terminate_subscription';
}


function dateOnly(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) {
    const y = v.getFullYear();
    const m = String(v.getMonth() + 1).padStart(2, '0');
    const d = String(v.getDate()).padStart(2, '0');
    return `${y}-${m}-${d}`;
  }
  return String(v).slice(0, 10);
}

export function toPayment(row: Record<string, any>): PaymentRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    invoiceId: row.invoice_id,
    paymentType: row.payment_type,
    attempt: row.attempt ?? null,
    provider: row.provider ?? null,
    providerPaymentId: row.provider_payment_id ?? null,
    idempotencyKey: row.idempotency_key ?? null,
    amountCents: minorUnits(row.amount_cents, 'amount_cents'),
    currency: String(row.currency).trim(),
    status: row.status,
    failureType: row.failure_type ?? null,
    declineCode: row.decline_code ?? null,
    reference: row.reference ?? null,
    paidAt: row.paid_at ?? null,
    refundedAmountCents: minorUnits(row.refunded_amount_cents, 'refunded_amount_cents'),
    disputed: Boolean(row.disputed),
    createdAt: row.created_at,
  };
}

// ---- provider connections -----------------------------------------------------------------------------

export async function getProviderConfig(db: Db, organizationId: string): Promise<ProviderConfig | null> {
  const row = await db('payment_providers').where({ organization_id: organizationId, provider: 'stripe' }).first();
  if (!row) return null;
  return {
    organizationId,
    provider: 'stripe',
    code: row.code,
    secretKey: row.secret_key,
    webhookSecret: row.webhook_secret ?? null,
    successRedirectUrl: row.success_redirect_url ?? null,
  };
}

export async function upsertProviderConfig(db: Db, cfg: Omit<ProviderConfig, 'provider'>): Promise<void> {
  await db('payment_providers')
    .insert({
      organization_id: cfg.organizationId,
      provider: 'stripe',
      code: cfg.code,
      secret_key: cfg.secretKey,
      webhook_secret: cfg.webhookSecret,
      success_redirect_url: cfg.successRedirectUrl,
    })
    .onConflict(['organization_id', 'provider'])
    .merge(['code', 'secret_key', 'webhook_secret', 'success_redirect_url']);
}

export async function setProviderCustomerId(db: Db, organizationId: string, customerId: string, providerCustomerId: string): Promise<void> {
  await db('customers')
    .where({ organization_id: organizationId, id: customerId })
    .update({ payment_provider: 'stripe', provider_customer_id: providerCustomerId, updated_at: db.fn.now() });
}

// ---- invoices seen from collection --------------------------------------------------------------------

export async function getCollectionContext(db: Db, organizationId: string, invoiceId: string): Promise<CollectionContext | null> {
  const row = await db('invoices as i')
    .join('customers as c', 'c.id', 'i.customer_id')
    .join('billing_entity_settings as bes', function entity() {
      this.on('bes.organization_id', '=', 'i.organization_id').andOn('bes.code', '=', 'i.billing_entity_code');
    })
    .where({ 'i.organization_id': organizationId, 'i.id': invoiceId })
    .first(
      'i.*',
      'c.external_id as customer_external_id',
      'c.name as customer_name',
      'c.email as customer_email',
      'c.provider_customer_id',
      'c.net_payment_term as customer_net_payment_term',
      'bes.net_payment_term as org_net_payment_term',
      db.raw('(i.total_amount_cents - i.total_paid_amount_cents)::bigint as total_due_amount_cents'),
    );
  if (!row) return null;
  return {
    invoiceId: row.id,
    organizationId,
    status: row.status,
    paymentStatus: row.payment_status,
    number: row.number ?? null,
    currency: String(row.currency).trim(),
    totalAmountCents: minorUnits(row.total_amount_cents, 'total_amount_cents'),
    totalPaidAmountCents: minorUnits(row.total_paid_amount_cents, 'total_paid_amount_cents'),
    totalDueAmountCents: minorUnits(row.total_due_amount_cents, 'total_due_amount_cents'),
    issuingDate: dateOnly(row.issuing_date),
    paymentDueDate: dateOnly(row.payment_due_date),
    voided: row.voided_at !== null && row.voided_at !== undefined,
    paymentDisputeLost: row.payment_dispute_lost_at !== null && row.payment_dispute_lost_at !== undefined,
    subscriptionId: row.subscription_id,
    customer: {
      id: row.customer_id,
      externalId: row.customer_external_id,
      name: row.customer_name ?? null,
      email: row.customer_email ?? null,
      providerCustomerId: row.provider_customer_id ?? null,
      netPaymentTerm: row.customer_net_payment_term ?? row.org_net_payment_term ?? 0,
    },
  };
}

/** Sets payment_due_date once (issuing date + net payment term, computed in SQL on the date column). */
export async function setPaymentDueDateOnce(db: Db, organizationId: string, invoiceId: string, netPaymentTermDays: number): Promise<string | null> {
  await db('invoices')
    .where({ organization_id: organizationId, id: invoiceId })
    .whereNull('payment_due_date')
    .whereNotNull('issuing_date')
    .update({ payment_due_date: db.raw('issuing_date + ?::integer', [netPaymentTermDays]) });
  const row = await db('invoices').where({ organization_id: organizationId, id: invoiceId }).first('payment_due_date');
  return dateOnly(row?.payment_due_date);
}

export async function markPaymentOverdue(db: Db, organizationId: string, invoiceId: string): Promise<boolean> {
  const n = await db('invoices')
    .where({ organization_id: organizationId, id: invoiceId, payment_overdue: false })
    .whereNot({ payment_status: 'succeeded' })
    .whereNull('voided_at')
    .whereNull('payment_dispute_lost_at') // a lost dispute is no longer overdue (Lago; ops13c)
    .update({ payment_overdue: true, updated_at: db.fn.now() });
  return n > 0;
}

/**
 * Recomputes total_paid_amount_cents from the succeeded payments (net of refunds) and the invoice's
 * payment_status: succeeded when fully paid, failed when the latest provider attempt failed, else pending.
 */
export async function recomputeInvoicePayment(db: Db, organizationId: string, invoiceId: string): Promise<{ totalPaidAmountCents: number; paymentStatus: string }> {
  const [{ paid }] = await db('payments')
    .where({ organization_id: organizationId, invoice_id: invoiceId, status: 'succeeded' })
    .select(db.raw('coalesce(sum(amount_cents - refunded_amount_cents), 0)::bigint as paid'));
  const latest = await db('payments')
    .where({ organization_id: organizationId, invoice_id: invoiceId, payment_type: 'provider' })
    .orderBy([{ column: 'attempt', order: 'desc', nulls: 'last' }, { column: 'created_at', order: 'desc' }])
    .first('status');
  const invoice = await db('invoices').where({ organization_id: organizationId, id: invoiceId }).first('total_amount_cents', 'payment_status');
  const totalPaid = minorUnits(paid, 'paid');
  const total = minorUnits(invoice.total_amount_cents, 'total_amount_cents');
  const paymentStatus = totalPaid >= total && total > 0 ? 'succeeded' : latest?.status === 'failed' ? 'failed' : 'pending';
  if (paymentStatus !== invoice.payment_status) {
    // Lago's invoice.payment_status_updated, once per change: the key counts the payments that led to it, so
    // pending → failed → pending → failed announces both failures while a replayed recompute announces none.
    const [{ n }] = await db('payments').where({ organization_id: organizationId, invoice_id: invoiceId }).count({ n: '*' });
    await insertPaymentEvent(db, {
      organizationId,
      invoiceId,
      eventType: 'invoice.payment_status_updated',
      dedupeKey: `invoice:${invoiceId}:payment_status:${paymentStatus}:payments:${String(n)}`,
      payload: { payment_status: paymentStatus, total_paid_amount_cents: totalPaid },
    });
  }
  await db('invoices')
    .where({ organization_id: organizationId, id: invoiceId })
    .update({
      total_paid_amount_cents: totalPaid,
      payment_status: paymentStatus,
      ...(paymentStatus === 'succeeded' ? { payment_overdue: false } : {}),
      updated_at: db.fn.now(),
    });
  // A paid top-up invoice credits its wallet (once; issue 12, wallet-top-up-settlement.ts).
  if (paymentStatus === 'succeeded') await settleTopUpOfPaidInvoice(db, organizationId, invoiceId, new Date());
  return { totalPaidAmountCents: totalPaid, paymentStatus };
}

// ---- payments -----------------------------------------------------------------------------------------

export interface ClaimProviderPaymentInput {
  organizationId: string;
  invoiceId: string;
  attempt: number;
  idempotencyKey: string;
  amountCents: number;
  currency: string;
}

/** The payment row of (invoice, attempt), created as pending the first time (unique index). */
export async function claimProviderPayment(db: Db, input: ClaimProviderPaymentInput): Promise<PaymentRecord> {
  await db('payments')
    .insert({
      organization_id: input.organizationId,
      invoice_id: input.invoiceId,
      payment_type: 'provider',
      attempt: input.attempt,
      provider: 'stripe',
      idempotency_key: input.idempotencyKey,
      amount_cents: input.amountCents,
      currency: input.currency,
      status: 'pending',
    })
    .onConflict(['invoice_id', 'attempt'])
    .ignore();
  const row = await db('payments').where({ organization_id: input.organizationId, invoice_id: input.invoiceId, attempt: input.attempt }).first();
  return toPayment(row);
}

export interface PaymentOutcome {
  status: PaymentStatus;
  providerPaymentId?: string | null;
  failureType?: string | null;
  declineCode?: string | null;
}

/** Moves the payment forward to `outcome.status` (ignored when not forward). Returns the row as stored. */
export async function recordPaymentOutcome(db: Db, organizationId: string, paymentId: string, outcome: PaymentOutcome): Promise<PaymentRecord> {
  const lower = (Object.keys(STATUS_RANK) as PaymentStatus[]).filter((s) => STATUS_RANK[s] < STATUS_RANK[outcome.status]);
  await db('payments')
    .where({ organization_id: organizationId, id: paymentId })
    .whereIn('status', lower)
    .update({
      status: outcome.status,
      ...(outcome.providerPaymentId ? { provider_payment_id: outcome.providerPaymentId } : {}),
      failure_type: outcome.failureType ?? null,
      decline_code: outcome.declineCode ?? null,
      ...(outcome.status === 'succeeded' ? { paid_at: db.fn.now() } : {}),
      updated_at: db.fn.now(),
    });
  // The provider id is attached even when the status did not move (first sight of the PaymentIntent).
  if (outcome.providerPaymentId) {
    await db('payments').where({ organization_id: organizationId, id: paymentId }).whereNull('provider_payment_id').update({ provider_payment_id: outcome.providerPaymentId });
  }
  return toPayment(await db('payments').where({ organization_id: organizationId, id: paymentId }).first());
}

export async function getPayment(db: Db, organizationId: string, paymentId: string): Promise<PaymentRecord | null> {
  const row = await db('payments').where({ organization_id: organizationId, id: paymentId }).first();
  return row ? toPayment(row) : null;
}

export async function findPaymentByProviderId(db: Db, organizationId: string, providerPaymentId: string): Promise<PaymentRecord | null> {
  const row = await db('payments').where({ organization_id: organizationId, provider_payment_id: providerPaymentId }).first();
  return row ? toPayment(row) : null;
}

/**
 * A provider payment first seen through a webhook (e.g. paid on the payment_url's Checkout page): inserted
 * with attempt NULL, unique on the provider id.
 */
export async function upsertWebhookPayment(
  db: Db,
  input: { organizationId: string; invoiceId: string; providerPaymentId: string; amountCents: number; currency: string },
): Promise<PaymentRecord> {
  await db('payments')
    .insert({
      organization_id: input.organizationId,
      invoice_id: input.invoiceId,
      payment_type: 'provider',
      provider: 'stripe',
      provider_payment_id: input.providerPaymentId,
      amount_cents: input.amountCents,
      currency: input.currency,
      status: 'pending',
    })
    .onConflict(['organization_id', 'provider_payment_id'])
    .ignore();
  return (await findPaymentByProviderId(db, input.organizationId, input.providerPaymentId))!;
}

export async function recordRefund(db: Db, organizationId: string, paymentId: string, refundedAmountCents: number): Promise<void> {
  // Stripe's charge.refunded carries the cumulative amount_refunded: take the max, never add (replays are no-ops).
  await db('payments')
    .where({ organization_id: organizationId, id: paymentId })
    .update({ refunded_amount_cents: db.raw('greatest(refunded_amount_cents, ?::bigint)', [refundedAmountCents]), updated_at: db.fn.now() });
}

export async function markDisputed(db: Db, organizationId: string, paymentId: string): Promise<void> {
  await db('payments').where({ organization_id: organizationId, id: paymentId }).update({ disputed: true, updated_at: db.fn.now() });
}

export async function insertManualPayment(
  db: Db,
  input: { organizationId: string; invoiceId: string; amountCents: number; currency: string; reference: string; paidAt: string },
): Promise<PaymentRecord> {
  const [row] = await db('payments')
    .insert({
      organization_id: input.organizationId,
      invoice_id: input.invoiceId,
      payment_type: 'manual',
      amount_cents: input.amountCents,
      currency: input.currency,
      status: 'succeeded',
      reference: input.reference,
      paid_at: input.paidAt,
    })
    .returning('*');
  return toPayment(row);
}

export async function listPayments(db: Db, organizationId: string, invoiceId: string): Promise<PaymentRecord[]> {
  const rows = await db('payments').where({ organization_id: organizationId, invoice_id: invoiceId }).orderBy('created_at');
  return rows.map(toPayment);
}

// ---- webhooks in, payment events out ------------------------------------------------------------------

/** True the first time this Stripe event id is seen for the organization. */
export async function recordWebhookEvent(db: Db, organizationId: string, eventId: string, eventType: string): Promise<boolean> {
  const rows = await db('stripe_webhook_events')
    .insert({ organization_id: organizationId, event_id: eventId, event_type: eventType })
    .onConflict(['organization_id', 'event_id'])
    .ignore()
    .returning('event_id');
  return rows.length > 0;
}

/**
 * A webhook-ready record of a payment or dunning step, written once per dedupe key; the first time, the Lago
 * webhook it stands for is enqueued in the same transaction (db/repositories/payment-webhooks.ts).
 */
export async function insertPaymentEvent(db: Db, input: PaymentStep): Promise<void> {
  const write = async (trx: Knex.Transaction): Promise<void> => {
    const inserted = await trx('payment_events')
      .insert({
        organization_id: input.organizationId,
        invoice_id: input.invoiceId,
        event_type: input.eventType,
        dedupe_key: input.dedupeKey,
        payload: JSON.stringify(input.payload),
      })
      .onConflict(['organization_id', 'dedupe_key'])
      .ignore()
      .returning('id');
    if (inserted.length > 0) await enqueuePaymentStepWebhooks(trx, input);
  };
  if (isTransaction(db)) await write(db);
  else await db.transaction(write);
}

function isTransaction(db: Db): db is Knex.Transaction {
  return (db as Knex.Transaction).isTransaction === true;
}

export async function listPaymentEvents(db: Db, organizationId: string, invoiceId: string): Promise<{ eventType: string; dedupeKey: string; payload: Record<string, unknown> }[]> {
  const rows = await db('payment_events').where({ organization_id: organizationId, invoice_id: invoiceId }).orderBy('id');
  return rows.map((r: Record<string, any>) => ({ eventType: r.event_type, dedupeKey: r.dedupe_key, payload: r.payload }));
}

// ---- dunning ------------------------------------------------------------------------------------------

export async function getDefaultDunningCampaign(db: Db, organizationId: string): Promise<DunningCampaign | null> {
  const row = await db('dunning_campaigns').where({ organization_id: organizationId, applied_to_organization: true }).first();
  if (!row) return null;
  return {
    code: row.code,
    maxAttempts: row.max_attempts,
    daysBetweenAttempts: row.days_between_attempts,
    thresholds: (row.thresholds as { currency: string; amount_cents: number }[]).map((t) => ({ currency: t.currency, amountCents: minorUnits(t.amount_cents, 'amount_cents') })),
    consequence: row.consequence,
  };
}

export async function upsertDunningCampaign(db: Db, organizationId: string, c: DunningCampaign & { name?: string; appliedToOrganization: boolean }): Promise<void> {
  await db('dunning_campaigns')
    .insert({
      organization_id: organizationId,
      code: c.code,
      name: c.name ?? c.code,
      max_attempts: c.maxAttempts,
      days_between_attempts: c.daysBetweenAttempts,
      thresholds: JSON.stringify(c.thresholds.map((t) => ({ currency: t.currency, amount_cents: t.amountCents }))),
      consequence: c.consequence,
      applied_to_organization: c.appliedToOrganization,
    })
    .onConflict(['organization_id', 'code'])
    .merge();
}

/** Dunning exhausted: payment_status failed (unless it was paid meanwhile). */
export async function markInvoicePaymentFailed(db: Db, organizationId: string, invoiceId: string): Promise<void> {
  await db('invoices')
    .where({ organization_id: organizationId, id: invoiceId })
    .whereNot({ payment_status: 'succeeded' })
    .update({ payment_status: 'failed', updated_at: db.fn.now() });
}

/** Locks the invoice row for a payment being recorded (serializes concurrent manual payments). */
export async function lockInvoiceForPayment(trx: Knex.Transaction, organizationId: string, invoiceId: string): Promise<boolean> {
  // A deleted draft (del13) is not found, as Lago's visible scope answers.
  const row = await trx('invoices').where({ organization_id: organizationId, id: invoiceId }).whereNot('status', 'deleted').forUpdate().first('id');
  return row !== undefined;
}

/** The stored Stripe customer id of a customer (null when not linked). */
export async function getProviderCustomerId(db: Db, organizationId: string, customerId: string): Promise<string | null> {
  const row = await db('customers').where({ organization_id: organizationId, id: customerId }).first('provider_customer_id');
  return row?.provider_customer_id ?? null;
}

export interface InvoicePaymentFields {
  voided: boolean;
  metadata: { key: string; value: string }[];
  totalPaidAmountCents: number;
  totalDueAmountCents: number;
  paymentDueDate: string | null;
  paymentOverdue: boolean;
  netPaymentTerm: number;
  /** Lago's payment_dispute_lost_at (ISO), null unless POST /invoices/:id/lose_dispute set it (ops13c). */
  paymentDisputeLostAt: string | null;
}

/** The payment fields of invoices (Lago: total_paid_amount_cents, total_due_amount_cents, payment_due_date, ...). */
export async function invoicePaymentFields(db: Db, organizationId: string, invoiceIds: string[]): Promise<Map<string, InvoicePaymentFields>> {
  if (invoiceIds.length === 0) return new Map();
  const rows = await db('invoices as i')
    .join('customers as c', 'c.id', 'i.customer_id')
    .join('billing_entity_settings as bes', function entity() {
      this.on('bes.organization_id', '=', 'i.organization_id').andOn('bes.code', '=', 'i.billing_entity_code');
    })
    .where('i.organization_id', organizationId)
    .whereIn('i.id', invoiceIds)
    .select(
      'i.id',
      'i.total_paid_amount_cents',
      db.raw('(i.total_amount_cents - i.total_paid_amount_cents)::bigint as total_due_amount_cents'),
      // Stored by prepareCollection; until then (drafts, invoices finalized before payments existed) the same
      // rule computed here: issuing date (else the period end's UTC date) + the net payment term.
      db.raw(
        "coalesce(i.payment_due_date, i.issuing_date + coalesce(c.net_payment_term, bes.net_payment_term), (i.period_end at time zone 'UTC')::date + coalesce(c.net_payment_term, bes.net_payment_term)) as payment_due_date",
      ),
      'i.payment_overdue',
      'i.voided_at',
      'i.metadata',
      'i.payment_dispute_lost_at',
      db.raw('coalesce(c.net_payment_term, bes.net_payment_term) as net_payment_term'),
    );
  return new Map(
    rows.map((r: Record<string, any>) => [
      r.id,
      {
        voided: r.voided_at !== null,
        metadata: Array.isArray(r.metadata) ? r.metadata : [],
        totalPaidAmountCents: minorUnits(r.total_paid_amount_cents, 'total_paid_amount_cents'),
        totalDueAmountCents: minorUnits(r.total_due_amount_cents, 'total_due_amount_cents'),
        paymentDueDate: dateOnly(r.payment_due_date),
        paymentOverdue: Boolean(r.payment_overdue),
        netPaymentTerm: Number(r.net_payment_term ?? 0),
        paymentDisputeLostAt: r.payment_dispute_lost_at ? new Date(r.payment_dispute_lost_at).toISOString() : null,
      },
    ]),
  );
}

/**
 * Voids a finalized, unpaid invoice (keeps its number). Stored as voided_at on a row whose status stays
 * 'finalized' until the invoices repository knows a 'voided' status; serialized as status "voided".
 */
export async function voidInvoiceRow(db: Db, organizationId: string, invoiceId: string): Promise<'voided' | 'not_voidable' | 'not_found'> {
  const n = await db('invoices')
    .where({ organization_id: organizationId, id: invoiceId, status: 'finalized' })
    .whereNull('voided_at')
    .whereNot({ payment_status: 'succeeded' })
    .update({ voided_at: db.fn.now(), payment_overdue: false, updated_at: db.fn.now() });
  if (n > 0) {
    await insertPaymentEvent(db, { organizationId, invoiceId, eventType: 'invoice.voided', dedupeKey: `invoice:${invoiceId}:voided`, payload: {} });
    return 'voided';
  }
  const row = await db('invoices').where({ organization_id: organizationId, id: invoiceId }).first('id');
  return row ? 'not_voidable' : 'not_found';
}

export async function isInvoiceVoided(db: Db, organizationId: string, invoiceId: string): Promise<boolean> {
  const row = await db('invoices').where({ organization_id: organizationId, id: invoiceId }).first('voided_at');
  return Boolean(row?.voided_at);
}

/** PUT /invoices/:id: payment_status and/or metadata (Lago's [{key, value}], replaced as a whole). */
export async function updateInvoiceFields(
  db: Db,
  organizationId: string,
  invoiceId: string,
  fields: { paymentStatus?: 'pending' | 'succeeded' | 'failed'; metadata?: { key: string; value: string }[] },
): Promise<boolean> {
  const values: Record<string, unknown> = { updated_at: db.fn.now() };
  if (fields.paymentStatus !== undefined) values.payment_status = fields.paymentStatus;
  if (fields.metadata !== undefined) values.metadata = JSON.stringify(fields.metadata);
  const n = await db('invoices').where({ organization_id: organizationId, id: invoiceId }).update(values);
  if (n > 0 && fields.paymentStatus !== undefined) {
    await insertPaymentEvent(db, { organizationId, invoiceId, eventType: 'invoice.payment_status_updated', dedupeKey: `invoice:${invoiceId}:payment_status:${fields.paymentStatus}`, payload: { payment_status: fields.paymentStatus } });
  }
  if (n > 0 && fields.paymentStatus === 'succeeded') await settleTopUpOfPaidInvoice(db, organizationId, invoiceId, new Date());
  return n > 0;
}
