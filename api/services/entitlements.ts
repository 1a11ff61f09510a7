// Lago's features and entitlements (issue 13, ops13f): privilege value checks, the answers' shapes, and the
// subscription's effective entitlements (the plan's, with the subscription's overrides layered on).
//
// - A privilege value is stored as canonical text and typed by its privilege when read: integer → a JSON integer
//   (`10` or `"10"` accepted, a safe integer), boolean → true/false (`"true"`/`"false"` accepted), string → any text,
//   select → one of config.select_options. A value that does not fit is a 422 on `<privilege_code>_privilege_value`
//   (`value_is_invalid`, `value_not_in_select_options`), Lago's field; an unknown feature is 404 feature_not_found,
//   an unknown privilege of it 404 privilege_not_found (Lago's answers).
// - A subscription's plan entitlements are its CATALOG plan's: a plan override's child plan (api/services/
//   plan-overrides.ts) keeps its parent's entitlements, so subscriptions with overridden prices keep their features.
//   Subscription-level overrides are rows of their own (db/repositories/entitlements.ts), never a copy of the plan's.
import type { Knex } from 'knex';
import { getFeaturesByIds, lockFeaturesByCodes, type FeatureRecord, type PrivilegeRecord } from '../../db/repositories/features';
import { listEntitlements, type EntitlementGrant, type EntitlementRecord } from '../../db/repositories/entitlements';
import { addDetail, notFound, validationError } from '../errors';
import type { EntitlementInput } from '../schemas/entitlements';

export type PrivilegeValue = number | boolean | string;

/** The canonical stored text of `raw` for the privilege, or the Lago error code when it does not fit. */
export function canonicalPrivilegeValue(p: Pick<PrivilegeRecord, 'valueType' | 'config'>, raw: PrivilegeValue): { value: string } | { error: string } {
  switch (p.valueType) {
    case 'integer': {
      const text = typeof raw === 'number' ? (Number.isInteger(raw) ? String(raw) : '') : typeof raw === 'string' ? raw.trim() : '';
      if (!/^-?\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) return { error: 'value_is_invalid' };
      return { value: String(Number(text)) };
    }
    case 'boolean':
      if (raw === true || raw === 'true') return { value: 'true' };
      if (raw === false || raw === 'false') return { value: 'false' };
      return { error: 'value_is_invalid' };
    case 'string':
      return typeof raw === 'string' ? { value: raw } : { error: 'value_is_invalid' };
    case 'select':
      if (typeof raw !== 'string') return { error: 'value_is_invalid' };
      return (p.config.select_options ?? []).includes(raw) ? { value: raw } : { error: 'value_not_in_select_options' };
  }
}

/** A stored value as the API answers it, typed by its privilege. */
export function typedPrivilegeValue(p: Pick<PrivilegeRecord, 'valueType'>, stored: string): PrivilegeValue {
  if (p.valueType === 'integer') return Number(stored);
  if (p.valueType === 'boolean') return stored === 'true';
  return stored;
}

function privilegeBase(p: PrivilegeRecord) {
  return { code: p.code, name: p.name, value_type: p.valueType, config: p.valueType === 'select' ? { select_options: p.config.select_options ?? [] } : {} };
}

/** Lago's FeatureObject. */
export function serializeFeature(f: FeatureRecord) {
  return { code: f.code, name: f.name, description: f.description, privileges: f.privileges.map(privilegeBase), created_at: f.createdAt.toISOString() };
}

/** Lago's PlanEntitlementObject: the feature and the plan's value of each privilege it sets (in the feature's order). */
export function serializePlanEntitlement(f: FeatureRecord, e: EntitlementRecord) {
  return {
    code: f.code,
    name: f.name,
    description: f.description,
    privileges: f.privileges.filter((p) => e.values.has(p.id)).map((p) => ({ ...privilegeBase(p), value: typedPrivilegeValue(p, e.values.get(p.id)!) })),
  };
}

/**
 * Validates an EntitlementUpdateInput against the stored features and privileges: every feature must exist (404
 * feature_not_found), every privilege must be one of its feature's (404 privilege_not_found), every value must fit
 * its type (422, all such fields at once). Writes nothing; the features stay locked FOR SHARE until `trx` ends.
 */
export async function resolveGrants(trx: Knex.Transaction, organizationId: string, input: EntitlementInput): Promise<EntitlementGrant[]> {
  const codes = Object.keys(input);
  const features = await lockFeaturesByCodes(trx, organizationId, codes);
  const details: Record<string, string[]> = {};
  const grants: EntitlementGrant[] = [];
  for (const code of codes) {
    const feature = features.get(code);
    if (!feature) throw notFound('feature');
    const values: EntitlementGrant['values'] = [];
    for (const [privilegeCode, raw] of Object.entries(input[code]!)) {
      const privilege = feature.privileges.find((p) => p.code === privilegeCode);
      if (!privilege) throw notFound('privilege');
      const v = canonicalPrivilegeValue(privilege, raw);
      if ('error' in v) addDetail(details, `${privilegeCode}_privilege_value`, v.error);
      else values.push({ privilegeId: privilege.id, value: v.value });
    }
    grants.push({ featureId: feature.id, values });
  }
  if (Object.keys(details).length > 0) throw validationError(details);
  return grants;
}

/** The plan's entitlements with their features (an entitlement of a feature gone meanwhile is skipped). */
export async function planEntitlementsOf(db: Knex, organizationId: string, planId: string): Promise<{ feature: FeatureRecord; entitlement: EntitlementRecord }[]> {
  const entitlements = await listEntitlements(db, organizationId, { planId });
  const features = await getFeaturesByIds(db, organizationId, entitlements.map((e) => e.featureId));
  return entitlements.flatMap((e) => (features.has(e.featureId) ? [{ feature: features.get(e.featureId)!, entitlement: e }] : []));
}

export interface SubscriptionEntitlementView {
  feature: FeatureRecord;
  plan: EntitlementRecord | null;
  override: EntitlementRecord | null;
}

/** The subscription's effective entitlements: the catalog plan's features, then the features only its overrides grant. */
export async function subscriptionEntitlementsOf(db: Knex, organizationId: string, catalogPlanId: string, subscriptionId: string): Promise<SubscriptionEntitlementView[]> {
  const [plan, overrides] = await Promise.all([listEntitlements(db, organizationId, { planId: catalogPlanId }), listEntitlements(db, organizationId, { subscriptionId })]);
  const features = await getFeaturesByIds(db, organizationId, [...new Set([...plan, ...overrides].map((e) => e.featureId))]);
  const out: SubscriptionEntitlementView[] = [];
  for (const p of plan) {
    const feature = features.get(p.featureId);
    if (feature) out.push({ feature, plan: p, override: overrides.find((o) => o.featureId === p.featureId) ?? null });
  }
  for (const o of overrides) {
    const feature = features.get(o.featureId);
    if (feature && !plan.some((p) => p.featureId === o.featureId)) out.push({ feature, plan: null, override: o });
  }
  return out;
}

/**
 * Lago's SubscriptionEntitlementObject: each privilege set by the plan or the override, with `value` (the override's
 * if set, else the plan's), `plan_value` (null when only the override sets it) and `override_value` (null when not
 * overridden); `overrides` maps the overridden privilege codes to their values.
 */
export function serializeSubscriptionEntitlement(v: SubscriptionEntitlementView) {
  const overrides: Record<string, PrivilegeValue> = {};
  const privileges = [];
  for (const p of v.feature.privileges) {
    const planStored = v.plan?.values.get(p.id);
    const overrideStored = v.override?.values.get(p.id);
    if (planStored === undefined && overrideStored === undefined) continue;
    const planValue = planStored === undefined ? null : typedPrivilegeValue(p, planStored);
    const overrideValue = overrideStored === undefined ? null : typedPrivilegeValue(p, overrideStored);
    if (overrideValue !== null) overrides[p.code] = overrideValue;
    privileges.push({ ...privilegeBase(p), value: overrideValue ?? planValue!, plan_value: planValue, override_value: overrideValue });
  }
  return { code: v.feature.code, name: v.feature.name, description: v.feature.description, privileges, overrides };
}

/** 422 for a select privilege without options (Lago: required for select) or options on another type. */
export function privilegeConfigError(valueType: PrivilegeRecord['valueType'], options: string[] | undefined): string | null {
  if (valueType === 'select') return options && options.length > 0 ? null : 'value_is_mandatory';
  return options === undefined ? null : 'value_is_invalid';
}
