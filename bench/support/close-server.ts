// The system under test for bench/close.ts, in its own process: scripts/system.ts startSystem (migrations, the
// billing worker, the HTTP API) exactly as `npm start` runs it, with the Temporal SDK's Prometheus metrics on
// METRICS_PORT (activity executions and workflow tasks are counted from them).
//
// Instrumentation only: a side HTTP server on STATS_PORT answers GET /stats (?reset=1 starts a new window) with
// the SQL statements this process sent (knex 'query' events: API + worker), its CPU seconds and its peak RSS
// (sampled every 50 ms) in the window. Start-up and shutdown: bench/support/system-process.ts (shared with server.ts).
import fs from 'node:fs';
import http from 'node:http';
import inspector from 'node:inspector';
import { Runtime } from '@temporalio/worker';
import { requiredEnv, runBenchSystem } from './system-process';

// The Prometheus exporter must be installed before the worker's runtime starts (i.e. before startSystem).
Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${Number(requiredEnv('METRICS_PORT'))}` } } } });

runBenchSystem({
  label: 'close server',
  instrument: async (system) => {
    let queries = 0;
    // Per-statement counts (SQL text with literals and placeholders collapsed), for the breakdown bench:close prints.
    let bySql = new Map<string, number>();
    system.db.on('query', (q: { sql?: string }) => {
      queries += 1;
      const key = String(q.sql ?? '?').replace(/\$\d+|\?/g, '?').replace(/'[^']*'/g, "'…'").replace(/\s+/g, ' ').slice(0, 160);
      bySql.set(key, (bySql.get(key) ?? 0) + 1);
    });
    let w = { startedAt: Date.now(), queries: 0, cpu: process.cpuUsage(), peakRss: process.memoryUsage().rss };
    setInterval(() => {
      w.peakRss = Math.max(w.peakRss, process.memoryUsage().rss);
    }, 50).unref();

    // BENCH_CPU_PROF=<file>: a V8 CPU profile of this process over the window (reset=1 starts it, profile=1 writes it).
    const profFile = process.env.BENCH_CPU_PROF;
    const session = profFile ? new inspector.Session() : null;
    session?.connect();
    const post = (method: string, params: object = {}) =>
      new Promise<unknown>((resolve, reject) => session!.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
    if (session) await post('Profiler.enable');
    const stats = http.createServer((req, res) => {
      if (session && req.url?.includes('reset=1')) void post('Profiler.start');
      if (session && req.url?.includes('profile=1')) {
        void post('Profiler.stop').then((r) => fs.writeFileSync(profFile!, JSON.stringify((r as { profile: unknown }).profile)));
      }
      const cpu = process.cpuUsage(w.cpu);
      const body = JSON.stringify({
        seconds: (Date.now() - w.startedAt) / 1000,
        queries: queries - w.queries,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        peakRssMb: Math.max(w.peakRss, process.memoryUsage().rss) / 1024 / 1024,
        rssMb: process.memoryUsage().rss / 1024 / 1024,
        statements: [...bySql].sort((a, b) => b[1] - a[1]),
      });
      if (req.url?.includes('reset=1')) bySql = new Map();
      if (req.url?.includes('reset=1')) w = { startedAt: Date.now(), queries, cpu: process.cpuUsage(), peakRss: process.memoryUsage().rss };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => stats.listen(Number(requiredEnv('STATS_PORT')), '127.0.0.1', resolve));
    stats.unref();
    return `api ${system.api.url}`;
  },
});
