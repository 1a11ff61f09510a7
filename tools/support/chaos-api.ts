// The API process of `npm run chaos` (tools/chaos.ts): api/main.ts's composition on loopback only, with its
// env (DATABASE_URL, TEMPORAL_ADDRESS, PORT). Exits when the orchestrator (CHAOS_PARENT_PID) is gone. It is
// killed with SIGKILL on purpose: nothing here may matter for durability.
import { Client, Connection } from '@temporalio/client';
import { consoleLogger } from '../../api/errors';
import { startApi } from '../../api/server';
import { createDb } from '../../db/knexfile';
import { watchParent } from './parent';

async function main(): Promise<void> {
  watchParent();
  const db = createDb(process.env.DATABASE_URL!, 20);
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const temporal = new Client({ connection, namespace: 'default' });
  const api = await startApi({ db, temporal, logger: consoleLogger }, Number(process.env.PORT), '127.0.0.1');
  console.log(`chaos api listening on ${api.url}`);
  const stop = async () => {
    await api.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err) => {
  console.error('chaos api failed:', err);
  process.exit(1);
});
