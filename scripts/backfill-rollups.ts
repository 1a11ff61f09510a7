// `npm run rollups:backfill -- --org <organization id> [--from ISO] [--to ISO] [--page-size N]` (DATABASE_URL): rebuilds the
// organization's usage_rollups from its stored events (db/repositories/rollup-backfill.ts). Safe while ingest
// runs; prints what it rebuilt.
import { performance } from 'node:perf_hooks';
import { createDb } from '../db/knexfile';
import { backfillRollups } from '../db/repositories/rollup-backfill';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  const org = arg('org');
  if (!url || !org) throw new Error('usage: DATABASE_URL=... npm run rollups:backfill -- --org <organization id> [--from ISO] [--to ISO]');
  const db = createDb(url, 4);
  try {
    const from = arg('from');
    const to = arg('to');
    const pageSize = arg('page-size');
    const t0 = performance.now();
    const r = await backfillRollups(db, { organizationId: org, ...(from ? { from: new Date(from) } : {}), ...(to ? { to: new Date(to) } : {}), ...(pageSize ? { pageSize: Number(pageSize) } : {}) });
    const s = (performance.now() - t0) / 1000;
    console.log(`rebuilt ${r.pairs} (subscription, metric) pairs over ${r.days} days: ${r.events} events, ${r.retries} retries after concurrent ingest; ${s.toFixed(1)} s = ${Math.round(r.events / s)} rows/s`);
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
