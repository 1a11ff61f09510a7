import knex, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from './migrations';

// bigint (int8) columns hold integer cents: parse them as JS numbers and refuse anything unsafe.
// numeric columns stay strings (precise decimals never become floats).
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`int8 value ${value} exceeds the safe integer range`);
  return n;
});

export function knexConfig(databaseUrl: string, poolMax = 10): Knex.Config {
  return {
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: poolMax },
    migrations: { migrationSource, tableName: 'knex_migrations' },
  };
}

export function createDb(databaseUrl: string, poolMax?: number): Knex {
  return knex(knexConfig(databaseUrl, poolMax));
}

export async function migrateLatest(db: Knex): Promise<void> {
  await db.migrate.latest();
}
