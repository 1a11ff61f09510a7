// What every route needs, built once per process by createApp.
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Logger } from './errors';
import type { IngestCache } from './ingest/catalog-cache';
import type { EventWriter } from './ingest/event-writer';
import type { EventTimeWindow } from './ingest/timestamp';
import type { UsageSignaller } from './ingest/usage-signaller';
import type { VatNumberChecker } from '../adapters/vies/checker';
import type { PaymentProvider } from '../activities/payment-provider';
import type { ProviderConfig } from '../db/repositories/payments';

export interface RouteContext {
  db: Knex;
  temporal: Client;
  logger: Logger;
  cache: IngestCache;
  writer: EventWriter;
  signaller: UsageSignaller;
  /** Accepted event timestamps around the receive time (ApiDeps ingest.timeWindow; default 24 h ahead, any age). */
  timeWindow?: EventTimeWindow;
  /** Task queue subscription workflows are started on (SUBSCRIPTION_TASK_QUEUE unless overridden). */
  taskQueue: string;
  /** When set, a customer's VAT number is checked (format + VIES, cached) after the customer is written. */
  vatNumbers?: VatNumberChecker;
  /** The payment provider of an organization's connection (Stripe; tests: the fake). */
  paymentProviderFor?: (config: ProviderConfig) => PaymentProvider;
  /** Called after this process changed an organization's catalog (metrics, plans): drops derived caches. */
  catalogChanged(organizationId: string): void;
  /** Called after this process committed a change to an organization's API keys or settings (api/auth.ts cache). */
  apiKeysChanged?(organizationId: string): void;
}
