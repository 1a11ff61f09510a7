// The worker's activities: every group bound to its dependencies, merged into the SubscriptionActivities type.
import type { Knex } from 'knex';
import type { FxRateFeed } from '../adapters/fx/port';
import { EcbHttpFeed } from '../adapters/fx/ecb-http';
import { createFxActivities, type FxActivities } from './fx';
import { defaultDocumentStore, type DocumentStore } from '../documents/storage';
import { createDocumentActivities, type DocumentActivities } from './documents';
import { withHeartbeats } from './heartbeat';
import { createInvoiceActivities } from './invoices';
import { createAdvanceActivities } from './advance-billing';
import { createPlanChangeActivities } from './plan-changes';
import type { PlanChangeActivities } from './plan-change-types';
import { createSubscriptionActivities } from './subscriptions';
import { createThresholdActivities } from './thresholds';
import type { SubscriptionActivities } from './types';
import { createWebhookActivities, type WebhookActivityDeps, type WebhookActivities } from './webhooks';
import { createWalletActivities, type WalletActivities } from './wallets';
import { createCreditActivities, type CreditActivities } from './credits';
import { createUnusedFeeCreditActivities } from './unused-fee-credit';
import type { UnusedFeeCreditActivities } from './unused-fee-credit-types';
import { createTerminationOptionsActivities, type TerminationOptionsActivities } from './termination-options';
import { createRegroupPaidFeesActivities, type RegroupPaidFeesActivities } from './regroup-paid-fees';
import { createPeriodCloseActivities, type PeriodCloseActivities } from './period-close';
import type { TaxProviderFactory } from './taxes';
import { createFixedChargeUnitsActivities } from './fixed-charge-units';
import type { FixedChargeUnitsActivities } from './fixed-charge-units-types';

export interface ActivityDeps {
  db: Knex;
  /** Where ECB rates come from (default: the ECB over HTTP). */
  fxFeed?: FxRateFeed;
  /** Where invoice PDFs are stored (default: the data folder). */
  documentStore?: DocumentStore;
  /** Outgoing webhook delivery options and the renderer of objects enqueued by id (invoices). */
  webhooks?: Omit<WebhookActivityDeps, 'db'>;
  /** failed13: the tax engine of an organization's connection (default: Lago's aggregator protocol over HTTP). */
  taxProviderFor?: TaxProviderFactory;
}

export function createActivities(deps: ActivityDeps): SubscriptionActivities & FxActivities & DocumentActivities & WebhookActivities & WalletActivities & PlanChangeActivities & CreditActivities & UnusedFeeCreditActivities & TerminationOptionsActivities & RegroupPaidFeesActivities & PeriodCloseActivities & FixedChargeUnitsActivities {
  const invoiceActivities = createInvoiceActivities(deps);
  return withHeartbeats({
    // Pay in advance (issue 11): the start invoice reuses the period-invoice activity.
    ...createAdvanceActivities({ db: deps.db, createPeriodInvoice: invoiceActivities.createPeriodInvoice }),
    ...createDocumentActivities({ db: deps.db, store: deps.documentStore ?? defaultDocumentStore() }),
    ...createFxActivities({ db: deps.db, feed: deps.fxFeed ?? new EcbHttpFeed() }),
    ...invoiceActivities,
    ...createSubscriptionActivities(deps),
    ...createPlanChangeActivities(deps),
    ...createThresholdActivities(deps),
    ...createWebhookActivities({ db: deps.db, ...deps.webhooks }),
    ...createWalletActivities(deps),
    // The unused advance fee's credit note on termination / upgrade (issue 11, workflows/unused-fee-credit.ts).
    ...createCreditActivities(deps),
    ...createUnusedFeeCreditActivities(deps),
    // Termination options stored on the subscription (issue 11, workflows/termination-options.ts).
    ...createTerminationOptionsActivities(deps),
    // regroup_paid_fees 'invoice' at the period close (issue 11, workflows/regroup-paid-fees.ts).
    ...createRegroupPaidFeesActivities(deps),
    // The period close + finalization in one transaction without a grace period (issue 14, activities/period-close.ts).
    ...createPeriodCloseActivities({ db: deps.db, createPeriodInvoice: invoiceActivities.createPeriodInvoice, taxProviderFor: deps.taxProviderFor }),
    // Units of advance fixed charges raised mid-period (units11, workflows/fixed-charge-units.ts).
    ...createFixedChargeUnitsActivities(deps),
  });
}

export type { SubscriptionActivities } from './types';
