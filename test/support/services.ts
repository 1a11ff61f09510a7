// Shared test services: one Postgres (embedded unless DATABASE_URL is set) and one Temporal dev server per
// test run, started by global-setup and found by the test files through environment variables.
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { createDb } from '../../db/knexfile';
import { ensureDatabase, withDatabase } from '../../dev/postgres';

export const TEMPLATE_DB = 'meterline_test_template';
/** Set by global-setup when it started the run's own embedded cluster (THROWAWAY_CLUSTER_FLAGS: no fsync). */
export const THROWAWAY_PG_ENV = 'METERLINE_TEST_PG_THROWAWAY';

export function pgServerUrl(): string {
  const url = process.env.METERLINE_TEST_PG_URL;
  if (!url) throw new Error('METERLINE_TEST_PG_URL is not set: run the tests through jest (global-setup starts Postgres)');
  return url;
}

export function temporalTestAddress(): string {
  const address = process.env.METERLINE_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('METERLINE_TEST_TEMPORAL_ADDRESS is not set: run the tests through jest');
  return address;
}

export interface TestDatabase {
  url: string;
  db: Knex;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file (a copy of the migrated template). */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const server = pgServerUrl();
  const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`.toLowerCase();
  // On the run's own throw-away cluster (no fsync) the file copy is the fast way; on a DATABASE_URL server the default.
  await ensureDatabase(server, name, TEMPLATE_DB, process.env[THROWAWAY_PG_ENV] ? 'FILE_COPY' : undefined);
  const url = withDatabase(server, name);
  const db = createDb(url);
  return {
    url,
    db,
    async drop() {
      await db.destroy();
      const admin = createDb(server, 1);
      try {
        await admin.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.destroy();
      }
    },
  };
}
