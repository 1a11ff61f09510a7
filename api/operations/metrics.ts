// Prometheus metrics of one API process (prom-client, one Registry per app so several apps in one process —
// tests — never collide). Scraped at GET /metrics.
//
// - meterline_http_request_duration_seconds{method,route,status}: latency by route pattern (never the raw
//   path, so ids do not explode the label set);
// - meterline_ingest_events_total / meterline_ingest_group_commit_rows: events written and the size of each
//   group commit (one statement per group);
// - meterline_usage_signal_pending_subscriptions: subscriptions whose coalesced usage signal is waiting (the
//   signal lag: the signaller sends at most about once a second per subscription);
// - meterline_invoices{status,payment_status}: invoices by state, read from Postgres at scrape time;
// - meterline_payments{payment_type,status}: payment attempts (provider, manual) by outcome, from Postgres;
// - meterline_webhooks{status}: outgoing webhook deliveries (pending, retrying, succeeded, failed), from Postgres;
// - the process' own metrics (CPU, memory, event-loop lag) from prom-client's defaults.
// Workflow and activity failures are the worker's: the Temporal SDK runtime exports them (worker/metrics).
import type { RequestHandler } from 'express';
import client from 'prom-client';

export interface ApiMetricsSources {
  pendingUsageSignals(): number;
  invoicesByStatus(): Promise<{ status: string; paymentStatus: string; count: number }[]>;
  paymentsByStatus?(): Promise<{ paymentType: string; status: string; count: number }[]>;
  webhooksByStatus?(): Promise<{ status: string; count: number }[]>;
}

export class ApiMetrics {
  readonly registry = new client.Registry();
  private readonly httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  private readonly ingestEvents: client.Counter;
  private readonly groupCommitRows: client.Histogram;

  constructor(sources: ApiMetricsSources) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'meterline_api_' });
    this.httpDuration = new client.Histogram({
      name: 'meterline_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.ingestEvents = new client.Counter({
      name: 'meterline_ingest_events_total',
      help: 'Events written by group commits (duplicates included)',
      registers: [this.registry],
    });
    this.groupCommitRows = new client.Histogram({
      name: 'meterline_ingest_group_commit_rows',
      help: 'Rows per group-commit statement',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers: [this.registry],
    });
    new client.Gauge({
      name: 'meterline_usage_signal_pending_subscriptions',
      help: 'Subscriptions with a coalesced usage signal waiting to be sent',
      registers: [this.registry],
      collect() {
        this.set(sources.pendingUsageSignals());
      },
    });
    new client.Gauge({
      name: 'meterline_invoices',
      help: 'Invoices by status and payment status (from Postgres at scrape time)',
      labelNames: ['status', 'payment_status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const row of await sources.invoicesByStatus()) {
          this.set({ status: row.status, payment_status: row.paymentStatus }, row.count);
        }
      },
    });
    if (sources.paymentsByStatus) {
      const read = sources.paymentsByStatus;
      new client.Gauge({
        name: 'meterline_payments',
        help: 'Payment attempts by type (provider, manual) and status (from Postgres at scrape time)',
        labelNames: ['payment_type', 'status'],
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const row of await read()) this.set({ payment_type: row.paymentType, status: row.status }, row.count);
        },
      });
    }
    if (sources.webhooksByStatus) {
      const read = sources.webhooksByStatus;
      new client.Gauge({
        name: 'meterline_webhooks',
        help: 'Outgoing webhook deliveries by status (from Postgres at scrape time)',
        labelNames: ['status'],
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const row of await read()) this.set({ status: row.status }, row.count);
        },
      });
    }
  }

  /** Express middleware timing every request; the label is the matched route pattern. */
  httpMiddleware(): RequestHandler {
    return (req, res, next) => {
      const end = this.httpDuration.startTimer({ method: req.method });
      res.on('finish', () => {
        const pattern = (req.route as { path?: string } | undefined)?.path;
        const route = typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : 'unmatched';
        end({ route, status: String(res.statusCode) });
      });
      next();
    };
  }

  /** Wraps the group-commit insert so each group's size is observed after it commits. */
  instrumentGroupCommit<T, R>(insert: (rows: T[]) => Promise<R>): (rows: T[]) => Promise<R> {
    return async (rows) => {
      const result = await insert(rows);
      this.ingestEvents.inc(rows.length);
      this.groupCommitRows.observe(rows.length);
      return result;
    };
  }
}
