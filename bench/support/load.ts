// Load generator for bench/ingest.ts, in its own process (so its CPU is not the API's). node:http with a
// keep-alive Agent. Config: JSON in BENCH_LOAD (see LoadConfig). Prints ONE JSON line (LoadResult) on stdout
// and writes the transaction ids the API acknowledged as new (2xx, duplicate !== true) to `outFile`.
//
//   closed loop: `concurrency` workers, each sends its next request when the previous one answered.
//   open loop:   request i is due at t0 + i / ratePerSec, whatever happened before (no coordinated omission);
//                its latency is measured from that due time, so a stalled server shows up as latency.
import fs from 'node:fs';
import http from 'node:http';
import { summarize, type LatencySummary } from './stats';

export interface LoadConfig {
  url: string;
  apiKey: string;
  /** 'batch': POST /api/v1/events/batch with `batchSize` events; 'single': POST /api/v1/events. */
  mode: 'batch' | 'single';
  durationMs: number;
  /** Closed loop: requests in flight. */
  concurrency?: number;
  /** Open loop: requests per second (set → open loop). */
  ratePerSec?: number;
  batchSize?: number;
  /** Transaction-id prefix, unique per scenario and run. */
  prefix: string;
  subscriptions: string[];
  metricCode: string;
  outFile: string;
  timeoutMs?: number;
}

export interface LoadResult {
  mode: string;
  loop: 'closed' | 'open';
  requests: number;
  ok: number;
  acceptedEvents: number;
  duplicateEvents: number;
  sentEvents: number;
  errors: Record<string, number>;
  latencyMs: LatencySummary;
  elapsedS: number;
  eventsPerSec: number;
  /** Open loop: how late the generator itself sent requests (ms after their due time). */
  sendLagMs?: LatencySummary;
  cpuSeconds: number;
}

const cfg = JSON.parse(process.env.BENCH_LOAD ?? 'null') as LoadConfig | null;
if (!cfg) {
  console.error('BENCH_LOAD (JSON config) is required');
  process.exit(2);
}

const parentPid = Number(process.env.BENCH_PARENT_PID ?? 0);
if (parentPid > 0) {
  setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      process.exit(3);
    }
  }, 1000).unref();
}

const u = new URL(cfg.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.ratePerSec ? 512 : (cfg.concurrency ?? 16) + 4, maxFreeSockets: 1024 });
const batchSize = cfg.mode === 'batch' ? (cfg.batchSize ?? 100) : 1;
const path = cfg.mode === 'batch' ? '/api/v1/events/batch' : '/api/v1/events';
const auth = `Bearer ${cfg.apiKey}`;
const timeoutMs = cfg.timeoutMs ?? 30_000;

let seq = 0;
let subIdx = 0;
const latencies: number[] = [];
const sendLags: number[] = [];
const errors: Record<string, number> = {};
const accepted: string[] = [];
let requests = 0;
let ok = 0;
let duplicates = 0;
let sentEvents = 0;

function eventJson(tid: string, sub: string, ts: string, tokens: number): string {
  return `{"transaction_id":"${tid}","external_subscription_id":"${sub}","code":"${cfg!.metricCode}","timestamp":"${ts}","properties":{"tokens":${tokens}}}`;
}

function nextBody(): string {
  const ts = new Date().toISOString();
  if (cfg!.mode === 'single') {
    const sub = cfg!.subscriptions[subIdx++ % cfg!.subscriptions.length]!;
    return `{"event":${eventJson(`${cfg!.prefix}${seq++}`, sub, ts, 1 + (seq % 1000))}}`;
  }
  const parts: string[] = new Array(batchSize);
  for (let i = 0; i < batchSize; i++) {
    const sub = cfg!.subscriptions[subIdx++ % cfg!.subscriptions.length]!;
    parts[i] = eventJson(`${cfg!.prefix}${seq++}`, sub, ts, 1 + (seq % 1000));
  }
  return `{"events":[${parts.join(',')}]}`;
}

function countError(key: string): void {
  errors[key] = (errors[key] ?? 0) + 1;
}

interface ApiEvent {
  transaction_id: string;
  duplicate?: boolean;
}

/** One request; `startNs` is when it was due (open loop) or sent (closed loop). */
function send(startNs: bigint): Promise<void> {
  const body = nextBody();
  sentEvents += batchSize;
  requests += 1;
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (errKey: string | null) => {
      if (done) return;
      done = true;
      if (errKey) countError(errKey);
      latencies.push(Number(process.hrtime.bigint() - startNs) / 1e6);
      resolve();
    };
    const req = http.request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path,
        headers: { authorization: auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => finish('response_error'));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return finish(`http_${status}`);
          let events: ApiEvent[];
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events?: ApiEvent[]; event?: ApiEvent };
            events = cfg!.mode === 'batch' ? (parsed.events ?? []) : parsed.event ? [parsed.event] : [];
          } catch {
            return finish('bad_json');
          }
          ok += 1;
          for (const e of events) {
            if (e.duplicate === true) duplicates += 1;
            else accepted.push(e.transaction_id);
          }
          finish(null);
        });
      },
    );
    req.setTimeout(timeoutMs, () => {
      finish('timeout');
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish(`error_${e.code ?? e.message}`));
    req.end(body);
  });
}

async function closedLoop(concurrency: number, deadlineNs: bigint): Promise<void> {
  const worker = async () => {
    while (process.hrtime.bigint() < deadlineNs) await send(process.hrtime.bigint());
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function openLoop(ratePerSec: number, t0: bigint, durationMs: number): Promise<void> {
  const intervalNs = BigInt(Math.round(1e9 / ratePerSec));
  const total = Math.floor((durationMs / 1000) * ratePerSec);
  const inFlight = new Set<Promise<void>>();
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = process.hrtime.bigint();
      while (i < total) {
        const due = t0 + BigInt(i) * intervalNs;
        if (due > now) break;
        sendLags.push(Number(now - due) / 1e6);
        const p = send(due);
        inFlight.add(p);
        void p.then(() => inFlight.delete(p));
        i += 1;
      }
      if (i >= total) return resolve();
      const nextDue = t0 + BigInt(i) * intervalNs;
      const waitMs = Number(nextDue - process.hrtime.bigint()) / 1e6;
      setTimeout(tick, Math.max(0, Math.floor(waitMs)));
    };
    tick();
  });
  await Promise.all(inFlight);
}

async function main(): Promise<void> {
  const c = cfg!;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  if (c.ratePerSec) await openLoop(c.ratePerSec, t0, c.durationMs);
  else await closedLoop(c.concurrency ?? 16, t0 + BigInt(c.durationMs) * 1_000_000n);
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  fs.writeFileSync(c.outFile, accepted.join('\n'));
  const result: LoadResult = {
    mode: c.mode,
    loop: c.ratePerSec ? 'open' : 'closed',
    requests,
    ok,
    acceptedEvents: accepted.length,
    duplicateEvents: duplicates,
    sentEvents,
    errors,
    latencyMs: summarize(latencies),
    elapsedS: Math.round(elapsedS * 1000) / 1000,
    eventsPerSec: Math.round(accepted.length / elapsedS),
    ...(c.ratePerSec ? { sendLagMs: summarize(sendLags) } : {}),
    cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  agent.destroy();
}

main().catch((err) => {
  console.error('load generator failed:', err);
  process.exit(1);
});
