// The HTTP API: thin Express app over Postgres (durable writes) and Temporal (one client per process).
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import express from 'express';
import type { Knex } from 'knex';
import { ApiKeyAuthenticator, type AuthOptions } from './auth';
import type { RouteContext } from './context';
import { errorMiddleware, notFoundRoute, requestId, type Logger } from './errors';
import { idempotency } from './idempotency';
import { jsonDepthExceeds, jsonTooDeepError, unsafeTextGuard } from './input-safety';
import { IngestCache, type IngestCacheOptions } from './ingest/catalog-cache';
import { EventWriter, type EventWriterOptions } from './ingest/event-writer';
import { eventTimeWindow, type EventTimeWindowOptions } from './ingest/timestamp';
import { LateEventNotifier, type LateEventNotifierOptions } from './ingest/late-events';
import { UsageSignaller, type UsageSignallerOptions } from './ingest/usage-signaller';
import { billableMetricRoutes } from './routes/billable-metrics';
import { currentUsageRouter } from './routes/current-usage';
import { customerRoutes } from './routes/customers';
import { eventErrorRoutes } from './routes/event-errors';
import { eventQuarantineRoutes } from './routes/events-quarantine';
import { eventRoutes } from './routes/events';
import { eventsImportRoutes } from './routes/events-import';
import { invoiceRoutes } from './routes/invoices';
import { invoiceDocumentRoutes } from './routes/invoice-documents';
import { creditNoteDocumentRoutes } from './routes/credit-note-documents';
import { fxRoutes } from './routes/fx-rates';
import { organizationRoutes } from './routes/organizations';
import { invoicePreviewRoutes } from './routes/invoices-preview';
import { pastUsageRoutes } from './routes/past-usage';
import { planRoutes } from './routes/plans';
import { alertRoutes } from './routes/alerts';
import { apiKeyRoutes } from './routes/api-keys';
import { subscriptionRoutes } from './routes/subscriptions';
import { taxRoutes } from './routes/taxes';
import { paymentSettingsRoutes } from './routes/payment-settings';
import { testClockRoutes } from './routes/test-clocks';
import type { VatNumberChecker } from '../adapters/vies/checker';
import { webhookRoutes } from './routes/webhooks';
import { walletRoutes } from './routes/wallets';
import { catalogEditRoutes } from './routes/catalog-edits';
import { planChargeRoutes } from './routes/plan-charges';
import { fixedChargeRoutes } from './routes/fixed-charges'; // fixed13 (issues 11 + 13)
import { everydayReadRoutes } from './routes/everyday-reads';
import { feeUpdateRoutes } from './routes/fee-updates';
import { stripeWebhookRoutes } from './routes/stripe-webhooks';
import { paymentRoutes, type ProviderFactory } from './routes/payments';
import { invoiceActionRoutes } from './routes/invoice-actions';
import { couponRoutes } from './routes/coupons';
import { addOnRoutes } from './routes/add-ons';
import { creditNoteRoutes } from './routes/credit-notes';
import { StripePaymentProvider, createStripeClient } from '../adapters/stripe/provider';
import { openApiDocument } from './schemas/openapi';
import { ApiMetrics } from './operations/metrics';
import { operationsRoutes } from './operations/routes';
import { countInvoicesByStatus, countPaymentsByStatus, countWebhooksByStatus } from '../db/repositories/operations';
import { SUBSCRIPTION_TASK_QUEUE } from '../workflows/messages';
import { PlanCache } from './services/current-usage';
import { insertEventsWithRollups, RollupSpecCache } from '../db/repositories/rollups';
import { portalRoutes, portalUrlRoutes } from './portal/routes';
import { analyticsRoutes } from './routes/analytics';
import { customerMoneyRoutes } from './routes/customer-money'; // ops13a (issue 13)
import type pino from 'pino';
import { appLogger, createRootLogger } from '../config/logger';
import { httpRequestLogger } from './operations/request-log';
import { alertEditRoutes } from './routes/alert-edits';
import { subscriptionChargeRoutes } from './routes/subscription-charges'; // ops13c (issue 13)
import { lifetimeUsageRoutes } from './routes/lifetime-usage'; // ops13c (issue 13)
import { objectMetadataRoutes } from './routes/object-metadata';
import { creditNoteUpdateRoutes } from './routes/credit-note-updates';
import { feeEstimateRoutes } from './routes/fee-estimates';
import { invoiceCollectionRoutes } from './routes/invoice-collections';
import { usageToolRoutes } from './routes/usage-tools'; // ops13d (issue 13)
import { walletAlertRoutes } from './routes/wallet-alerts'; // ops13d (issue 13)
import { paymentMethodRoutes } from './routes/payment-methods'; // ops13d (issue 13)
import { featureRoutes } from './routes/features'; // ops13f (issue 13)
import { entitlementRoutes } from './routes/entitlements'; // ops13f (issue 13)
import { billingEntityRoutes } from './routes/billing-entities'; // ops13g (issue 13)
import { auditLogRoutes } from './routes/audit-logs'; // ops13g (issue 13)
import { ApiLogWriter, type ApiLogOptions } from './operations/api-log'; // ops13g (issue 13)

export interface IngestOptions {
  writer?: Omit<EventWriterOptions, 'logger'>;
  signaller?: Omit<UsageSignallerOptions, 'logger' | 'observer'>;
  /** Refresh signals to draft invoices whose period new events fall in (late events during the grace period). */
  lateEvents?: Omit<LateEventNotifierOptions, 'logger'>;
  cache?: IngestCacheOptions;
  /** Event timestamps accepted by /events: default 24 h ahead, any age; pass METERLINE_EVENT_MAX_AGE_DAYS as maxAgeDays. */
  timeWindow?: EventTimeWindowOptions;
}

export interface ApiDeps {
  db: Knex;
  /** One Temporal client per process, created (and closed) by the caller. */
  temporal: Client;
  logger?: Logger;
  /** Root structured logger (pino): request logs, and the app's logs unless `logger` is given. Default: stdout at METERLINE_LOG_LEVEL. */
  log?: pino.Logger;
  ingest?: IngestOptions;
  auth?: AuthOptions;
  /** Task queue for subscription workflows (default SUBSCRIPTION_TASK_QUEUE; tests isolate with their own). */
  subscriptionTaskQueue?: string;
  /** Max JSON body size (default 1mb: a 100-event batch fits easily). */
  bodyLimit?: string;
  /** VAT number checks (VIES behind its port) for customers' tax_identification_number; none when unset. */
  vatNumbers?: VatNumberChecker;
  /** Payment provider adapter per organization connection (default: the Stripe SDK; tests: the Stripe fake). */
  paymentProviderFor?: ProviderFactory;
  /** API logs (ops13g): batching, memory bounds and retention (api/operations/api-log.ts). */
  apiLogs?: ApiLogOptions;
}

/** Process-level ingest machinery of an app (exposed for shutdown and tests). */
export interface ApiRuntime {
  writer: EventWriter;
  signaller: UsageSignaller;
  cache: IngestCache;
  /** The API key authenticator (its known-key cache and change feed; issue 7, ingest7c). */
  auth: ApiKeyAuthenticator;
  /** Flush the writer and the signaller (graceful shutdown). */
  drain(): Promise<void>;
  /** API logs' asynchronous writer (ops13g). */
  apiLogs: ApiLogWriter;
}

const RUNTIME = Symbol.for('meterline.api.runtime');

export function runtimeOf(app: express.Express): ApiRuntime {
  const rt = (app as unknown as Record<symbol, ApiRuntime>)[RUNTIME];
  if (!rt) throw new Error('not a Meterline app');
  return rt;
}

export function createApp(deps: ApiDeps): express.Express {
  const log = deps.log ?? createRootLogger({ name: 'meterline-api' });
  const logger = deps.logger ?? appLogger(log);
  const cache = new IngestCache(deps.db, deps.ingest?.cache);
  // Group commit: each group is ONE transaction inserting the events and their hourly rollups.
  const rollupSpecs = new RollupSpecCache(deps.db);
  const lateEvents = new LateEventNotifier(deps.db, deps.temporal, { ...deps.ingest?.lateEvents, logger });
  const signaller = new UsageSignaller(deps.temporal, { ...deps.ingest?.signaller, logger, observer: lateEvents });
  const metrics = new ApiMetrics({
    pendingUsageSignals: () => signaller.pendingSubscriptions(),
    invoicesByStatus: () => countInvoicesByStatus(deps.db),
    paymentsByStatus: () => countPaymentsByStatus(deps.db),
    webhooksByStatus: () => countWebhooksByStatus(deps.db),
  });
  // Plans as current usage prices them; dropped with the rest of the organization's catalog caches.
  const plans = new PlanCache();
  const writer = new EventWriter(deps.db, {
    ...deps.ingest?.writer,
    logger,
    insert: metrics.instrumentGroupCommit(async (rows) => insertEventsWithRollups(deps.db, rows, await rollupSpecs.lookupFor(rows))),
  });
  signaller.start();
  const apiLogs = new ApiLogWriter(deps.db, logger, deps.apiLogs); // ops13g (issue 13)
  const ctx: RouteContext = {
    db: deps.db,
    temporal: deps.temporal,
    logger,
    cache,
    writer,
    signaller,
    timeWindow: eventTimeWindow(deps.ingest?.timeWindow),
    taskQueue: deps.subscriptionTaskQueue ?? SUBSCRIPTION_TASK_QUEUE,
    ...(deps.vatNumbers ? { vatNumbers: deps.vatNumbers } : {}),
    paymentProviderFor: deps.paymentProviderFor ?? ((cfg) => new StripePaymentProvider(createStripeClient({ secretKey: cfg.secretKey }))),
    catalogChanged(organizationId) {
      cache.invalidateMetrics(organizationId);
      rollupSpecs.invalidate(organizationId);
      plans.invalidateOrganization(organizationId);
    },
    apiKeysChanged: (organizationId) => auth.apiKeysChanged(organizationId),
  };
  const auth = new ApiKeyAuthenticator(deps.db, { ...deps.auth, logger });

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.use(requestId);
  // The ingest posts' key lookup starts on arrival, overlapping the body's reading and checks (api/auth.ts).
  app.use(auth.prefetch(new Set(['/api/v1/events', '/api/v1/events/batch'])));
  app.use(httpRequestLogger(log)); // one JSON line per request, with its request id (api/operations/request-log.ts)
  app.use(metrics.httpMiddleware());
  // Before express.json: Stripe's signature is verified on the raw body (express.raw on that route only).
  app.use(stripeWebhookRoutes(ctx));
  app.use(
    express.json({
      limit: deps.bodyLimit ?? '1mb',
      type: ['application/json', 'application/*+json'],
      verify: (req, _res, buf) => {
        if (jsonDepthExceeds(buf)) throw jsonTooDeepError();
        (req as unknown as { rawBody: Buffer }).rawBody = buf;
      },
    }),
  );
  app.use(unsafeTextGuard); // NUL / lone surrogates in path, query, body (api/input-safety.ts)

  app.use(operationsRoutes({ db: deps.db, temporal: deps.temporal, metrics }));
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  // Customer portal page and its JSON API (api/portal/routes.ts): outside /api/v1, the signed link authenticates.
  app.use(portalRoutes({ db: deps.db, plans }));

  const v1 = express.Router();
  v1.use(auth.middleware());
  v1.use(idempotency(deps.db, { logger }));
  // The ingest posts first (issue 7): POST /events and /events/batch no longer walk every router mounted before
  // eventRoutes (no earlier router answers these two paths); the same router still serves GET /events/:id below.
  const events = eventRoutes(ctx);
  v1.post('/events', events);
  v1.post('/events/batch', events);
  // ops13g (issue 13): API logs of write requests, written asynchronously in batches; after the ingest posts above, so
  // they never reach it.
  v1.use(apiLogs.middleware());
  // ops13d (issue 13): analytics/usage + evaluate_expression (before billableMetricRoutes: evaluate_expression is no code), wallet alerts and traces, payment methods.
  v1.use(usageToolRoutes(ctx));
  v1.use(walletAlertRoutes(ctx));
  v1.use(paymentMethodRoutes(ctx, deps.paymentProviderFor ?? ((cfg) => new StripePaymentProvider(createStripeClient({ secretKey: cfg.secretKey })))));
  v1.use(billableMetricRoutes(ctx));
  v1.use(planRoutes(ctx));
  v1.use(customerRoutes(ctx));
  v1.use(taxRoutes(ctx));
  v1.use(paymentSettingsRoutes(ctx));
  v1.use(currentUsageRouter({ db: deps.db, plans }));
  v1.use(subscriptionRoutes(ctx));
  v1.use(alertRoutes(ctx));
  // Before eventRoutes: /events/errors and /events/import are not transaction ids.
  v1.use(feeEstimateRoutes(ctx)); // ops13b (issue 13): POST /events/estimate_fees, estimate_instant_fees, batch_estimate_instant_fees
  v1.use(eventErrorRoutes(ctx));
  v1.use(eventQuarantineRoutes(ctx));
  v1.use(eventsImportRoutes(ctx));
  v1.use(pastUsageRoutes(ctx));
  v1.use(events);
  v1.use(paymentRoutes(ctx, deps.paymentProviderFor ?? ((cfg) => new StripePaymentProvider(createStripeClient({ secretKey: cfg.secretKey })))));
  v1.use(invoiceActionRoutes(ctx));
  // Coupons, add-ons + one-off invoices (POST /invoices), credit notes (issue 12b).
  v1.use(couponRoutes(ctx));
  v1.use(addOnRoutes(ctx));
  v1.use(creditNoteRoutes(ctx, deps.paymentProviderFor ?? ((cfg) => new StripePaymentProvider(createStripeClient({ secretKey: cfg.secretKey })))));
  v1.use(invoicePreviewRoutes(ctx)); // before invoiceRoutes: /invoices/preview is not a lago_id
  v1.use(invoiceRoutes(ctx));
  v1.use(invoiceDocumentRoutes(ctx)); // POST /invoices/:id/download, GET /invoices/:id/file
  v1.use(creditNoteDocumentRoutes(ctx)); // POST /credit_notes/:id/download, GET /credit_notes/:id/file (issue 12)
  v1.use(fxRoutes(ctx)); // /fx_settings, /fx_rates
  v1.use(testClockRoutes(ctx)); // /test_clocks (sandbox, issue 11c)
  v1.use(organizationRoutes(ctx)); // GET / PUT /organizations
  v1.use(apiKeyRoutes(ctx));
  v1.use(webhookRoutes(ctx));
  v1.use(walletRoutes(ctx)); // /wallets, /wallet_transactions (issue 12)
  v1.use(portalUrlRoutes({ db: deps.db })); // GET /customers/:external_customer_id/portal_url
  v1.use(analyticsRoutes({ db: deps.db })); // GET /analytics/gross_revenue, invoiced_usage, mrr, overdue_balance
  // Lago's everyday API (issue 13): catalog/customer edits and deletions, lists, GET /events, /fees, projected_usage.
  v1.use(catalogEditRoutes(ctx));
  v1.use(planChargeRoutes(ctx)); // issue 13: /plans/:code/charges[/:charge_code[/filters[/:filter_id]]]
  v1.use(everydayReadRoutes(ctx, { plans }));
  v1.use(feeUpdateRoutes(ctx)); // issue 13: PUT /fees/:lago_id (payment_status of fees on no invoice)
  v1.use(customerMoneyRoutes(ctx, deps.paymentProviderFor ?? ((cfg) => new StripePaymentProvider(createStripeClient({ secretKey: cfg.secretKey }))))); // issue 13 (ops13a): /customers/:id/{invoices,credit_notes,applied_coupons,payments,payment_requests,wallets}, /payments, /payment_receipts, /payment_requests, DELETE /fees/:id
  // ops13b (issue 13): alert edits by code (after alertRoutes: /alerts/triggered is not a code), metadata endpoints.
  v1.use(alertEditRoutes(ctx));
  v1.use(objectMetadataRoutes(ctx));
  v1.use(creditNoteUpdateRoutes(ctx)); // PUT /credit_notes/:lago_id (refund_status)
  v1.use(invoiceCollectionRoutes({ db: deps.db })); // GET /analytics/invoice_collection
  // ops13c (issue 13): /subscriptions/:external_id/charges[/:charge_code[/filters[/:filter_id]]], /subscriptions/:external_id/lifetime_usage
  v1.use(subscriptionChargeRoutes(ctx));
  v1.use(lifetimeUsageRoutes(ctx));
  v1.use(fixedChargeRoutes(ctx)); // fixed13 (issues 11 + 13): /plans/:code/fixed_charges[/:code], /subscriptions/:external_id/fixed_charges[/:code]
  // ops13f (issue 13): /features[/:code[/privileges/:privilege_code]], /plans/:code/entitlements…, /subscriptions/:external_id/entitlements…
  v1.use(featureRoutes(ctx));
  v1.use(entitlementRoutes(ctx));
  v1.use(billingEntityRoutes(ctx)); // ops13g (issue 13): /billing_entities[/:code]
  v1.use(auditLogRoutes(ctx)); // ops13g (issue 13): /api_logs[/:request_id], /activity_logs[/:activity_id]
  app.use('/api/v1', v1);

  app.use(notFoundRoute);
  app.use(errorMiddleware(logger));

  const runtime: ApiRuntime = {
    writer,
    signaller,
    cache,
    auth,
    async drain() {
      await writer.flush();
      await signaller.flush();
      await apiLogs.flush(); // ops13g
    },
    apiLogs,
  };
  (app as unknown as Record<symbol, ApiRuntime>)[RUNTIME] = runtime;
  return app;
}

export interface RunningApi {
  app: express.Express;
  server: http.Server;
  port: number;
  url: string;
  /** Stop accepting connections, finish in-flight requests, flush events and usage signals. */
  close(): Promise<void>;
}

export async function startApi(deps: ApiDeps, port = 0, host = '127.0.0.1'): Promise<RunningApi> {
  const app = createApp(deps);
  const server = await new Promise<http.Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const actual = (server.address() as AddressInfo).port;
  const runtime = runtimeOf(app);
  // One LISTEN connection per process: known API keys are cached while it listens (api/auth.ts, issue 7).
  if (deps.auth?.keyChangeFeed !== false) runtime.auth.listenForChanges(deps.db, deps.auth?.keyChangeFeed);
  return {
    app,
    server,
    port: actual,
    url: `http://${host}:${actual}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await runtime.writer.close();
      await runtime.signaller.stop();
      await runtime.auth.stop();
      await runtime.apiLogs.close(); // ops13g
    },
  };
}
