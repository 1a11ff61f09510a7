// The running system on given services: migrations, the billing worker and the HTTP API in one process.
// Used by `npm start` (after it starts the embedded services) and by the benchmarks.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Knex } from 'knex';
import { startApi, type RunningApi } from '../api/server';
import { createDb, migrateLatest } from '../db/knexfile';
import { ensureAllSchedules } from '../worker/schedules';
import { createBillingWorker } from '../worker/worker';
import { ensureWebhookDeliveryWorkflow } from '../worker/webhook-delivery';
import { subscriptionTerminator } from '../worker/subscription-terminator';

export interface SystemOptions {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  apiPort: number;
  apiHost?: string;
  dbPoolMax?: number;
  /** Events older than this many days are refused (ingest time window). */
  eventMaxAgeDays: number;
}

export interface RunningSystem {
  db: Knex;
  api: RunningApi;
  stop(): Promise<void>;
}

export async function startSystem(opts: SystemOptions): Promise<RunningSystem> {
  const db = createDb(opts.databaseUrl, opts.dbPoolMax ?? 20);
  await migrateLatest(db);

  const connection = await Connection.connect({ address: opts.temporalAddress });
  const temporal = new Client({ connection, namespace: opts.namespace });
  // FX refresh, subscription sweeper, draft finalization, overdue checks, wallet expiry and interval top-ups (worker/schedules.ts).
  await ensureAllSchedules(temporal);
  await ensureWebhookDeliveryWorkflow(temporal);

  const nativeConnection = await NativeConnection.connect({ address: opts.temporalAddress });
  const worker = await createBillingWorker({ connection: nativeConnection, namespace: opts.namespace, db, terminateSubscription: subscriptionTerminator(temporal), client: temporal });
  const workerRun = worker.run();
  const api = await startApi(
    { db, temporal, ingest: { timeWindow: { maxAgeDays: opts.eventMaxAgeDays } } },
    opts.apiPort,
    opts.apiHost ?? '0.0.0.0',
  );

  return {
    db,
    api,
    async stop() {
      await api.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      await nativeConnection.close();
      await connection.close();
      await db.destroy();
    },
  };
}
