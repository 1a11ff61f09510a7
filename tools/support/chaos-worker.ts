// The worker process of `npm run chaos` (tools/chaos.ts): worker/main.ts's composition, with the workflow
// bundle the orchestrator built once (WORKFLOW_BUNDLE, so a restart after kill -9 takes seconds, not a webpack
// build). Exits when the orchestrator (CHAOS_PARENT_PID) is gone.
import { NativeConnection } from '@temporalio/worker';
import { createDb } from '../../db/knexfile';
import { createBillingWorker } from '../../worker/worker';
import { watchParent } from './parent';

async function main(): Promise<void> {
  watchParent();
  const db = createDb(process.env.DATABASE_URL!);
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await createBillingWorker({ connection, namespace: 'default', db, workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE! } });
  console.log('chaos worker polling');
  await worker.run();
  await connection.close();
  await db.destroy();
  process.exit(0);
}

main().catch((err) => {
  console.error('chaos worker failed:', err);
  process.exit(1);
});
