// A real billing worker (real activities, the run's workflow bundle) on an API harness's database and task
// queue, on the shared Temporal dev server: the setup that API tests driving workflows through the API shared.
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createBillingWorker, type BillingWorkerDeps } from '../../worker/worker';
import { temporalTestAddress, type TestDatabase } from './services';
import { testWorkflowBundle } from './workflow-bundle';

export interface HarnessWorker {
  worker: Worker;
  /** Stops the worker (waiting for its run to end) and closes its connection. */
  stop(): Promise<void>;
}

export async function startHarnessWorker(
  h: { database: TestDatabase; taskQueue: string },
  deps: Partial<Omit<BillingWorkerDeps, 'connection' | 'db' | 'taskQueue'>> = {},
): Promise<HarnessWorker> {
  const connection = await NativeConnection.connect({ address: temporalTestAddress() });
  const worker = await createBillingWorker({
    namespace: 'default',
    workflowBundle: await testWorkflowBundle(),
    ...deps,
    connection,
    db: h.database.db,
    taskQueue: h.taskQueue,
  });
  const run = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await run;
      await connection.close();
    },
  };
}

/** Polls `fn` (every 200 ms) until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
