// A second API process for bench:usage with BENCH_READ_PROCESS=1 (issue 14): the same app (api/server.ts createApp,
// the shape of docker-compose's api-1 / api-2) on its own event loop and its own knex pool, over the bench's
// database (BENCH_DB_URL). bench:usage sends the current-usage reads here while ingest goes to the first process,
// as a load balancer in front of two API processes could (or as a read-only API pool would). Prints one JSON line
// {"port": N} once listening; exits when the parent is gone or on SIGTERM.
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import type { Logger } from '../../api/errors';
import { createApp } from '../../api/server';
import { createDb } from '../../db/knexfile';

const url = process.env.BENCH_DB_URL;
if (!url) {
  console.error('BENCH_DB_URL is required');
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

const quietLogger: Logger = { info: () => {}, warn: () => {}, error: (msg, meta) => console.error(msg, meta) };
const db = createDb(url, Number(process.env.BENCH_POOL ?? 10));
// No Temporal server (as in bench:usage's first process): this process only serves reads.
const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
const app = createApp({ db, temporal, logger: quietLogger, log: pino({ level: 'silent' }) });
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  void db.destroy().finally(() => process.exit(0));
});
