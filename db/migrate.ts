// `npm run migrate`: applies pending migrations to DATABASE_URL (knex's lock table serialises concurrent runs).
import { parseEnv } from '../config/env';
import { createDb, migrateLatest } from './knexfile';

async function main(): Promise<void> {
  const env = parseEnv();
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not set (npm start migrates the embedded database itself)');
  const db = createDb(env.DATABASE_URL, 1);
  try {
    await migrateLatest(db);
    console.log('migrations applied');
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
