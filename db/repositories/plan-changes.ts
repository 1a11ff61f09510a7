// Plan changes of subscriptions (table subscription_plan_changes, migration 20261201000800) and the subscription
// terms the plan-change workflow module acts on (ending_at, pending start). See the migration for the rules.
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import type { PlanChangeKind } from '../../billing/plan-change';
import { announceSubscription } from './subscription-webhooks';

type Db = Knex | Knex.Transaction;

export interface PlanChangeRecord {
  id: string;
  subscriptionId: string;
  fromPlanId: string;
  fromPlanCode: string;
  toPlanId: string;
  toPlanCode: string;
  toPlanInterval: string;
  kind: PlanChangeKind;
  status: 'pending' | 'applied' | 'canceled';
  /** ISO UTC */
  effectiveAt: string;
}

function changesQuery(db: Db, organizationId: string) {
  return db('subscription_plan_changes as pc')
    .join('plans as fp', 'fp.id', 'pc.from_plan_id')
    .join('plans as tp', 'tp.id', 'pc.to_plan_id')
    .where('pc.organization_id', organizationId)
    .select('pc.*', 'fp.code as from_plan_code', 'tp.code as to_plan_code', 'tp.interval as to_plan_interval');
}

function toChange(row: Record<string, any>): PlanChangeRecord {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    fromPlanId: row.from_plan_id,
    fromPlanCode: row.from_plan_code,
    toPlanId: row.to_plan_id,
    toPlanCode: row.to_plan_code,
    toPlanInterval: row.to_plan_interval,
    kind: row.kind,
    status: row.status,
    effectiveAt: new Date(row.effective_at).toISOString(),
  };
}

export async function getPlanChange(db: Db, organizationId: string, changeId: string): Promise<PlanChangeRecord | null> {
  const row = await changesQuery(db, organizationId).andWhere('pc.id', changeId).first();
  return row ? toChange(row) : null;
}

export async function getPendingPlanChange(db: Db, organizationId: string, subscriptionId: string): Promise<PlanChangeRecord | null> {
  const row = await changesQuery(db, organizationId).andWhere({ 'pc.subscription_id': subscriptionId, 'pc.status': 'pending' }).first();
  return row ? toChange(row) : null;
}

/**
 * Records a requested change as the subscription's one pending change: an earlier pending change is canceled
 * (Lago replaces next_plan_code) in the same transaction.
 */
export async function requestPlanChange(
  db: Knex,
  organizationId: string,
  c: { subscriptionId: string; fromPlanId: string; toPlanId: string; kind: PlanChangeKind; effectiveAt: string },
): Promise<PlanChangeRecord> {
  const id = await db.transaction(async (trx) => {
    await cancelPendingPlanChange(trx, organizationId, c.subscriptionId);
    const [row] = await trx('subscription_plan_changes')
      .insert({
        organization_id: organizationId,
        subscription_id: c.subscriptionId,
        from_plan_id: c.fromPlanId,
        to_plan_id: c.toPlanId,
        kind: c.kind,
        effective_at: new Date(c.effectiveAt),
      })
      .returning('id');
    return row.id as string;
  });
  return (await getPlanChange(db, organizationId, id))!;
}

/** Cancels the subscription's pending change (if any). Returns how many were canceled (0 or 1). */
export async function cancelPendingPlanChange(db: Db, organizationId: string, subscriptionId: string): Promise<number> {
  return db('subscription_plan_changes')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, status: 'pending' })
    .update({ status: 'canceled' });
}

/** A downgrade's instant as the workflow decided it (the end of its open period). */
export async function setPlanChangeEffectiveAt(db: Db, organizationId: string, changeId: string, effectiveAt: string): Promise<void> {
  await db('subscription_plan_changes').where({ organization_id: organizationId, id: changeId, status: 'pending' }).update({ effective_at: new Date(effectiveAt) });
}

/** Cancels one change if it is still pending (a request the workflow refused). */
export async function cancelPlanChange(db: Db, organizationId: string, changeId: string): Promise<void> {
  await db('subscription_plan_changes').where({ organization_id: organizationId, id: changeId, status: 'pending' }).update({ status: 'canceled' });
}

/**
 * Applies a change: the subscription's plan becomes the change's to_plan, the change is `applied`. Idempotent (an
 * applied change is answered as it is); a canceled change is never applied (BillingError plan_change_canceled).
 */
export async function applyPlanChange(db: Knex, organizationId: string, changeId: string): Promise<PlanChangeRecord> {
  await db.transaction(async (trx) => {
    const row = await trx('subscription_plan_changes').where({ organization_id: organizationId, id: changeId }).forUpdate().first();
    if (!row) throw new BillingError('plan_change_not_found', `Plan change ${changeId} not found`, 'plan_change_id');
    if (row.status === 'applied') return;
    if (row.status === 'canceled') throw new BillingError('plan_change_canceled', `Plan change ${changeId} was canceled`, 'plan_change_id');
    await trx('subscriptions').where({ organization_id: organizationId, id: row.subscription_id }).update({ plan_id: row.to_plan_id });
    await trx('subscription_plan_changes').where({ id: changeId }).update({ status: 'applied', applied_at: trx.fn.now() });
  });
  return (await getPlanChange(db, organizationId, changeId))!;
}

/**
 * The plan a period starting at `periodStart` is billed with: the from_plan of the first applied or pending change
 * effective after it, else the subscription's current plan. (A draft of the old plan refreshed after an upgrade,
 * or a finalized period re-rated for late events, keeps its own plan.)
 */
export async function planIdForPeriod(db: Db, organizationId: string, subscriptionId: string, periodStart: string, currentPlanId: string): Promise<string> {
  const row: { from_plan_id: string } | undefined = await db('subscription_plan_changes')
    .where({ organization_id: organizationId, subscription_id: subscriptionId })
    .whereIn('status', ['pending', 'applied'])
    .andWhere('effective_at', '>', new Date(periodStart))
    .orderBy('effective_at', 'asc')
    .first('from_plan_id');
  return row?.from_plan_id ?? currentPlanId;
}

/** The instant of an upgrade (pending or applied) that ends a period at `periodEnd`, else null. */
export async function upgradeEndingPeriodAt(db: Db, organizationId: string, subscriptionId: string, periodEnd: string): Promise<string | null> {
  const row: { effective_at: Date } | undefined = await db('subscription_plan_changes')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, kind: 'upgrade', effective_at: new Date(periodEnd) })
    .whereIn('status', ['pending', 'applied'])
    .first('effective_at');
  return row ? row.effective_at.toISOString() : null;
}

/** What GET /subscriptions shows of plan changes, per subscription id. */
export interface PlanChangeView {
  nextPlanCode: string | null;
  downgradePlanDate: string | null;
  previousPlanCode: string | null;
  /** The instant the current plan took effect (the last applied change), null when never changed. */
  planChangedAt: string | null;
}

export async function planChangeViews(db: Db, organizationId: string, subscriptionIds: string[]): Promise<Map<string, PlanChangeView>> {
  const out = new Map<string, PlanChangeView>();
  if (subscriptionIds.length === 0) return out;
  const rows = await changesQuery(db, organizationId)
    .whereIn('pc.subscription_id', [...new Set(subscriptionIds)])
    .whereIn('pc.status', ['pending', 'applied'])
    .orderBy('pc.effective_at', 'asc');
  for (const row of rows.map(toChange)) {
    const v = out.get(row.subscriptionId) ?? { nextPlanCode: null, downgradePlanDate: null, previousPlanCode: null, planChangedAt: null };
    if (row.status === 'pending' && row.kind === 'downgrade') {
      v.nextPlanCode = row.toPlanCode;
      v.downgradePlanDate = row.effectiveAt.slice(0, 10);
    }
    if (row.status === 'applied') {
      v.previousPlanCode = row.fromPlanCode;
      v.planChangedAt = row.effectiveAt;
    }
    out.set(row.subscriptionId, v);
  }
  return out;
}

/** PUT /subscriptions: the fields Lago lets change (undefined = unchanged). */
export async function updateSubscriptionTerms(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  terms: { name?: string | null; endingAt?: string | null; subscriptionAt?: string },
): Promise<void> {
  const patch: Record<string, unknown> = {};
  if (terms.name !== undefined) patch.name = terms.name;
  if (terms.endingAt !== undefined) patch.ending_at = terms.endingAt === null ? null : new Date(terms.endingAt);
  if (terms.subscriptionAt !== undefined) patch.subscription_at = new Date(terms.subscriptionAt);
  if (Object.keys(patch).length === 0) return;
  await db('subscriptions').where({ organization_id: organizationId, id: subscriptionId }).update(patch);
}

/** pending → active at its start instant (started_at = subscription_at). Idempotent; never touches another status. */
export async function activatePendingSubscription(db: Db, organizationId: string, subscriptionId: string): Promise<boolean> {
  // pending → active and its subscription.started commit together; a retried activity changes and enqueues nothing.
  return db.transaction(async (trx) => {
    const n = await trx('subscriptions')
      .where({ organization_id: organizationId, id: subscriptionId, status: 'pending' })
      .update({ status: 'active', started_at: trx.ref('subscription_at') });
    if (n > 0) await announceSubscription(trx, organizationId, 'subscription.started', subscriptionId);
    return n > 0;
  });
}

/** A plan change (upgrade or downgrade, pending or applied) effective exactly at `periodEnd`: the plan the next period is billed with. */
export async function planChangeEffectiveAt(
  db: Db,
  organizationId: string,
  subscriptionId: string,
  periodEnd: string,
): Promise<{ kind: PlanChangeKind; fromPlanId: string; toPlanId: string; effectiveAt: string } | null> {
  const row: { kind: PlanChangeKind; from_plan_id: string; to_plan_id: string; effective_at: Date } | undefined = await db('subscription_plan_changes')
    .where({ organization_id: organizationId, subscription_id: subscriptionId, effective_at: new Date(periodEnd) })
    .whereIn('status', ['pending', 'applied'])
    .orderBy('created_at', 'desc')
    .first('kind', 'from_plan_id', 'to_plan_id', 'effective_at');
  return row ? { kind: row.kind, fromPlanId: row.from_plan_id, toPlanId: row.to_plan_id, effectiveAt: row.effective_at.toISOString() } : null;
}
