// Lago's features and their privileges (tables features, feature_privileges; migration 20261203000200). The only
// place these rows become domain records. Every query is scoped by organization_id.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export type PrivilegeValueType = 'integer' | 'boolean' | 'string' | 'select';

export interface PrivilegeRecord {
  id: string;
  featureId: string;
  code: string;
  name: string | null;
  valueType: PrivilegeValueType;
  /** `{select_options: [...]}` for a select privilege, `{}` otherwise. */
  config: { select_options?: string[] };
  position: number;
}

export interface FeatureRecord {
  id: string;
  organizationId: string;
  code: string;
  name: string | null;
  description: string | null;
  createdAt: Date;
  privileges: PrivilegeRecord[];
}

export interface NewPrivilege {
  code: string;
  name: string | null;
  valueType: PrivilegeValueType;
  config: { select_options?: string[] };
}

/** A feature code taken in the organization (unique index features(organization_id, code)). */
export class DuplicateFeatureError extends Error {
  constructor() {
    super('A feature with this code already exists');
    this.name = 'DuplicateFeatureError';
  }
}

function privilegeOf(r: Record<string, any>): PrivilegeRecord {
  return { id: r.id, featureId: r.feature_id, code: r.code, name: r.name ?? null, valueType: r.value_type, config: r.config ?? {}, position: r.position };
}

async function withPrivileges(db: Db, organizationId: string, rows: Record<string, any>[]): Promise<FeatureRecord[]> {
  if (rows.length === 0) return [];
  const privileges = await db('feature_privileges')
    .where('organization_id', organizationId)
    .whereIn('feature_id', rows.map((r) => r.id))
    .orderBy([{ column: 'position' }, { column: 'code' }]);
  return rows.map((r) => ({
    id: r.id,
    organizationId: r.organization_id,
    code: r.code,
    name: r.name ?? null,
    description: r.description ?? null,
    createdAt: r.created_at,
    privileges: privileges.filter((p: any) => p.feature_id === r.id).map(privilegeOf),
  }));
}

export async function getFeatureByCode(db: Db, organizationId: string, code: string): Promise<FeatureRecord | null> {
  const row = await db('features').where({ organization_id: organizationId, code }).first();
  return row ? (await withPrivileges(db, organizationId, [row]))[0]! : null;
}

/**
 * The features of these codes, their rows locked FOR SHARE until the transaction ends: an entitlement written in it
 * cannot race the feature's deletion (the DELETE waits, then cascades to what was written).
 */
export async function lockFeaturesByCodes(trx: Knex.Transaction, organizationId: string, codes: string[]): Promise<Map<string, FeatureRecord>> {
  if (codes.length === 0) return new Map();
  const rows = await trx('features').where('organization_id', organizationId).whereIn('code', codes).forShare();
  return new Map((await withPrivileges(trx, organizationId, rows)).map((f) => [f.code, f]));
}

export async function getFeaturesByIds(db: Db, organizationId: string, ids: string[]): Promise<Map<string, FeatureRecord>> {
  if (ids.length === 0) return new Map();
  const rows = await db('features').where('organization_id', organizationId).whereIn('id', ids);
  return new Map((await withPrivileges(db, organizationId, rows)).map((f) => [f.id, f]));
}

/** A page of the organization's features, newest first; `searchTerm` matches name, code or description. */
export async function listFeatures(db: Db, organizationId: string, opts: { page: number; perPage: number; searchTerm?: string }): Promise<{ features: FeatureRecord[]; totalCount: number }> {
  const base = db('features').where('organization_id', organizationId);
  if (opts.searchTerm) {
    const like = `%${opts.searchTerm.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    base.andWhere((q) => q.whereILike('code', like).orWhereILike('name', like).orWhereILike('description', like));
  }
  const [{ n }] = await base.clone().count<{ n: string }[]>({ n: '*' });
  const rows = await base.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'code' }]).limit(opts.perPage).offset((opts.page - 1) * opts.perPage);
  return { features: await withPrivileges(db, organizationId, rows), totalCount: Number(n) };
}

export async function createFeature(
  trx: Knex.Transaction,
  organizationId: string,
  f: { code: string; name: string | null; description: string | null; privileges: NewPrivilege[] },
): Promise<FeatureRecord> {
  const [row] = await trx('features')
    .insert({ organization_id: organizationId, code: f.code, name: f.name, description: f.description })
    .onConflict(['organization_id', 'code'])
    .ignore()
    .returning('id');
  if (!row) throw new DuplicateFeatureError();
  await insertPrivileges(trx, organizationId, row.id, f.privileges, 0);
  return (await getFeatureByCode(trx, organizationId, f.code))!;
}

async function insertPrivileges(trx: Knex.Transaction, organizationId: string, featureId: string, privileges: NewPrivilege[], firstPosition: number): Promise<void> {
  if (privileges.length === 0) return;
  await trx('feature_privileges').insert(
    privileges.map((p, i) => ({
      organization_id: organizationId,
      feature_id: featureId,
      code: p.code,
      name: p.name,
      value_type: p.valueType,
      config: JSON.stringify(p.config),
      position: firstPosition + i,
    })),
  );
}

/** Locks the feature row (edits and deletion of one feature run one at a time). */
export async function lockFeature(trx: Knex.Transaction, organizationId: string, code: string): Promise<FeatureRecord | null> {
  const row = await trx('features').where({ organization_id: organizationId, code }).forUpdate().first();
  return row ? (await withPrivileges(trx, organizationId, [row]))[0]! : null;
}

export interface FeatureEdit {
  name?: string | null;
  description?: string | null;
  /** Existing privileges whose name or select options change (by id). */
  changed: { id: string; name?: string | null; config?: { select_options?: string[] } }[];
  /** Privileges to add (after the existing ones). */
  added: NewPrivilege[];
}

export async function updateFeature(trx: Knex.Transaction, feature: FeatureRecord, edit: FeatureEdit): Promise<FeatureRecord> {
  const patch: Record<string, unknown> = { updated_at: trx.fn.now() };
  if (edit.name !== undefined) patch.name = edit.name;
  if (edit.description !== undefined) patch.description = edit.description;
  await trx('features').where({ organization_id: feature.organizationId, id: feature.id }).update(patch);
  for (const c of edit.changed) {
    const p: Record<string, unknown> = {};
    if (c.name !== undefined) p.name = c.name;
    if (c.config !== undefined) p.config = JSON.stringify(c.config);
    if (Object.keys(p).length > 0) await trx('feature_privileges').where({ organization_id: feature.organizationId, id: c.id }).update(p);
  }
  const next = feature.privileges.reduce((m, p) => Math.max(m, p.position + 1), 0);
  await insertPrivileges(trx, feature.organizationId, feature.id, edit.added, next);
  return (await getFeatureByCode(trx, feature.organizationId, feature.code))!;
}

/** Deletes the feature; its privileges, entitlements (plans and subscriptions) and values go with it (FK cascade). */
export async function deleteFeature(trx: Knex.Transaction, feature: FeatureRecord): Promise<void> {
  await trx('features').where({ organization_id: feature.organizationId, id: feature.id }).delete();
}

/** Deletes one privilege; its values in every plan and subscription entitlement go with it (FK cascade). */
export async function deletePrivilege(trx: Knex.Transaction, organizationId: string, privilegeId: string): Promise<void> {
  await trx('feature_privileges').where({ organization_id: organizationId, id: privilegeId }).delete();
}

/** The stored values of a privilege (in plans and subscription overrides) that are not among `options`. */
export async function privilegeValuesOutside(db: Db, organizationId: string, privilegeId: string, options: string[]): Promise<string[]> {
  const rows = await db('entitlement_values').where({ organization_id: organizationId, privilege_id: privilegeId }).whereNotIn('value', options).distinct('value');
  return rows.map((r: any) => r.value as string).sort();
}
