// Composition root of `npm run api`: config → Postgres + one Temporal client → HTTP API; graceful shutdown.
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config/env';
import { createDb } from '../db/knexfile';
import { appLogger, createRootLogger } from '../config/logger';
import { startApi } from './server';
import { VatNumberChecker } from '../adapters/vies/checker';
import { ViesHttpClient } from '../adapters/vies/http';
import { StripePaymentProvider, createStripeClient } from '../adapters/stripe/provider';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createRootLogger({ name: 'meterline-api' });
  const logger = appLogger(log);
  const db = createDb(config.databaseUrl, 20);
  const connection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const api = await startApi(
    {
      db,
      temporal,
      log,
      logger,
      ingest: { timeWindow: { maxAgeDays: config.eventMaxAgeDays } },
      ...(config.viesCheck ? { vatNumbers: new VatNumberChecker(new ViesHttpClient()) } : {}),
      paymentProviderFor: (cfg) => new StripePaymentProvider(createStripeClient({ secretKey: cfg.secretKey, apiBase: config.stripeApiBase })),
    },
    config.apiPort,
    '0.0.0.0',
  );
  logger.info('meterline api listening', { port: api.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('meterline api stopping', { signal });
    try {
      await api.close();
    } finally {
      await connection.close();
      await db.destroy();
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
