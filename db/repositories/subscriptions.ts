// Subscriptions: one row per (organization_id, external_id); the row id names its workflow.
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import { subscriptionWorkflowId } from '../../contracts/workflows';
import { announceSubscription } from './subscription-webhooks';

export type SubscriptionStatus = 'pending' | 'active' | 'terminated';

export interface SubscriptionRecord {
  id: string;
  organizationId: string;
  customerId: string;
  externalCustomerId: string;
  planId: string;
  planCode: string;
  planInterval: string;
  planAmountCents: number;
  planAmountCurrency: string;
  customerTimezone: string | null;
  /** The customer's billing entity (Lago 1.51's SubscriptionObject billing_entity_code). */
  billingEntityCode: string;
  externalId: string;
  name: string | null;
  status: SubscriptionStatus;
  billingTime: 'calendar' | 'anniversary';
  subscriptionAt: Date;
  startedAt: Date | null;
  terminatedAt: Date | null;
  workflowId: string;
  createdAt: Date;
  /** The test clock this subscription lives on (sandbox; issue 11c), or null for real time. */
  testClockId?: string | null;
  /** Plan changes (issue 11b): when the workflow terminates it (Lago's ending_at), null = never. */
  endingAt: Date | null;
  /** Migration start: the first instant Meterline bills (earlier periods were billed elsewhere), null = subscription_at. */
  billingStartsAt: Date | null;
  /** The plan's trial, in days (decimal string as stored). */
  planTrialPeriod: string;
  /** Plan overrides: the subscription's plan is a child plan of this catalog plan (plan_code is the parent's), else null. */
  planParentId?: string | null;
  /** Termination options stored on the subscription (db/repositories/termination-options.ts); null = Lago's default. */
  onTerminationInvoice?: 'generate' | 'skip' | null;
  onTerminationCreditNote?: 'credit' | 'refund' | 'skip' | null;
}

export interface NewSubscription {
  customerId: string;
  planId: string;
  externalId: string;
  name: string | null;
  status: SubscriptionStatus;
  billingTime: 'calendar' | 'anniversary';
  subscriptionAt: string;
  startedAt: string | null;
  /** A test clock to live on (sandbox; issue 11c). */
  testClockId?: string | null;
  endingAt?: string | null;
  billingStartsAt?: string | null;
}

function baseQuery(db: Knex, organizationId: string) {
  return db('subscriptions as s')
    .join('customers as c', 'c.id', 's.customer_id')
    .join('plans as p', 'p.id', 's.plan_id')
    .join('billing_entity_settings as bes', function entity() {
      this.on('bes.organization_id', '=', 'c.organization_id').andOn('bes.code', '=', 'c.billing_entity_code');
    })
    .where('s.organization_id', organizationId)
    .select(
      's.*',
      'c.external_id as external_customer_id',
      'c.billing_entity_code',
      // A second billing entity's timezone applies to its customers without one (the default entity's is the
      // organization's, which callers pass as the default).
      db.raw('CASE WHEN bes.is_default THEN c.timezone ELSE COALESCE(c.timezone, bes.timezone) END AS customer_timezone'),
      'p.code as plan_code',
      'p.interval as plan_interval',
      'p.amount_cents as plan_amount_cents',
      'p.amount_currency as plan_amount_currency',
      'p.trial_period as plan_trial_period',
      'p.parent_id as plan_parent_id',
    );
}

function toSubscription(row: Record<string, any>): SubscriptionRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    customerId: row.customer_id,
    externalCustomerId: row.external_customer_id,
    planId: row.plan_id,
    planCode: row.plan_code,
    planInterval: row.plan_interval,
    planAmountCents: row.plan_amount_cents,
    planAmountCurrency: String(row.plan_amount_currency).trim(),
    customerTimezone: row.customer_timezone ?? null,
    billingEntityCode: row.billing_entity_code,
    externalId: row.external_id,
    name: row.name ?? null,
    status: row.status,
    billingTime: row.billing_time,
    subscriptionAt: row.subscription_at,
    startedAt: row.started_at ?? null,
    terminatedAt: row.terminated_at ?? null,
    workflowId: row.workflow_id,
    createdAt: row.created_at,
    testClockId: row.test_clock_id ?? null,
    endingAt: row.ending_at ?? null,
    billingStartsAt: row.billing_starts_at ?? null,
    planTrialPeriod: String(row.plan_trial_period ?? '0'),
    planParentId: row.plan_parent_id ?? null,
    onTerminationInvoice: row.on_termination_invoice ?? null,
    onTerminationCreditNote: row.on_termination_credit_note ?? null,
  };
}

/**
 * Insert the subscription unless (organization_id, external_id) exists. Returns the stored row and whether
 * this call created it (an existing row is returned as is: the caller decides if it is the same request).
 */
export async function insertSubscription(
  db: Knex,
  organizationId: string,
  s: NewSubscription,
): Promise<{ subscription: SubscriptionRecord; created: boolean }> {
  const id = crypto.randomUUID();
  // The row and its subscription.started (created active) commit together; a replayed POST inserts nothing and enqueues nothing.
  return db.transaction(async (trx) => {
    const inserted = await trx('subscriptions')
      .insert({
        id,
        organization_id: organizationId,
        customer_id: s.customerId,
        plan_id: s.planId,
        external_id: s.externalId,
        name: s.name,
        status: s.status,
        billing_time: s.billingTime,
        subscription_at: s.subscriptionAt,
        started_at: s.startedAt,
        ending_at: s.endingAt ?? null,
        billing_starts_at: s.billingStartsAt ?? null,
        workflow_id: subscriptionWorkflowId(id),
        ...(s.testClockId ? { test_clock_id: s.testClockId } : {}),
      })
      .onConflict(['organization_id', 'external_id'])
      .ignore()
      .returning('id');
    if (inserted.length > 0 && s.status === 'active') await announceSubscription(trx, organizationId, 'subscription.started', id);
    const subscription = await getSubscriptionByExternalId(trx, organizationId, s.externalId);
    if (!subscription) throw new Error(`subscription ${s.externalId} vanished after insert`);
    return { subscription, created: inserted.length > 0 };
  });
}

export async function getSubscriptionByExternalId(db: Knex, organizationId: string, externalId: string): Promise<SubscriptionRecord | null> {
  const row = await baseQuery(db, organizationId).andWhere('s.external_id', externalId).first();
  return row ? toSubscription(row) : null;
}

/** Null ids (one-off invoices have no subscription) are skipped. */
export async function getSubscriptionsByIds(db: Knex, organizationId: string, ids: readonly (string | null)[]): Promise<SubscriptionRecord[]> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  if (wanted.length === 0) return [];
  const rows = await baseQuery(db, organizationId).whereIn('s.id', wanted);
  return rows.map(toSubscription);
}

export interface SubscriptionLookup {
  id: string;
  externalId: string;
  externalCustomerId: string;
  customerId: string;
  status: SubscriptionStatus;
  /** ISO UTC */
  subscriptionAt: string;
  /** ISO UTC; null unless terminated. */
  terminatedAt?: string | null;
  /** The test clock it lives on (issue 11c), or null. */
  testClockId?: string | null;
}

/** Minimal rows for ingest: one query for many external ids. */
export async function lookupSubscriptions(db: Knex, organizationId: string, externalIds: string[]): Promise<SubscriptionLookup[]> {
  if (externalIds.length === 0) return [];
  const rows = await db('subscriptions as s')
    .join('customers as c', 'c.id', 's.customer_id')
    .where('s.organization_id', organizationId)
    .whereIn('s.external_id', externalIds)
    .select('s.id', 's.external_id', 's.status', 's.customer_id', 's.subscription_at', 's.terminated_at', 's.test_clock_id', 'c.external_id as external_customer_id');
  return rows.map((r: Record<string, any>) => ({
    id: r.id,
    externalId: r.external_id,
    externalCustomerId: r.external_customer_id,
    customerId: r.customer_id,
    status: r.status,
    subscriptionAt: new Date(r.subscription_at).toISOString(),
    terminatedAt: r.terminated_at ? new Date(r.terminated_at).toISOString() : null,
    testClockId: r.test_clock_id ?? null,
  }));
}

export async function listSubscriptions(
  db: Knex,
  organizationId: string,
  filter: { externalCustomerId?: string; planCode?: string; statuses?: SubscriptionStatus[]; billingEntityCodes?: string[]; page: number; perPage: number },
): Promise<{ subscriptions: SubscriptionRecord[]; totalCount: number }> {
  const q = baseQuery(db, organizationId);
  if (filter.billingEntityCodes && filter.billingEntityCodes.length > 0) q.whereIn('c.billing_entity_code', filter.billingEntityCodes);
  if (filter.externalCustomerId !== undefined) q.andWhere('c.external_id', filter.externalCustomerId);
  if (filter.planCode !== undefined) q.andWhere('p.code', filter.planCode);
  if (filter.statuses && filter.statuses.length > 0) q.whereIn('s.status', filter.statuses);
  const countQuery = q.clone().clearSelect().clearOrder().count<{ count: string }[]>('* as count');
  const [{ count }] = await countQuery;
  const rows = await q.orderBy([{ column: 's.created_at' }, { column: 's.id' }]).limit(filter.perPage).offset((filter.page - 1) * filter.perPage);
  return { subscriptions: rows.map(toSubscription), totalCount: Number(count) };
}

/**
 * Sets status 'terminated' and terminated_at. Idempotent: an already terminated subscription keeps its first
 * terminated_at (a retried or replayed call changes nothing). Returns the stored termination instant.
 */
export async function markSubscriptionTerminated(
  db: Knex | Knex.Transaction,
  organizationId: string,
  subscriptionId: string,
  terminatedAt: string,
): Promise<{ terminatedAt: string; changed: boolean }> {
  const when = new Date(terminatedAt);
  if (Number.isNaN(when.getTime())) {
    throw new BillingError('invalid_datetime', `Not an ISO datetime: ${terminatedAt}`, 'terminated_at');
  }
  // The status change and its subscription.terminated commit together (a savepoint inside a caller's transaction).
  const updated: { terminated_at: Date }[] = await db.transaction(async (trx) => {
    const rows: { terminated_at: Date }[] = await trx('subscriptions')
      .where({ organization_id: organizationId, id: subscriptionId })
      .whereNot('status', 'terminated')
      .update({ status: 'terminated', terminated_at: when })
      .returning(['terminated_at']);
    if (rows[0]) await announceSubscription(trx, organizationId, 'subscription.terminated', subscriptionId);
    return rows;
  });
  if (updated[0]) return { terminatedAt: updated[0].terminated_at.toISOString(), changed: true };
  const existing: { terminated_at: Date | null } | undefined = await db('subscriptions')
    .where({ organization_id: organizationId, id: subscriptionId })
    .first('terminated_at');
  if (!existing) throw new BillingError('subscription_not_found', `Subscription ${subscriptionId} not found`, 'subscription_id');
  return { terminatedAt: (existing.terminated_at ?? when).toISOString(), changed: false };
}
