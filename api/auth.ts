// Bearer API key per organization. Keys are stored as sha256 hex.
//
// Known keys are cached per process (issue 7, ingest7c: base 5a8a9de's zero-lookup path; the per-request probe
// cost single-event ingest ~0.4 ms of CPU and a round trip), and a revocation stays effective at once on every API
// process: each process holds ONE dedicated LISTEN connection (db/repositories/api-key-changes.ts) on the channel
// that triggers (migration 20261203000100) notify in the very transaction that inserts, updates or deletes a key
// or changes an organization: the API's revoke and rotate, PUT /organizations, and any hand-made SQL alike.
// - A notification evicts that key (an organization's change, or '*', drops every cached key).
// - The process that made a change through the API evicts locally right after its commit (apiKeysChanged), so
//   its own next request never waits for its own notification.
// - The cache is used ONLY while the feed is listening. A lost LISTEN connection (terminated backend, closed
//   socket, a heartbeat unanswered) drops the whole cache and bypasses it: every request looks its key up again
//   until LISTEN is active again, so a notification missed while disconnected can never keep a revoked key
//   alive. (Re)listening drops the cache once more: only answers read after LISTEN was active are kept.
// - An answer is stored only when no change was applied while it was being read (`epoch`), so a lookup whose
//   snapshot predates a revocation cannot re-insert the key after its notification evicted it.
// - The TTL (knownTtlMs, default 60 s, as at base) is only a backstop.
// What is not guaranteed: a request that reaches another process before that process has received the
// notification (Postgres sends it at commit; it arrives within a round trip) is still served from its cache.
//
// Cache misses (and every request while the feed is down, or an app without a feed: createApp alone, as in some
// tests) look the key up as before: a request is answered only by a lookup that STARTED AFTER it arrived
// (api/fresh-read-batcher.ts), concurrent requests share the next lookup, one prepared statement through pg
// (db/repositories/api-key-lookup.ts). Unknown keys are cached briefly (negativeTtlMs, default 2 s) so a flood of
// garbage keys does not become a flood of queries; a key row inserted later is announced and evicts that entry.
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { hashApiKey, type Organization } from '../db/repositories/organizations';
import { lookupOrganizationsByKeyHashes } from '../db/repositories/api-key-lookup';
import { ApiKeyChangeFeed, connectionConfigOf, type ApiKeyChange, type ApiKeyChangeFeedOptions } from '../db/repositories/api-key-changes';
import { FreshReadBatcher } from './fresh-read-batcher';
import { TtlCache } from '../cache/ttl-cache';
import { unauthorized, type Logger } from './errors';

export interface AuthOptions {
  negativeTtlMs?: number;
  maxUnknownEntries?: number;
  /** Key lookups running at once per process (default 2); requests arriving meanwhile share the next one. */
  maxLookupsInFlight?: number;
  /** Known keys' time to live while the change feed listens (default 60 s; notifications evict at once). */
  knownTtlMs?: number;
  maxKnownEntries?: number;
  /** startApi's change feed: false for none (no known-key cache: every request looks its key up). */
  keyChangeFeed?: false | ApiKeyChangeFeedOptions;
  /** Where a lost change feed is reported. */
  logger?: Logger;
}

export class ApiKeyAuthenticator {
  /** Hashes of keys found unknown, each for negativeTtlMs; at most maxUnknownEntries (LRU eviction). */
  private readonly unknown: TtlCache<string, true>;
  /** Hash → organization of known keys; read and written only while the change feed listens. */
  private readonly known: TtlCache<string, Organization>;
  /** Key hash → organization, each answer read after the request asked (never a cached or in-flight answer). */
  private readonly lookups: FreshReadBatcher<string, Organization>;
  private feed: ApiKeyChangeFeed | null = null;
  /** Bumped by every eviction, loss and (re)listen: a lookup that saw a bump meanwhile is not cached. */
  private epoch = 0;
  private readonly observers = new Set<(change: ApiKeyChange | 'listening' | 'lost') => void>();

  private readonly logger: Logger | undefined;

  constructor(db: Knex, options: AuthOptions = {}) {
    this.logger = options.logger;
    this.lookups = new FreshReadBatcher({ read: (hashes) => lookupOrganizationsByKeyHashes(db, hashes), maxInFlight: options.maxLookupsInFlight });
    this.unknown = new TtlCache<string, true>({
      maxEntries: options.maxUnknownEntries ?? 10_000,
      ttlMs: options.negativeTtlMs ?? 2_000,
    });
    this.known = new TtlCache<string, Organization>({ maxEntries: options.maxKnownEntries ?? 10_000, ttlMs: options.knownTtlMs ?? 60_000 });
  }

  /** Opens this process's LISTEN connection (on db's settings) and caches known keys while it listens. */
  listenForChanges(db: Knex, feedOptions: ApiKeyChangeFeedOptions = {}): ApiKeyChangeFeed {
    if (this.feed) return this.feed;
    const logger = this.logger;
    this.feed = new ApiKeyChangeFeed(
      connectionConfigOf(db),
      {
        onChange: (change) => {
          if (change.kind === 'key') this.evictKey(change.keyHash);
          else this.evictAll();
          this.notify(change);
        },
        onListening: () => {
          this.evictAll();
          this.notify('listening');
        },
        onLost: () => {
          this.evictAll();
          logger?.warn('api key change feed lost: known keys are looked up on every request until it listens again');
          this.notify('lost');
        },
      },
      feedOptions,
    );
    this.feed.start();
    return this.feed;
  }

  /** The change feed (null without one). */
  get changeFeed(): ApiKeyChangeFeed | null {
    return this.feed;
  }

  /** Key lookups sent to Postgres so far (tests: a cache hit sends none). */
  get lookupReads(): number {
    return this.lookups.reads;
  }

  /** Calls `observer` after each change, loss or (re)listen has been applied to the cache; returns its remover. */
  observe(observer: (change: ApiKeyChange | 'listening' | 'lost') => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** This process changed an organization's keys or settings (committed): drop what it cached, at once. */
  apiKeysChanged(_organizationId: string): void {
    this.evictAll();
  }

  async stop(): Promise<void> {
    await this.feed?.stop();
    this.evictAll();
  }

  /** The organization of a cached known key, only while the change feed listens. */
  private cachedHash(hash: string): Organization | undefined {
    return this.feed?.listening === true ? this.known.peek(hash) : undefined;
  }

  async authenticate(key: string): Promise<Organization | null> {
    const hash = hashApiKey(key);
    return this.cachedHash(hash) ?? this.lookUp(hash);
  }

  private async lookUp(hash: string): Promise<Organization | null> {
    if (this.unknown.has(hash)) return null;
    const epoch = this.epoch;
    const cacheable = this.feed?.listening === true;
    const org = (await this.lookups.get(hash)) ?? null;
    const unchanged = epoch === this.epoch;
    if (org) {
      this.unknown.invalidate(hash);
      if (cacheable && unchanged && this.feed?.listening === true) this.known.set(hash, org);
      return org;
    }
    if (unchanged) this.unknown.set(hash, true);
    return null;
  }

  private evictKey(hash: string): void {
    this.epoch += 1;
    this.known.invalidate(hash);
    this.unknown.invalidate(hash);
  }

  private evictAll(): void {
    this.epoch += 1;
    this.known.clear();
  }

  private notify(change: ApiKeyChange | 'listening' | 'lost'): void {
    for (const o of this.observers) o(change);
  }

  /**
   * For the ingest posts (`paths`, full request paths): a cached key is resolved on arrival; otherwise the key
   * lookup starts as soon as the request arrives, before its body is read, parsed and checked, so the probe's
   * round trip overlaps that work. middleware() then uses this answer: it was read (or its cache entry still
   * valid) after the request arrived, so the revocation guarantee above is unchanged.
   */
  prefetch(paths: ReadonlySet<string>): RequestHandler {
    return (req, res, next) => {
      if (req.method === 'POST' && paths.has(req.path)) {
        const key = bearerKey(req.header('authorization'));
        if (key !== null) {
          const hash = hashApiKey(key);
          const hit = this.cachedHash(hash);
          if (hit) res.locals.authPrefetch = { key, org: hit } satisfies AuthPrefetch;
          else {
            const lookup = this.lookUp(hash);
            lookup.catch(() => {}); // observed by middleware(); a request refused before it (bad JSON) never awaits it
            res.locals.authPrefetch = { key, lookup } satisfies AuthPrefetch;
          }
        }
      }
      next();
    };
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      const key = bearerKey(req.header('authorization'));
      if (key === null) throw unauthorized();
      const pre = res.locals.authPrefetch as AuthPrefetch | undefined;
      if (pre !== undefined && pre.key === key && pre.org) return accept(res, pre.org, next);
      const hit = pre === undefined ? this.cachedHash(hashApiKey(key)) : undefined;
      if (hit) return accept(res, hit, next);
      const lookup = pre !== undefined && pre.key === key && pre.lookup ? pre.lookup : this.authenticate(key);
      return lookup.then((org) => {
        if (!org) throw unauthorized();
        accept(res, org, next);
      });
    };
  }
}

function accept(res: { locals: Record<string, unknown> }, org: Organization, next: () => void): void {
  res.locals.organization = org;
  res.locals.organizationId = org.id;
  next();
}

interface AuthPrefetch {
  key: string;
  /** The cached organization (a hit on arrival), or the lookup started on arrival. */
  org?: Organization;
  lookup?: Promise<Organization | null>;
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
