// Bearer API key per organization. Keys are stored as sha256 hex; lookups are cached briefly per hash.
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { findOrganizationByKeyHash, hashApiKey, type Organization } from '../db/repositories/organizations';
import { unauthorized } from './errors';

export interface AuthOptions {
  ttlMs?: number;
  negativeTtlMs?: number;
}

export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, { org: Organization | null; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;

  constructor(private readonly db: Knex, options: AuthOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 2_000;
  }

  async authenticate(key: string): Promise<Organization | null> {
    const hash = hashApiKey(key);
    const hit = this.cache.get(hash);
    if (hit && hit.expiresAt > Date.now()) return hit.org;
    const org = await findOrganizationByKeyHash(this.db, hash);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { org, expiresAt: Date.now() + (org ? this.ttlMs : this.negativeTtlMs) });
    return org;
  }

  middleware(): RequestHandler {
    return async (req, res, next) => {
      const header = req.header('authorization') ?? '';
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) throw unauthorized();
      const org = await this.authenticate(m[1]);
      if (!org) throw unauthorized();
      res.locals.organization = org;
      res.locals.organizationId = org.id;
      next();
    };
  }
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
