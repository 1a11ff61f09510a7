// Operator endpoints, outside /api/v1 and without an API key (put them behind the network's own access rules):
// - GET /health: the process is up (liveness; touches nothing);
// - GET /ready: Postgres and Temporal both answer (readiness; 503 with which one failed, so a load balancer stops
//   sending traffic to an API that could only answer 503s);
// - GET /metrics: Prometheus text format (api/operations/metrics.ts);
// - GET /docs: the API reference rendered offline by swagger-ui-dist from GET /api/v1/openapi.json (no CDN).
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import express from 'express';
import type { Knex } from 'knex';
import { pingDatabase } from '../../db/repositories/operations';
import type { ApiMetrics } from './metrics';

export interface OperationsDeps {
  db: Knex;
  temporal: Client;
  metrics: ApiMetrics;
  /** How long /ready waits for each dependency (default 2 s). */
  readyTimeoutMs?: number;
}

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function check(ms: number, probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await within(ms, probe());
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message.split('\n')[0] };
  }
}

const SWAGGER_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meterline API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#docs', deepLinking: true });`;

export function operationsRoutes(deps: OperationsDeps): express.Router {
  const router = express.Router();
  const ms = deps.readyTimeoutMs ?? 2000;

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    const [postgres, temporal] = await Promise.all([
      check(ms, () => pingDatabase(deps.db)),
      check(ms, () => deps.temporal.workflowService.getSystemInfo({})),
    ]);
    const ready = postgres.ok && temporal.ok;
    if (!ready) res.set('Retry-After', '5');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: { postgres, temporal } });
  });
  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(DOCS_PAGE);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(DOCS_INIT);
  });
  const assets = new Set(['swagger-ui.css', 'swagger-ui-bundle.js']);
  router.get('/docs/assets/:file', (req, res, next) => {
    if (!assets.has(req.params.file)) return next();
    res.type(req.params.file.endsWith('.css') ? 'text/css' : 'application/javascript');
    fs.createReadStream(path.join(SWAGGER_DIR, req.params.file)).pipe(res);
  });
  return router;
}
