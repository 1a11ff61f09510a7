// The system under test for bench/close.ts, in its own process: scripts/system.ts startSystem (migrations, the
// billing worker, the HTTP API) exactly as `npm start` runs it, with the Temporal SDK's Prometheus metrics on
// METRICS_PORT (activity executions and workflow tasks are counted from them).
//
// Instrumentation only: a side HTTP server on STATS_PORT answers GET /stats (?reset=1 starts a new window) with
// the SQL statements this process sent (knex 'query' events: API + worker), its CPU seconds and its peak RSS
// (sampled every 50 ms) in the window. Exits when the orchestrator (BENCH_PARENT_PID) is gone and on SIGTERM.
import http from 'node:http';
import { Runtime } from '@temporalio/worker';
import { DEFAULT_MAX_AGE_DAYS } from '../../api/ingest/timestamp';
import { startSystem, type RunningSystem } from '../../scripts/system';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
}

async function main(): Promise<void> {
  const metricsPort = Number(required('METRICS_PORT'));
  Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } } });
  let system: RunningSystem | null = null;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(code), 10_000).unref();
    try {
      if (system) await system.stop();
    } catch (e) {
      console.error('close server: stop failed:', e);
    }
    process.exit(code);
  };
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
    databaseUrl: required('DATABASE_URL'),
    temporalAddress: required('TEMPORAL_ADDRESS'),
    namespace: 'default',
    apiPort: Number(required('PORT')),
    apiHost: '127.0.0.1',
    eventMaxAgeDays: DEFAULT_MAX_AGE_DAYS,
    ...(process.env.DB_POOL_MAX ? { dbPoolMax: Number(process.env.DB_POOL_MAX) } : {}),
  });

  let queries = 0;
  system.db.on('query', () => {
    queries += 1;
  });
  let w = { startedAt: Date.now(), queries: 0, cpu: process.cpuUsage(), peakRss: process.memoryUsage().rss };
  setInterval(() => {
    w.peakRss = Math.max(w.peakRss, process.memoryUsage().rss);
  }, 50).unref();

  const stats = http.createServer((req, res) => {
    const cpu = process.cpuUsage(w.cpu);
    const body = JSON.stringify({
      seconds: (Date.now() - w.startedAt) / 1000,
      queries: queries - w.queries,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      peakRssMb: Math.max(w.peakRss, process.memoryUsage().rss) / 1024 / 1024,
      rssMb: process.memoryUsage().rss / 1024 / 1024,
    });
    if (req.url?.includes('reset=1')) w = { startedAt: Date.now(), queries, cpu: process.cpuUsage(), peakRss: process.memoryUsage().rss };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => stats.listen(Number(required('STATS_PORT')), '127.0.0.1', resolve));
  stats.unref();
  console.log(`close server ready: api ${system.api.url}`);
}

main().catch((err) => {
  console.error('close server failed:', err);
  process.exit(1);
});
