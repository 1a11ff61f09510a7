// Lago's metadata of plans, credit notes and wallets (migration 20261201003000): a flat jsonb object of string or
// null values on the object's own row. The only writer of those columns; every statement scoped by organization.
// Plans are found by code (the live, top-level plan: never an override's child plan), the others by lago_id.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export type MetadataOwner = 'plan' | 'credit_note' | 'wallet';
export type Metadata = Record<string, string | null>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const TABLE: Record<MetadataOwner, string> = { plan: 'plans', credit_note: 'credit_notes', wallet: 'wallets' };

/** The row id of the owner named by `ref` (a plan's code, else a lago_id), or null when the organization has none. */
export async function metadataOwnerId(db: Db, organizationId: string, owner: MetadataOwner, ref: string): Promise<string | null> {
  if (owner === 'plan') {
    const row = await db('plans').where({ organization_id: organizationId, code: ref }).whereNull('deleted_at').whereNull('parent_id').first('id');
    return row?.id ?? null;
  }
  if (!UUID_RE.test(ref)) return null;
  const row = await db(TABLE[owner]).where({ organization_id: organizationId, id: ref }).first('id');
  return row?.id ?? null;
}

async function update(db: Db, organizationId: string, owner: MetadataOwner, id: string, value: Knex.Raw | null): Promise<Metadata | null> {
  const rows: { metadata: Metadata | null }[] = await db(TABLE[owner]).where({ organization_id: organizationId, id }).update({ metadata: value }, ['metadata']);
  return rows[0]?.metadata ?? null;
}

/** Replaces the whole object (Lago's POST …/metadata). */
export function replaceMetadata(db: Db, organizationId: string, owner: MetadataOwner, id: string, metadata: Metadata): Promise<Metadata | null> {
  return update(db, organizationId, owner, id, db.raw('?::jsonb', [JSON.stringify(metadata)]));
}

/** Adds and overwrites the given keys, keeps the others (Lago's PATCH …/metadata), in one statement. */
export function mergeMetadata(db: Db, organizationId: string, owner: MetadataOwner, id: string, metadata: Metadata): Promise<Metadata | null> {
  return update(db, organizationId, owner, id, db.raw(`coalesce(metadata, '{}'::jsonb) || ?::jsonb`, [JSON.stringify(metadata)]));
}

/** Removes every key (Lago's DELETE …/metadata): metadata is null again. */
export function clearMetadata(db: Db, organizationId: string, owner: MetadataOwner, id: string): Promise<Metadata | null> {
  return update(db, organizationId, owner, id, null);
}

/** Removes one key (Lago's DELETE …/metadata/:key); a key that is not there leaves the object as it is. */
export function deleteMetadataKey(db: Db, organizationId: string, owner: MetadataOwner, id: string, key: string): Promise<Metadata | null> {
  return update(db, organizationId, owner, id, db.raw('case when metadata is null then null else metadata - ?::text end', [key]));
}

/** The current metadata, its row locked (FOR UPDATE) until the transaction ends: the merged size check before a PATCH. */
export async function lockMetadata(trx: Knex.Transaction, organizationId: string, owner: MetadataOwner, id: string): Promise<Metadata | null> {
  const row = await trx(TABLE[owner]).where({ organization_id: organizationId, id }).forUpdate().first('metadata');
  return row?.metadata ?? null;
}
