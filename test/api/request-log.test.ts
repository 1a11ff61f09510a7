// The request log on the ingest path (api/operations/request-log.ts, issue 7): an accepted POST /events or
// /events/batch is logged at debug (no line at the default info level: the hot path stays cheap), while its
// rejections (4xx) stay at info and failures (5xx) at error, and every other route keeps its info line. The
// middleware runs on a plain express app over real HTTP; lines are read from the logger's stream.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { createRootLogger, type LogLevel } from '../../config/logger';
import { httpRequestLogger, requestLogLevel } from '../../api/operations/request-log';

function memoryStream(into: string[]): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      into.push(...String(chunk).split('\n').filter((l) => l.length > 0));
      done();
    },
  });
}

interface Running {
  url: string;
  lines: string[];
  close(): Promise<void>;
}

async function start(level: LogLevel): Promise<Running> {
  const lines: string[] = [];
  const app = express();
  app.use((_req, res, next) => {
    res.locals.requestId = String(_req.headers['x-request-id'] ?? 'none');
    next();
  });
  app.use(httpRequestLogger(createRootLogger({ name: 'meterline-api', level, destination: memoryStream(lines) })));
  // Status chosen by the test through ?status=
  app.all(/.*/, (req, res) => {
    res.status(Number(req.query.status ?? 200)).json({ ok: true });
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lines,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function send(r: Running, method: string, path: string, id: string): Promise<void> {
  const res = await fetch(`${r.url}${path}`, { method, headers: { 'x-request-id': id, 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
  await res.text();
}

/** The line of request `id`, waiting briefly (written when the response finishes); undefined if none came. */
async function lineOf(r: Running, id: string): Promise<Record<string, any> | undefined> {
  for (let i = 0; i < 25; i++) {
    const line = r.lines.map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.request_id === id);
    if (line) return line;
    await new Promise((res) => setTimeout(res, 20));
  }
  return undefined;
}

test('at the default info level an accepted event post writes no line, while its 422 and 500 and other routes are logged', async () => {
  const r = await start('info');
  try {
    await send(r, 'POST', '/api/v1/events', 'ev-ok');
    await send(r, 'POST', '/api/v1/events/batch', 'batch-ok');
    await send(r, 'POST', '/api/v1/events/batch?status=422', 'batch-422');
    await send(r, 'POST', '/api/v1/events?status=500', 'ev-500');
    await send(r, 'POST', '/api/v1/customers', 'cust-ok');
    await send(r, 'GET', '/api/v1/events/tx_1', 'get-event');
    expect(await lineOf(r, 'batch-422')).toMatchObject({ level: 'info', req: { method: 'POST', path: '/api/v1/events/batch' }, res: { status: 422 }, msg: 'POST /api/v1/events/batch 422' });
    expect(await lineOf(r, 'ev-500')).toMatchObject({ level: 'error', res: { status: 500 }, err: { message: 'failed with status code 500' } });
    expect(await lineOf(r, 'cust-ok')).toMatchObject({ level: 'info', res: { status: 200 }, msg: 'POST /api/v1/customers 200' });
    expect(await lineOf(r, 'get-event')).toMatchObject({ level: 'info', req: { method: 'GET', path: '/api/v1/events/tx_1' } });
    expect(typeof (await lineOf(r, 'cust-ok'))!.duration_ms).toBe('number');
    // The lines above were written after the accepted posts' (sent first, in order): none of those came.
    expect(await lineOf(r, 'ev-ok')).toBeUndefined();
    expect(await lineOf(r, 'batch-ok')).toBeUndefined();
    expect(r.lines).toHaveLength(4);
  } finally {
    await r.close();
  }
});

test('at debug level the accepted event posts are logged too, with the same shape', async () => {
  const r = await start('debug');
  try {
    await send(r, 'POST', '/api/v1/events/batch', 'batch-ok');
    expect(await lineOf(r, 'batch-ok')).toMatchObject({
      level: 'debug', service: 'meterline-api', request_id: 'batch-ok', req: { method: 'POST', path: '/api/v1/events/batch' }, res: { status: 200 }, msg: 'POST /api/v1/events/batch 200',
    });
  } finally {
    await r.close();
  }
});

test('the level rule: errors never go below error, only accepted event posts go to debug', () => {
  expect(requestLogLevel('POST', '/api/v1/events', 200, false)).toBe('debug');
  expect(requestLogLevel('POST', '/api/v1/events/batch/', 200, false)).toBe('debug');
  expect(requestLogLevel('POST', '/api/v1/events', 200, true)).toBe('error'); // the response stream failed
  expect(requestLogLevel('POST', '/api/v1/events', 503, false)).toBe('error');
  expect(requestLogLevel('POST', '/api/v1/events', 400, false)).toBe('info');
  expect(requestLogLevel('POST', '/api/v1/events/import', 200, false)).toBe('info');
  expect(requestLogLevel('GET', '/api/v1/events', 200, false)).toBe('info');
});
