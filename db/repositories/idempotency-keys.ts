// Idempotency keys of POST requests (api/idempotency.ts): one row per (organization_id, key), the first
// response stored on it. Every query is scoped by organization.
import type { Knex } from 'knex';

export interface IdempotencyKeyRow {
  requestHash: string;
  /** null while the first request is in flight. */
  statusCode: number | null;
  responseBody: unknown;
}

/** Claims the key for this request; false when it exists already (in flight or answered). */
export async function claimIdempotencyKey(
  db: Knex,
  organizationId: string,
  key: string,
  request: { method: string; path: string; requestHash: string },
): Promise<boolean> {
  const claimed = await db('idempotency_keys')
    .insert({ organization_id: organizationId, key, method: request.method, path: request.path, request_hash: request.requestHash })
    .onConflict(['organization_id', 'key'])
    .ignore()
    .returning('key');
  return claimed.length > 0;
}

export async function getIdempotencyKey(db: Knex, organizationId: string, key: string): Promise<IdempotencyKeyRow | null> {
  const row = await db('idempotency_keys').where({ organization_id: organizationId, key }).first();
  return row ? { requestHash: row.request_hash, statusCode: row.status_code, responseBody: row.response_body } : null;
}

/** Releases the key (the first attempt failed with a 5xx: a retry may claim it again). */
export async function releaseIdempotencyKey(db: Knex, organizationId: string, key: string): Promise<void> {
  await db('idempotency_keys').where({ organization_id: organizationId, key }).delete();
}

export async function storeIdempotentResponse(db: Knex, organizationId: string, key: string, statusCode: number, body: unknown): Promise<void> {
  await db('idempotency_keys')
    .where({ organization_id: organizationId, key })
    .update({ status_code: statusCode, response_body: JSON.stringify(body ?? null) });
}
