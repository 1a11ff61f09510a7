// Composition root of a standalone worker process (production shape: DATABASE_URL and TEMPORAL_ADDRESS set).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/env';
import { createDb } from '../db/knexfile';
import { ensureAllSchedules } from './schedules';
import { subscriptionTerminator } from './subscription-terminator';
import { ensureWebhookDeliveryWorkflow } from './webhook-delivery';
import { createBillingWorker } from './worker';
import { createRootLogger, logLevelFromEnv } from '../config/logger';
import { temporalRuntimeLogger } from './logging';
import { StripePaymentProvider, createStripeClient } from '../adapters/stripe/provider';

async function main(): Promise<void> {
  const config = loadConfig();
  const level = logLevelFromEnv();
  const log = createRootLogger({ name: 'meterline-worker', level });
  Runtime.install({
    // Structured JSON logs (pino) for the SDK's, the workflows' and the activities' log lines.
    logger: temporalRuntimeLogger(log, level),
    // The SDK's own metrics (workflow and activity task failures, latencies, slots) for Prometheus.
    ...(config.workerMetricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: config.workerMetricsAddress } } } } : {}),
  });
  const db = createDb(config.databaseUrl);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const clientConnection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
  const worker = await createBillingWorker({
    connection,
    namespace: config.temporalNamespace,
    db,
    terminateSubscription: subscriptionTerminator(client),
    client,
    paymentProviderFor: (cfg) => new StripePaymentProvider(createStripeClient({ secretKey: cfg.secretKey, apiBase: config.stripeApiBase })),
  });
  // FX refresh, subscription sweeper, draft finalization, overdue checks, wallet expiry and interval top-ups (worker/schedules.ts).
  await ensureAllSchedules(client);
  // The webhook delivery loop (one per installation, kept if already running).
  await ensureWebhookDeliveryWorkflow(client);
  log.info({ temporalAddress: config.temporalAddress }, 'worker polling its task queues');
  await worker.run(); // resolves after SIGINT/SIGTERM (the SDK's default shutdown signals)
  await connection.close();
  await client.connection.close();
  await db.destroy();
}

main().catch((err) => {
  createRootLogger({ name: 'meterline-worker' }).fatal({ err }, 'worker failed');
  process.exit(1);
});
