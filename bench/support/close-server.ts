// The system under test for bench/close.ts, in its own process: scripts/system.ts startSystem (migrations, the
// billing worker, the HTTP API) exactly as `npm start` runs it, with the Temporal SDK's Prometheus metrics on
// METRICS_PORT (activity executions and workflow tasks are counted from them).
//
// Instrumentation only: a side HTTP server on STATS_PORT answers GET /stats (?reset=1 starts a new window) with
// the SQL statements this process sent (knex 'query' events: API + worker), its CPU seconds and its peak RSS
// (sampled every 50 ms) in the window. Start-up and shutdown: bench/support/system-process.ts (shared with server.ts).
import http from 'node:http';
import { Runtime } from '@temporalio/worker';
import { requiredEnv, runBenchSystem } from './system-process';

// The Prometheus exporter must be installed before the worker's runtime starts (i.e. before startSystem).
Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${Number(requiredEnv('METRICS_PORT'))}` } } } });

runBenchSystem({
  label: 'close server',
  instrument: async (system) => {
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
    await new Promise<void>((resolve) => stats.listen(Number(requiredEnv('STATS_PORT')), '127.0.0.1', resolve));
    stats.unref();
    return `api ${system.api.url}`;
  },
});
