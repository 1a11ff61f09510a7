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
export async function createApiKey(db: Knex, organizationId: string, name = 'default'): Promise<string> {
  const key = API_KEY_PREFIX + crypto.randomBytes(32).toString('base64url');
  await db('api_keys').insert({ organization_id: organizationId, key_hash: hashApiKey(key), name });
  return key;
}

export async function findOrganizationByApiKey(db: Knex, key: string): Promise<Organization | null> {
  return findOrganizationByKeyHash(db, hashApiKey(key));
}

export async function findOrganizationByKeyHash(db: Knex, keyHash: string): Promise<Organization | null> {
  const row = await db('api_keys as k')
    .join('organizations as o', 'o.id', 'k.organization_id')
    .where('k.key_hash', keyHash)
    .first('o.*');
  return row ? toOrganization(row) : null;
}

/** True when `key` is a valid API key of this organization. */
export async function hasApiKey(db: Knex, organizationId: string, key: string): Promise<boolean> {
  const row = await db('api_keys').where({ organization_id: organizationId, key_hash: hashApiKey(key) }).first('id');
  return row !== undefined;
}
