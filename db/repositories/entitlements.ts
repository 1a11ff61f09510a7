// Lago's entitlements (tables entitlements, entitlement_values; migration 20261203000200): features granted to a plan,
// and per-subscription overrides layered on the plan's. The only place these rows become domain records; every query
// is scoped by organization_id. Writers lock the owner row (the plan or the subscription) first, so concurrent edits
// of one owner's entitlements run one after the other; the unique indexes back the one-row-per-key rules besides.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** Whose entitlements: a catalog plan's, or one subscription's overrides. */
export type EntitlementOwner = { planId: string } | { subscriptionId: string };

export interface EntitlementRecord {
  id: string;
  featureId: string;
  createdAt: Date;
  /** privilege id → its stored value (canonical text). */
  values: Map<string, string>;
}

export interface EntitlementGrant {
  featureId: string;
  values: { privilegeId: string; value: string }[];
}

function ownerWhere(owner: EntitlementOwner): Record<string, string> {
  return 'planId' in owner ? { plan_id: owner.planId } : { subscription_id: owner.subscriptionId };
}

/** The owner's entitlements, oldest first (then by id, a stable order). */
export async function listEntitlements(db: Db, organizationId: string, owner: EntitlementOwner): Promise<EntitlementRecord[]> {
  const rows = await db('entitlements')
    .where({ organization_id: organizationId, ...ownerWhere(owner) })
    .orderBy([{ column: 'created_at' }, { column: 'id' }]);
  if (rows.length === 0) return [];
  const values = await db('entitlement_values').where('organization_id', organizationId).whereIn('entitlement_id', rows.map((r: any) => r.id));
  return rows.map((r: any) => ({
    id: r.id,
    featureId: r.feature_id,
    createdAt: r.created_at,
    values: new Map(values.filter((v: any) => v.entitlement_id === r.id).map((v: any) => [v.privilege_id as string, v.value as string])),
  }));
}

/** Locks the plan row: one writer of a plan's entitlements at a time. False when the plan is gone. */
export async function lockPlanForEntitlements(trx: Knex.Transaction, organizationId: string, planId: string): Promise<boolean> {
  return (await trx('plans').where({ organization_id: organizationId, id: planId }).whereNull('deleted_at').forUpdate().first('id')) !== undefined;
}

/** Locks the subscription row: one writer of a subscription's overrides at a time. */
export async function lockSubscriptionForEntitlements(trx: Knex.Transaction, organizationId: string, subscriptionId: string): Promise<boolean> {
  return (await trx('subscriptions').where({ organization_id: organizationId, id: subscriptionId }).forUpdate().first('id')) !== undefined;
}

/** Removes every entitlement of the owner (their values go with them). */
export async function deleteAllEntitlements(trx: Knex.Transaction, organizationId: string, owner: EntitlementOwner): Promise<void> {
  await trx('entitlements').where({ organization_id: organizationId, ...ownerWhere(owner) }).delete();
}

/**
 * Adds the features not granted yet and sets the given privilege values (added or replaced); other features and
 * values of the owner are left as they are.
 */
export async function upsertEntitlements(trx: Knex.Transaction, organizationId: string, owner: EntitlementOwner, grants: EntitlementGrant[]): Promise<void> {
  for (const g of grants) {
    const where = { organization_id: organizationId, feature_id: g.featureId, ...ownerWhere(owner) };
    let row = await trx('entitlements').where(where).first('id');
    if (!row) [row] = await trx('entitlements').insert(where).returning('id');
    if (g.values.length === 0) continue;
    await trx('entitlement_values')
      .insert(g.values.map((v) => ({ organization_id: organizationId, entitlement_id: row.id, privilege_id: v.privilegeId, value: v.value })))
      .onConflict(['entitlement_id', 'privilege_id'])
      .merge({ value: trx.raw('excluded.value'), updated_at: trx.fn.now() });
  }
}

/** Removes the owner's entitlement to one feature (and its values). */
export async function deleteEntitlement(trx: Knex.Transaction, organizationId: string, owner: EntitlementOwner, featureId: string): Promise<void> {
  await trx('entitlements').where({ organization_id: organizationId, feature_id: featureId, ...ownerWhere(owner) }).delete();
}

/** Removes one privilege's value from one entitlement. */
export async function deleteEntitlementValue(trx: Knex.Transaction, organizationId: string, entitlementId: string, privilegeId: string): Promise<void> {
  await trx('entitlement_values').where({ organization_id: organizationId, entitlement_id: entitlementId, privilege_id: privilegeId }).delete();
}
