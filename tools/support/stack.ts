// The services `npm run fuzz` and `npm run chaos` start for themselves, on loopback only and in a temp dir:
// an embedded Postgres cluster (dev/postgres.ts) and a Temporal dev server (dev/temporal.ts, optionally with
// its state in a SQLite file so a restart keeps the workflows). Plus the organization and API key the
// tools use (created in the database: there is no HTTP route for them), and HTTP helpers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, migrateLatest } from '../../db/knexfile';
import { createApiKey, ensureOrganization } from '../../db/repositories/organizations';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../../dev/postgres';
import { freePort, startTemporalDevServer, type RunningTemporal } from '../../dev/temporal';

export const ROOT = path.resolve(__dirname, '..', '..');

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A temp folder the postgres system user can reach when run as root. */
export function workDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export interface Services {
  dir: string;
  pgPort: number;
  pg: RunningPostgres;
  databaseUrl: string;
  temporalPort: number;
  temporal: RunningTemporal;
  temporalDbFile: string | null;
}

export async function startPostgres(dir: string, port: number): Promise<RunningPostgres> {
  return startEmbeddedPostgres(path.join(dir, 'pg'), port);
}

export async function startTemporal(port: number, dbFile: string | null): Promise<RunningTemporal> {
  return startTemporalDevServer({ port, uiPort: null, ...(dbFile ? { dbFile } : {}) });
}

/** Postgres (database `meterline`, migrated) and a headless Temporal dev server. */
export async function startServices(opts: { prefix: string; temporalState: boolean }): Promise<Services> {
  const dir = workDir(opts.prefix);
  const pgPort = await freePort();
  const pg = await startPostgres(dir, pgPort);
  await ensureDatabase(pg.url, 'meterline');
  const databaseUrl = withDatabase(pg.url, 'meterline');
  const db = createDb(databaseUrl, 2);
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy();
  }
  const temporalPort = await freePort();
  const temporalDbFile = opts.temporalState ? path.join(dir, 'temporal.db') : null;
  const temporal = await startTemporal(temporalPort, temporalDbFile);
  return { dir, pgPort, pg, databaseUrl, temporalPort, temporal, temporalDbFile };
}

export async function createTenant(databaseUrl: string, slug: string): Promise<{ organizationId: string; apiKey: string }> {
  const db = createDb(databaseUrl, 1);
  try {
    const org = await ensureOrganization(db, slug, slug);
    return { organizationId: org.id, apiKey: await createApiKey(db, org.id) };
  } finally {
    await db.destroy();
  }
}

export interface HttpAnswer {
  status: number;
  body: any;
}

/** One request; a connection error is thrown (the caller decides whether to retry). */
export async function http(base: string, apiKey: string, method: string, p: string, body?: unknown, timeoutMs = 30_000): Promise<HttpAnswer> {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/** Like http() but any non-2xx is an error (setup steps). */
export async function must(base: string, apiKey: string, method: string, p: string, body?: unknown): Promise<any> {
  const r = await http(base, apiKey, method, p, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${p} → ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body;
}

export async function waitForHealth(base: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error('the process exited before answering /health');
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${base}/health did not answer within ${timeoutMs} ms`);
    await sleep(200);
  }
}
