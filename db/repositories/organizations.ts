// Organizations and their API keys. A key is shown once; only its sha256 hex is stored.
import crypto from 'node:crypto';
import type { Knex } from 'knex';

export interface Organization {
  id: string;
  slug: string;
  name: string;
  invoiceGracePeriod: number;
  defaultTimezone: string;
}

const API_KEY_PREFIX = 'ml_';

function toOrganization(row: Record<string, unknown>): Organization {
  return {
    id: row.id as string,
    slug: row.slug as string,
    name: row.name as string,
    invoiceGracePeriod: Number(row.invoice_grace_period),
    defaultTimezone: row.default_timezone as string,
  };
}

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Find or create the organization with this slug (idempotent). */
export async function ensureOrganization(db: Knex, slug: string, name: string): Promise<Organization> {
  await db('organizations').insert({ slug, name }).onConflict('slug').ignore();
  const row = await db('organizations').where({ slug }).first();
  return toOrganization(row);
}

/** Create an API key for the organization; returns the plaintext key, which is never stored. */
export async function createApiKey(db: Knex | Knex.Transaction, organizationId: string, name = 'default'): Promise<string> {
  return (await createApiKeyRecord(db, organizationId, name)).value;
}

export interface ApiKeyRecord {
  id: string;
  organizationId: string;
  name: string;
  lastFour: string;
  createdAt: Date;
  revokedAt: Date | null;
}

function toApiKey(row: Record<string, any>): ApiKeyRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    lastFour: row.last_four,
    createdAt: row.created_at,
    revokedAt: row.revoked_at ?? null,
  };
}

/** A new key (random, 256 bits) stored as its sha256; the plaintext `value` is returned once. */
export async function createApiKeyRecord(
  db: Knex | Knex.Transaction,
  organizationId: string,
  name: string,
): Promise<ApiKeyRecord & { value: string }> {
  const value = API_KEY_PREFIX + crypto.randomBytes(32).toString('base64url');
  const [row] = await db('api_keys')
    .insert({ organization_id: organizationId, key_hash: hashApiKey(value), name, last_four: value.slice(-4) })
    .returning('*');
  return { ...toApiKey(row), value };
}

export async function listApiKeys(db: Knex, organizationId: string): Promise<ApiKeyRecord[]> {
  const rows = await db('api_keys').where({ organization_id: organizationId }).orderBy([{ column: 'created_at' }, { column: 'id' }]);
  return rows.map(toApiKey);
}

export async function getApiKey(db: Knex | Knex.Transaction, organizationId: string, id: string): Promise<ApiKeyRecord | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const row = await db('api_keys').where({ organization_id: organizationId, id }).first();
  return row ? toApiKey(row) : null;
}

export type RevokeOutcome = { key: ApiKeyRecord } | { error: 'api_key_not_found' | 'last_active_api_key' };

/**
 * Revoke a key (idempotent: an already revoked key is returned as it is). The organization's keys are locked
 * first so two concurrent revocations cannot leave it without any active key.
 */
export async function revokeApiKey(db: Knex, organizationId: string, id: string): Promise<RevokeOutcome> {
  return db.transaction(async (trx) => {
    const keys: Record<string, any>[] = await trx('api_keys').where({ organization_id: organizationId }).forUpdate().select('*');
    const key = keys.find((k) => k.id === id);
    if (!key) return { error: 'api_key_not_found' as const };
    if (key.revoked_at) return { key: toApiKey(key) };
    if (keys.filter((k) => !k.revoked_at).length <= 1) return { error: 'last_active_api_key' as const };
    const [row] = await trx('api_keys').where({ organization_id: organizationId, id }).update({ revoked_at: trx.fn.now() }).returning('*');
    return { key: toApiKey(row) };
  });
}

/** Rotate: a new key with the same name, and the old one revoked, in one transaction. */
export async function rotateApiKey(
  db: Knex,
  organizationId: string,
  id: string,
): Promise<{ key: ApiKeyRecord & { value: string }; revoked: ApiKeyRecord } | { error: 'api_key_not_found' | 'api_key_revoked' }> {
  return db.transaction(async (trx) => {
    const old = await trx('api_keys').where({ organization_id: organizationId, id }).forUpdate().first();
    if (!old) return { error: 'api_key_not_found' as const };
    if (old.revoked_at) return { error: 'api_key_revoked' as const };
    const key = await createApiKeyRecord(trx, organizationId, old.name);
    const [row] = await trx('api_keys').where({ organization_id: organizationId, id }).update({ revoked_at: trx.fn.now() }).returning('*');
    return { key, revoked: toApiKey(row) };
  });
}

export async function findOrganizationByApiKey(db: Knex, key: string): Promise<Organization | null> {
  return findOrganizationByKeyHash(db, hashApiKey(key));
}

export async function findOrganizationByKeyHash(db: Knex, keyHash: string): Promise<Organization | null> {
  const row = await db('api_keys as k')
    .join('organizations as o', 'o.id', 'k.organization_id')
    .where('k.key_hash', keyHash)
    .whereNull('k.revoked_at')
    .first('o.*');
  return row ? toOrganization(row) : null;
}

/**
 * The organizations of several key hashes in one query (unrevoked keys only): hash → organization; a hash absent
 * from the map is unknown or revoked. Used by api/auth.ts to answer concurrent requests with one lookup.
 */
export async function findOrganizationsByKeyHashes(db: Knex, keyHashes: readonly string[]): Promise<Map<string, Organization>> {
  if (keyHashes.length === 0) return new Map();
  const rows: Record<string, unknown>[] = await db('api_keys as k')
    .join('organizations as o', 'o.id', 'k.organization_id')
    .whereIn('k.key_hash', [...keyHashes])
    .whereNull('k.revoked_at')
    .select('o.*', 'k.key_hash as api_key_hash');
  return new Map(rows.map((r) => [r.api_key_hash as string, toOrganization(r)]));
}

/** True when `key` is a valid API key of this organization. */
export async function hasApiKey(db: Knex, organizationId: string, key: string): Promise<boolean> {
  const row = await db('api_keys').where({ organization_id: organizationId, key_hash: hashApiKey(key) }).whereNull('revoked_at').first('id');
  return row !== undefined;
}

/** The next value of one of the organization's counters (1, 2, ...), bumped inside the caller's transaction. */
export async function nextOrganizationCounter(trx: Knex | Knex.Transaction, organizationId: string, name: string): Promise<number> {
  const { rows } = await trx.raw(
    `INSERT INTO organization_counters AS c (organization_id, name, last_value) VALUES (?, ?, 1)
     ON CONFLICT (organization_id, name) DO UPDATE SET last_value = c.last_value + 1
     RETURNING last_value`,
    [organizationId, name],
  );
  return Number((rows as { last_value: string }[])[0]!.last_value);
}
