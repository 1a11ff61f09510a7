// The per-request API key probe (api/auth.ts: never cached, so a revocation is effective at once) on the cheap
// path: ONE named prepared statement sent through the pg connection directly (pgQuery, as the event writer
// does), rows as arrays. Same answer as organizations.ts findOrganizationsByKeyHashes (a knex-built query);
// issue 7 measured knex's query building and its connection acquisition at about half of the API process'
// extra CPU per single-event request against base 5a8a9de.
import type { Knex } from 'knex';
import { pgQuery } from './events';
import type { Organization } from './organizations';

const FIND_BY_KEY_HASHES_SQL = `SELECT k.key_hash, o.id, o.slug, o.name, o.invoice_grace_period, o.default_timezone
FROM api_keys k JOIN organizations o ON o.id = k.organization_id
WHERE k.key_hash = ANY($1::text[]) AND k.revoked_at IS NULL`;

/** Key hash → organization, for the keys that exist and are not revoked. */
export async function lookupOrganizationsByKeyHashes(db: Knex, keyHashes: readonly string[]): Promise<Map<string, Organization>> {
  if (keyHashes.length === 0) return new Map();
  const rows = await pgQuery(db, 'meterline_api_key_lookup_v1', FIND_BY_KEY_HASHES_SQL, [keyHashes]);
  const out = new Map<string, Organization>();
  for (const r of rows) {
    out.set(r[0] as string, {
      id: r[1] as string,
      slug: r[2] as string,
      name: r[3] as string,
      invoiceGracePeriod: Number(r[4]),
      defaultTimezone: r[5] as string,
    });
  }
  return out;
}
