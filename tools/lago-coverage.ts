// npm run lago:coverage — how much of Lago's public API Meterline serves, counted from the code, not by hand:
//   1. Lago 1.51 operations implemented: every path + method of /work/shared/reference/lago-openapi-1.51.0.yaml (202)
//      matched against the routes Express really mounts (the app's router stack, test/support/route-table.ts);
//   2. official client methods that reach a route: every method of lago-javascript-client (pinned in package.json) is
//      called with placeholder arguments against a request recorder, and the request it would send is matched against
//      the same route table (test/api/lago-client.test.ts proves the count on the live API: no such call is answered
//      by the unknown-route 404).
// Prints both counts, then the missing operations grouped by tag with --verbose.
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { parse } from 'yaml';
import { createApp, runtimeOf } from '../api/server';
import { apiRoutes, matchesTemplate, type MountedRoute } from '../test/support/route-table';

export const OPENAPI_FILE = process.env.LAGO_OPENAPI ?? '/work/shared/reference/lago-openapi-1.51.0.yaml';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export interface Operation {
  method: string;
  path: string;
  operationId: string;
  tag: string;
}

export function lagoOperations(file = OPENAPI_FILE): Operation[] {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>> };
  const out: Operation[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (op) out.push({ method: m.toUpperCase(), path: p, operationId: op.operationId ?? `${m} ${p}`, tag: op.tags?.[0] ?? 'other' });
    }
  }
  return out;
}

/** The mounted API routes of a Meterline app built without a database or Temporal (only its router stack is read). */
export async function meterlineRoutes(): Promise<MountedRoute[]> {
  const app = createApp({ db: {} as Knex, temporal: {} as Client, logger: { info() {}, warn() {}, error() {} } });
  await runtimeOf(app).signaller.stop();
  return apiRoutes(app);
}

const shape = (template: string) => template.replace(/\{[^}]+\}/g, '{}');

/** The route serving a concrete path: literal segments first (Express mounts /events/errors before /events/:id). */
export function routeFor(routes: MountedRoute[], method: string, concretePath: string): MountedRoute | undefined {
  return routes
    .filter((r) => r.method === method && matchesTemplate(r.template, concretePath))
    .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0))[0];
}

export function implementedOperations(routes: MountedRoute[], ops: Operation[]): Operation[] {
  const served = new Set(routes.map((r) => `${r.method} ${shape(r.template)}`));
  return ops.filter((o) => served.has(`${o.method} ${shape(o.path)}`));
}

export interface ClientCall {
  group: string;
  name: string;
  method: string;
  /** The path the client would request (placeholders in path parameters), without its query. */
  path: string;
}

/** Every method of the official client, with the request it sends (recorded, never sent). */
export function clientCalls(): ClientCall[] {
  const { Client: LagoClient } = require('lago-javascript-client') as typeof import('lago-javascript-client');
  const client = LagoClient('placeholder', { baseUrl: 'http://recorder.invalid/api/v1' }) as unknown as Record<string, unknown>;
  const calls: ClientCall[] = [];
  let last: { method: string; path: string } | null = null;
  (client as { request: unknown }).request = (req: { method: string; path: string }) => {
    last = { method: req.method, path: req.path };
    return Promise.resolve({ data: null });
  };
  for (const [group, value] of Object.entries(client)) {
    if (value === null || typeof value !== 'object' || group === 'contentFormatters' || group === 'baseApiParams' || group === 'abortControllers') continue;
    for (const [name, fn] of Object.entries(value as Record<string, unknown>)) {
      if (typeof fn !== 'function') continue;
      last = null;
      void (fn as (...a: unknown[]) => unknown)('p1', 'p2', 'p3', 'p4', 'p5');
      if (last) calls.push({ group, name, method: (last as { method: string }).method.toUpperCase(), path: (last as { path: string }).path });
    }
  }
  return calls;
}

export async function coverage() {
  const routes = await meterlineRoutes();
  const ops = lagoOperations();
  const implemented = implementedOperations(routes, ops);
  const calls = clientCalls();
  const reaching = calls.filter((c) => routeFor(routes, c.method, c.path) !== undefined);
  return { routes, ops, implemented, calls, reaching };
}

async function main() {
  const { ops, implemented, calls, reaching } = await coverage();
  const version = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', 'lago-javascript-client', 'package.json'), 'utf8')) as { version: string }).version;
  console.log(`Lago 1.51 operations implemented: ${implemented.length} of ${ops.length}`);
  console.log(`lago-javascript-client ${version} methods that reach a route: ${reaching.length} of ${calls.length}`);
  if (process.argv.includes('--verbose')) {
    const done = new Set(implemented.map((o) => o.operationId));
    const byTag = new Map<string, string[]>();
    for (const o of ops) (byTag.get(o.tag) ?? byTag.set(o.tag, []).get(o.tag)!).push(`${done.has(o.operationId) ? '✓' : '·'} ${o.method} ${o.path}`);
    for (const [tag, lines] of byTag) console.log(`\n${tag}\n  ${lines.join('\n  ')}`);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
