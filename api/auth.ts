// Bearer API key per organization. Keys are stored as sha256 hex.
//
// Revocation is effective at once on every API process: a KNOWN key is never cached; every request looks its
// hash up (one primary-key-sized index probe on api_keys.key_hash, joined to its organization), so a key
// revoked by any process (POST /api_keys/:id/revoke, rotate) is refused by all of them on their next request.
// We chose this over a positive cache invalidated by LISTEN/NOTIFY: the probe costs about what a per-request
// version check would, and it has no window after a missed notification. Only UNKNOWN keys are cached, briefly
// (negativeTtlMs, default 2 s), so a flood of garbage keys does not become a flood of queries; a newly created
// key is random, so no client can have been refused it before it existed.
//
// Concurrent requests share lookups without giving up that guarantee (issue 7: the probe per request was the
// largest cost of single-event ingest): a request is answered only by a lookup that STARTED AFTER it arrived
// (api/fresh-read-batcher.ts); requests arriving while lookups run wait for the next one, which reads all their
// hashes in one query. So a key revoked before a request arrived is still refused, and the queries per process
// are bounded by the lookups in flight (2) instead of the concurrent requests. The lookup is one prepared
// statement sent through pg directly (db/repositories/api-key-lookup.ts), not a knex-built query.
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { hashApiKey, type Organization } from '../db/repositories/organizations';
import { lookupOrganizationsByKeyHashes } from '../db/repositories/api-key-lookup';
import { FreshReadBatcher } from './fresh-read-batcher';
import { TtlCache } from '../cache/ttl-cache';
import { unauthorized } from './errors';

export interface AuthOptions {
  negativeTtlMs?: number;
  maxUnknownEntries?: number;
  /** Key lookups running at once per process (default 2); requests arriving meanwhile share the next one. */
  maxLookupsInFlight?: number;
}

export class ApiKeyAuthenticator {
  /** Hashes of keys found unknown, each for negativeTtlMs; at most maxUnknownEntries (LRU eviction). */
  private readonly unknown: TtlCache<string, true>;
  /** Key hash → organization, each answer read after the request asked (never a cached or in-flight answer). */
  private readonly lookups: FreshReadBatcher<string, Organization>;

  constructor(db: Knex, options: AuthOptions = {}) {
    this.lookups = new FreshReadBatcher({ read: (hashes) => lookupOrganizationsByKeyHashes(db, hashes), maxInFlight: options.maxLookupsInFlight });
    this.unknown = new TtlCache<string, true>({
      maxEntries: options.maxUnknownEntries ?? 10_000,
      ttlMs: options.negativeTtlMs ?? 2_000,
    });
  }

  async authenticate(key: string): Promise<Organization | null> {
    const hash = hashApiKey(key);
    if (this.unknown.has(hash)) return null;
    const org = (await this.lookups.get(hash)) ?? null;
    if (org) {
      this.unknown.invalidate(hash);
      return org;
    }
    this.unknown.set(hash, true);
    return null;
  }

  /**
   * For the ingest posts (`paths`, full request paths): starts the key lookup as soon as the request arrives,
   * before its body is read, parsed and checked, so the probe's round trip overlaps that work (issue 7: on the
   * single-event path the probe was one more round trip in series with the write). middleware() then awaits
   * this lookup: it still STARTED AFTER the request arrived, so the revocation guarantee above is unchanged.
   */
  prefetch(paths: ReadonlySet<string>): RequestHandler {
    return (req, res, next) => {
      if (req.method === 'POST' && paths.has(req.path)) {
        const key = bearerKey(req.header('authorization'));
        if (key !== null) {
          const lookup = this.authenticate(key);
          lookup.catch(() => {}); // observed by middleware(); a request refused before it (bad JSON) never awaits it
          res.locals.authPrefetch = { key, lookup } satisfies AuthPrefetch;
        }
      }
      next();
    };
  }

  middleware(): RequestHandler {
    return async (req, res, next) => {
      const key = bearerKey(req.header('authorization'));
      if (key === null) throw unauthorized();
      const pre = res.locals.authPrefetch as AuthPrefetch | undefined;
      const org = await (pre !== undefined && pre.key === key ? pre.lookup : this.authenticate(key));
      if (!org) throw unauthorized();
      res.locals.organization = org;
      res.locals.organizationId = org.id;
      next();
    };
  }
}

interface AuthPrefetch {
  key: string;
  lookup: Promise<Organization | null>;
}

/** The key of an `Authorization: Bearer <key>` header, else null. */
function bearerKey(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

/** The authenticated organization id of a request (set by the auth middleware). */
export function orgId(res: { locals: Record<string, unknown> }): string {
  const id = res.locals.organizationId;
  if (typeof id !== 'string') throw unauthorized();
  return id;
}

/** The authenticated organization's default timezone (customers without their own), else UTC. */
export function defaultTimezoneOf(res: { locals: Record<string, any> }): string {
  return (res.locals.organization?.defaultTimezone as string | undefined) ?? 'UTC';
}
