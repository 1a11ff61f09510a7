// `npm start`: the whole system on one machine with embedded defaults and no configuration.
// Postgres: DATABASE_URL, else embedded (data in .data/pg). Temporal: TEMPORAL_ADDRESS, else the dev server
// (state in .data/temporal.db, Web UI on :8233). Then migrations, the worker and the API (:3000).
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { parseEnv } from '../config/env';
import { createApiKey, ensureOrganization, hasApiKey } from '../db/repositories/organizations';
import { ensureDatabase, startEmbeddedPostgres, withDatabase } from '../dev/postgres';
import { startTemporalDevServer } from '../dev/temporal';
import { startSystem } from './system';

async function main(): Promise<void> {
  const env = parseEnv();
  fs.mkdirSync(env.METERLINE_DATA_DIR, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const stop of stops.reverse()) await stop().catch((e) => console.error('shutdown:', e));
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const pgDir = path.join(env.METERLINE_DATA_DIR, 'pg');
      const pg = await startEmbeddedPostgres(pgDir, env.METERLINE_PG_PORT);
      stops.push(() => pg.stop());
      await ensureDatabase(pg.url, 'meterline');
      databaseUrl = withDatabase(pg.url, 'meterline');
      console.log(`postgres     embedded on 127.0.0.1:${env.METERLINE_PG_PORT}, data in ${pgDir}`);
    }
    let temporalAddress = env.TEMPORAL_ADDRESS;
    let uiUrl = 'the Web UI of your Temporal server';
    if (!temporalAddress) {
      const temporal = await startTemporalDevServer({
        port: env.METERLINE_TEMPORAL_PORT,
        uiPort: env.METERLINE_TEMPORAL_UI_PORT,
        dbFile: path.join(env.METERLINE_DATA_DIR, 'temporal.db'),
      });
      stops.push(() => temporal.stop());
      temporalAddress = temporal.address;
      uiUrl = temporal.uiUrl ?? uiUrl;
      console.log(`temporal     dev server on ${temporalAddress}, state in ${path.join(env.METERLINE_DATA_DIR, 'temporal.db')}`);
    }

    const system = await startSystem({
      databaseUrl,
      temporalAddress,
      namespace: env.TEMPORAL_NAMESPACE,
      apiPort: env.PORT,
      eventMaxAgeDays: env.METERLINE_EVENT_MAX_AGE_DAYS,
    });
    stops.push(() => system.stop());
    const apiKey = await defaultApiKey(system.db, env.METERLINE_DATA_DIR);

    console.log('');
    console.log('Meterline is running.');
    console.log(`  API          http://localhost:${env.PORT}/api/v1`);
    console.log(`  Temporal UI  ${uiUrl}`);
    console.log(`  API key      ${apiKey}`);
    console.log('               (organization "default"; send it as: Authorization: Bearer <key>)');
    console.log(`Ctrl-C stops everything; data stays in ${env.METERLINE_DATA_DIR}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    await shutdown(1);
  }
}

/** The default organization's development key: created on first start, kept in the data folder. */
async function defaultApiKey(db: Knex, dataDir: string): Promise<string> {
  const org = await ensureOrganization(db, 'default', 'Default organization');
  const keyFile = path.join(dataDir, 'default-api-key');
  if (fs.existsSync(keyFile)) {
    const key = fs.readFileSync(keyFile, 'utf8').trim();
    if (await hasApiKey(db, org.id, key)) return key;
  }
  const key = await createApiKey(db, org.id);
  fs.writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return key;
}

void main();
