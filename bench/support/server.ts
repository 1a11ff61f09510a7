// The system under test for bench/ingest.ts, in its own process: scripts/system.ts startSystem (migrations,
// billing worker, HTTP API) on DATABASE_URL / TEMPORAL_ADDRESS / PORT, exactly as `npm start` runs it.
//
// Instrumentation only (nothing of the app changes): a side HTTP server on STATS_PORT answers GET /stats
// (and GET /stats?reset=1) with
//   - the group-commit writer's counters, group sizes and statement times (its `insert` function is wrapped),
//   - per-request time inside the server (first byte of the request handler → 'finish') and the part of it
//     spent waiting for the writer (writer.write() → resolved),
//   - knex pool occupancy (sampled every 10 ms: used connections, pending acquires),
//   - event-loop utilization and delay, process CPU.
// GET /profile/start and GET /profile/stop?out=<file> take a V8 CPU profile of just a measurement window
// (node:inspector in-process, the same sampler as --cpu-prof, without start-up and workflow bundling).
// Start-up and shutdown (BENCH_PARENT_PID, SIGTERM/SIGINT): bench/support/system-process.ts, shared with close-server.ts.
import fs from 'node:fs';
import http from 'node:http';
import inspector from 'node:inspector';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { runtimeOf } from '../../api/server';
import type { EventRow, InsertedEvent } from '../../db/repositories/events';
import { requiredEnv, runBenchSystem } from './system-process';
import { summarize } from './stats';

interface Window {
  startedAt: number;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
  cpu: NodeJS.CpuUsage;
  mainCpu: number | null;
  groupRows: number[];
  groupMs: number[];
  requestMs: number[];
  writerWaitMs: number[];
  poolSamples: number;
  poolUsedSum: number;
  poolPendingSum: number;
  poolPendingMax: number;
  poolPendingSamples: number;
  writesInFlightMax: number;
}

/** CPU seconds of this process's main thread only (Linux /proc; null elsewhere): the rest is worker threads
 * (Temporal's workflow VMs, libuv pool, GC helpers), which a V8 CPU profile of the main thread does not show. */
function mainThreadCpuSeconds(): number | null {
  try {
    const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

function newWindow(): Window {
  return {
    startedAt: Date.now(),
    elu: performance.eventLoopUtilization(),
    mainCpu: mainThreadCpuSeconds(),
    cpu: process.cpuUsage(),
    groupRows: [],
    groupMs: [],
    requestMs: [],
    writerWaitMs: [],
    poolSamples: 0,
    poolUsedSum: 0,
    poolPendingSum: 0,
    poolPendingMax: 0,
    poolPendingSamples: 0,
    writesInFlightMax: 0,
  };
}

const MAX_SAMPLES = 2_000_000;

runBenchSystem({
  label: 'bench server',
  instrument: async (system) => {
    const statsPort = Number(process.env.STATS_PORT ?? 0);
    // ---- instrumentation ----------------------------------------------------------------------------------
    let w = newWindow();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const runtime = runtimeOf(system.api.app);
    const writer = runtime.writer as unknown as {
      insert: (rows: EventRow[]) => Promise<InsertedEvent[]>;
      write: (rows: EventRow[]) => Promise<InsertedEvent[]>;
    };
    let writesInFlight = 0;
    const innerInsert = writer.insert;
    writer.insert = async (rows) => {
      const t0 = performance.now();
      writesInFlight += 1;
      if (writesInFlight > w.writesInFlightMax) w.writesInFlightMax = writesInFlight;
      try {
        return await innerInsert(rows);
      } finally {
        writesInFlight -= 1;
        if (w.groupMs.length < MAX_SAMPLES) {
          w.groupMs.push(performance.now() - t0);
          w.groupRows.push(rows.length);
        }
      }
    };
    const innerWrite = writer.write.bind(writer);
    writer.write = (rows) => {
      const t0 = performance.now();
      const p = innerWrite(rows);
      p.then(
        () => w.writerWaitMs.length < MAX_SAMPLES && w.writerWaitMs.push(performance.now() - t0),
        () => {},
      );
      return p;
    };
    system.api.server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (!req.url?.startsWith('/api/v1/events')) return;
      const t0 = performance.now();
      res.once('finish', () => {
        if (w.requestMs.length < MAX_SAMPLES) w.requestMs.push(performance.now() - t0);
      });
    });
    const pool = (system.db.client as unknown as { pool?: { numUsed(): number; numPendingAcquires(): number } }).pool;
    setInterval(() => {
      if (!pool) return;
      const used = pool.numUsed();
      const pending = pool.numPendingAcquires();
      w.poolSamples += 1;
      w.poolUsedSum += used;
      w.poolPendingSum += pending;
      if (pending > 0) w.poolPendingSamples += 1;
      if (pending > w.poolPendingMax) w.poolPendingMax = pending;
    }, 10).unref();

    const report = () => {
      const elu = performance.eventLoopUtilization(w.elu);
      const cpu = process.cpuUsage(w.cpu);
      const seconds = (Date.now() - w.startedAt) / 1000;
      const rows = w.groupRows.reduce((a, b) => a + b, 0);
      return {
        seconds,
        eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
        eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
        cpuSeconds: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
        mainThreadCpuSeconds: w.mainCpu === null ? null : (mainThreadCpuSeconds() ?? w.mainCpu) - w.mainCpu,
        writer: {
          counters: { ...runtime.writer.counters },
          groups: w.groupRows.length,
          rows,
          avgRowsPerGroup: w.groupRows.length ? Math.round(rows / w.groupRows.length) : 0,
          groupRows: summarize(w.groupRows),
          statementMs: summarize(w.groupMs),
          statementBusySeconds: w.groupMs.reduce((a, b) => a + b, 0) / 1000,
          writesInFlightMax: w.writesInFlightMax,
          requestWaitMs: summarize(w.writerWaitMs),
        },
        signaller: { ...runtime.signaller.counters },
        requestInServerMs: summarize(w.requestMs),
        pool: {
          avgUsed: w.poolSamples ? w.poolUsedSum / w.poolSamples : 0,
          avgPendingAcquires: w.poolSamples ? w.poolPendingSum / w.poolSamples : 0,
          maxPendingAcquires: w.poolPendingMax,
          fractionOfSamplesWithWaiters: w.poolSamples ? w.poolPendingSamples / w.poolSamples : 0,
        },
      };
    };

    const session = new inspector.Session();
    session.connect();
    const post = (method: string, params?: Record<string, unknown>) =>
      new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r))));

    const statsServer = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/profile/start' || url.pathname === '/profile/stop') {
        const run = url.pathname === '/profile/start'
          ? post('Profiler.enable').then(() => post('Profiler.setSamplingInterval', { interval: 1000 })).then(() => post('Profiler.start')).then(() => 'started')
          : post('Profiler.stop').then((r) => {
              fs.writeFileSync(url.searchParams.get('out') ?? 'bench.cpuprofile', JSON.stringify((r as { profile: unknown }).profile));
              return 'written';
            });
        run.then(
          (m) => res.end(m),
          (e: unknown) => {
            res.statusCode = 500;
            res.end(String(e));
          },
        );
        return;
      }
      const body = JSON.stringify(report());
      if (req.url?.includes('reset=1')) {
        w = newWindow();
        loopDelay.reset();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => statsServer.listen(statsPort, '127.0.0.1', resolve));
    statsServer.unref();
    return `api ${system.api.url}, stats port ${(statsServer.address() as { port: number }).port}`;
  },
});
