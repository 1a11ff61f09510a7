// Starts the services every integration test shares: Postgres and a Temporal dev server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, migrateLatest } from '../../db/knexfile';
import { THROWAWAY_CLUSTER_FLAGS, startEmbeddedPostgres, withDatabase } from '../../dev/postgres';
import { freePort, startTemporalDevServer, temporalCliPath, temporalTestServerPath } from '../../dev/temporal';
import { TEMPLATE_DB, THROWAWAY_PG_ENV } from './services';
import { WORKFLOW_BUNDLE_ENV, writeWorkflowBundle } from './workflow-bundle';

export default async function globalSetup(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  // Fail fast, in one line, when the Temporal binaries are missing (never skip, never download).
  try {
    temporalTestServerPath();
    temporalCliPath();
  } catch (err) {
    const oneLine = new Error((err as Error).message);
    oneLine.stack = oneLine.message;
    throw oneLine;
  }

  // The run's one workflow bundle (test/support/workflow-bundle.ts), built while Postgres and Temporal start.
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-test-bundle-'));
  g.__METERLINE_BUNDLE_DIR__ = bundleDir;
  const bundled = writeWorkflowBundle(bundleDir);
  bundled.catch(() => undefined); // awaited below; a failure there fails the setup

  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const pgPort = await freePort();
    // A throw-away cluster per run, so concurrent runs on one checkout never share a data folder.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meterline-test-pg-'));
    fs.chmodSync(dataDir, 0o755); // the postgres system user (when run as root) must reach it
    // Deleted at teardown: no fsync, no synchronous commit (dev/postgres.ts THROWAWAY_CLUSTER_FLAGS).
    const pgServer = await startEmbeddedPostgres(path.join(dataDir, 'data'), pgPort, undefined, THROWAWAY_CLUSTER_FLAGS);
    process.env[THROWAWAY_PG_ENV] = '1';
    g.__METERLINE_PG__ = pgServer;
    g.__METERLINE_PG_DIR__ = dataDir;
    serverUrl = pgServer.url;
  }
  process.env.METERLINE_TEST_PG_URL = withDatabase(serverUrl, 'postgres');

  const admin = createDb(process.env.METERLINE_TEST_PG_URL, 1);
  try {
    await admin.raw(`DROP DATABASE IF EXISTS "${TEMPLATE_DB}" WITH (FORCE)`);
    await admin.raw(`CREATE DATABASE "${TEMPLATE_DB}"`);
  } finally {
    await admin.destroy();
  }
  const template = createDb(withDatabase(serverUrl, TEMPLATE_DB), 1);
  try {
    await migrateLatest(template);
  } finally {
    await template.destroy();
  }

  if (!process.env.METERLINE_TEST_TEMPORAL_ADDRESS) {
    const temporal = await startTemporalDevServer({ port: await freePort(), uiPort: null });
    g.__METERLINE_TEMPORAL__ = temporal;
    process.env.METERLINE_TEST_TEMPORAL_ADDRESS = temporal.address;
  }
  process.env[WORKFLOW_BUNDLE_ENV] = await bundled;
}
