// `npm start`: the whole system on one machine with embedded defaults and no configuration.
// Postgres: DATABASE_URL, else embedded (data in .data/pg). Temporal: TEMPORAL_ADDRESS, else the dev server
// (state in .data/temporal.db, Web UI on :8233). Then migrations, the worker and the API (:3000).
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from '../api/server';
import { parseEnv } from '../config/env';
import { createDb, migrateLatest } from '../db/knexfile';
import { createApiKey, ensureOrganization, hasApiKey } from '../db/repositories/organizations';
import { ensureDatabase, startEmbeddedPostgres, withDatabase, type RunningPostgres } from '../dev/postgres';
import { startTemporalDevServer, type RunningTemporal } from '../dev/temporal';
import { createBillingWorker } from '../worker/worker';

async function main(): Promise<void> {
  const env = parseEnv();
  fs.mkdirSync(env.METERLINE_DATA_DIR, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const shutdown = async (code: number) => {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error('shutdown:', e));
    process.exit(code);
  };

  try {
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const pg: RunningPostgres = await startEmbeddedPostgres(path.join(env.METERLINE_DATA_DIR, 'pg'), env.METERLINE_PG_PORT);
      stops.push(() => pg.stop());
      await ensureDatabase(pg.url, 'meterline');
      databaseUrl = withDatabase(pg.url, 'meterline');
      console.log(`postgres      embedded on 127.0.0.1:${env.METERLINE_PG_PORT} (data in ${path.join(env.METERLINE_DATA_DIR, 'pg')})`);
    }
    let temporalAddress = env.TEMPORAL_ADDRESS;
    let uiUrl = 'the Web UI of your Temporal server';
    if (!temporalAddress) {
      const temporal: RunningTemporal = await startTemporalDevServer({
        port: env.METERLINE_TEMPORAL_PORT,
        uiPort: env.METERLINE_TEMPORAL_UI_PORT,
        dbFile: path.join(env.METERLINE_DATA_DIR, 'temporal.db'),
      });
      stops.push(() => temporal.stop());
      temporalAddress = temporal.address;
      uiUrl = temporal.uiUrl ?? uiUrl;
    }

    const db = createDb(databaseUrl);
    stops.push(() => db.destroy());
    await migrateLatest(db);
    const apiKey = await defaultApiKey(db, env.METERLINE_DATA_DIR);

    const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    const worker = await createBillingWorker({ connection: nativeConnection, namespace: env.TEMPORAL_NAMESPACE, db });
    const workerRun = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      await nativeConnection.close();
    });

    const connection = await Connection.connect({ address: temporalAddress });
    const temporal = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
    stops.push(() => connection.close());
    const app = createApp({ db, temporal });
    const server: http.Server = await new Promise((resolve) => {
      const s = app.listen(env.PORT, () => resolve(s));
    });
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));

    console.log('');
    console.log(`Meterline is running.`);
    console.log(`  API          http://localhost:${env.PORT}/api/v1`);
    console.log(`  Temporal UI  ${uiUrl}`);
    console.log(`  API key      ${apiKey}   (organization "default"; use: Authorization: Bearer <key>)`);
    console.log('Ctrl-C stops everything; data stays in ' + env.METERLINE_DATA_DIR);

    process.once('SIGINT', () => void shutdown(0));
    process.once('SIGTERM', () => void shutdown(0));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    await shutdown(1);
  }
}

/** The default organization's development key: created on first start, kept in the data folder. */
async function defaultApiKey(db: ReturnType<typeof createDb>, dataDir: string): Promise<string> {
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
