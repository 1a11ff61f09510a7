// The one process lifecycle of a bench's system under test (shared by bench/support/server.ts and
// bench/support/close-server.ts; review finding D2): read the env, start scripts/system.ts startSystem exactly
// as `npm start` runs it, stop it on SIGTERM / SIGINT, and stop it when the orchestrator (BENCH_PARENT_PID) is
// gone. Each bench server adds only its own instrumentation in `instrument(system)`.
import { DEFAULT_MAX_AGE_DAYS } from '../../api/ingest/timestamp';
import { startSystem, type RunningSystem } from '../../scripts/system';

export function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}

export interface BenchSystemOptions {
  /** Log prefix ("bench server", "close server"). */
  label: string;
  /** Runs after the system started (side stats servers, wrappers); its message is logged when it resolves. */
  instrument: (system: RunningSystem) => Promise<string>;
}

/** Start the system under test from DATABASE_URL / TEMPORAL_ADDRESS / PORT (and optional DB_POOL_MAX, TEMPORAL_NAMESPACE). */
export function runBenchSystem(options: BenchSystemOptions): void {
  const main = async (): Promise<void> => {
    let system: RunningSystem | null = null;
    let stopping = false;
    const stop = async (code: number) => {
      if (stopping) return;
      stopping = true;
      // Never hang on the way out (e.g. the Temporal server is already gone and the worker cannot drain).
      setTimeout(() => process.exit(code), 10_000).unref();
      try {
        if (system) await system.stop();
      } catch (e) {
        console.error(`${options.label}: stop failed:`, e);
      }
      process.exit(code);
    };
    // `on`: a signal to the process group also arrives relayed by tsx's wrapper; repeats are ignored by stop().
    process.on('SIGTERM', () => void stop(0));
    process.on('SIGINT', () => void stop(0));
    const parentPid = Number(process.env.BENCH_PARENT_PID ?? 0);
    if (parentPid > 0) {
      setInterval(() => {
        try {
          process.kill(parentPid, 0);
        } catch {
          void stop(0);
        }
      }, 1000).unref();
    }

    system = await startSystem({
      databaseUrl: requiredEnv('DATABASE_URL'),
      temporalAddress: requiredEnv('TEMPORAL_ADDRESS'),
      namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      apiPort: Number(requiredEnv('PORT')),
      apiHost: '127.0.0.1',
      eventMaxAgeDays: DEFAULT_MAX_AGE_DAYS,
      ...(process.env.DB_POOL_MAX ? { dbPoolMax: Number(process.env.DB_POOL_MAX) } : {}),
    });
    console.log(`${options.label} ready: ${await options.instrument(system)}`);
  };
  main().catch((err) => {
    console.error(`${options.label} failed:`, err);
    process.exit(1);
  });
}
