// What the billing activities need to know about a subscription (read side). The subscription's own repository
// (writes included: markSubscriptionTerminated) is db/repositories/subscriptions.ts; this file stays billing-only.
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import type { BillingTime, Interval } from '../../billing/types';

type Db = Knex | Knex.Transaction;

export interface SubscriptionBillingContext {
  organizationId: string;
  subscriptionId: string;
  externalSubscriptionId: string;
  status: string;
  planId: string;
  terminatedAt: string | null;
  customerId: string;
  externalCustomerId: string;
  /** The customer's IANA timezone, else the organization's default. */
  timezone: string;
  /** The customer's currency (null when not set yet). */
  customerCurrency: string | null;
  /** Days a new invoice stays a draft: the customer's override, else the organization's setting. */
  gracePeriodDays: number;
  /** The organization allows invoicing in the customer's currency when it differs from the plan's (FX). */
  fxInvoicingEnabled: boolean;
  /** The subscription's start instant (ISO UTC; trials are counted from it). */
  subscriptionAt: string;
}

interface ContextRow {
  organization_id: string;
  id: string;
  external_id: string;
  status: string;
  plan_id: string;
  terminated_at: Date | null;
  customer_id: string;
  external_customer_id: string;
  customer_timezone: string | null;
  org_timezone: string;
  customer_currency: string | null;
  customer_grace: number | null;
  org_grace: number;
  org_fx_invoicing_enabled?: boolean;
  subscription_at: Date;
}

/** Throws BillingError 'subscription_not_found' (a business failure: retrying will not make it appear). */
export async function loadSubscriptionBillingContext(
  db: Db,
  organizationId: string,
  subscriptionId: string,
): Promise<SubscriptionBillingContext> {
  const row: ContextRow | undefined = await db('subscriptions as s')
    .join('customers as c', 'c.id', 's.customer_id')
    .join('organizations as o', 'o.id', 's.organization_id')
    .join('billing_entity_settings as bes', function entity() {
      this.on('bes.organization_id', '=', 'c.organization_id').andOn('bes.code', '=', 'c.billing_entity_code');
    })
    .where({ 's.organization_id': organizationId, 's.id': subscriptionId })
    .first(
      's.organization_id', 's.id', 's.external_id', 's.status', 's.plan_id', 's.terminated_at', 's.customer_id', 's.subscription_at',
      'c.external_id as external_customer_id', 'c.timezone as customer_timezone', 'bes.timezone as org_timezone',
      'c.currency as customer_currency', 'c.invoice_grace_period as customer_grace', 'bes.invoice_grace_period as org_grace',
      'o.fx_invoicing_enabled as org_fx_invoicing_enabled',
    );
  if (!row) throw new BillingError('subscription_not_found', `Subscription ${subscriptionId} not found`, 'subscription_id');
  return contextOf(row);
}

function contextOf(row: ContextRow): SubscriptionBillingContext {
  return {
    organizationId: row.organization_id,
    subscriptionId: row.id,
    externalSubscriptionId: row.external_id,
    status: row.status,
    planId: row.plan_id,
    terminatedAt: row.terminated_at === null ? null : row.terminated_at.toISOString(),
    customerId: row.customer_id,
    externalCustomerId: row.external_customer_id,
    timezone: row.customer_timezone || row.org_timezone || 'UTC',
    customerCurrency: row.customer_currency === null ? null : row.customer_currency.trim(),
    gracePeriodDays: row.customer_grace ?? row.org_grace,
    fxInvoicingEnabled: row.org_fx_invoicing_enabled === true,
    subscriptionAt: row.subscription_at.toISOString(),
  };
}

/** An active subscription's billing context and the schedule of its billing periods (billing/period.ts). */
export interface ActiveSubscriptionBilling {
  context: SubscriptionBillingContext;
  subscriptionAt: string;
  interval: Interval;
  billingTime: BillingTime;
  /** The frozen time of the subscription's test clock (ISO UTC), or null in real time (issue 11: its "now"). */
  testClockTime: string | null;
}

interface ActiveRow extends Omit<ContextRow, 'id' | 'organization_id' | 'external_id' | 'status' | 'plan_id' | 'subscription_at'> {
  id: string | null;
  organization_id: string | null;
  external_id: string | null;
  status: string | null;
  plan_id: string | null;
  billing_time: BillingTime | null;
  subscription_at: Date | null;
  plan_interval: Interval | null;
  test_clock_time: Date | null;
}

/**
 * A customer's ACTIVE subscription by external ids (Lago's current_usage lookup). `customerFound: false` when
 * the organization has no such customer; `subscription: null` when the customer has no active subscription
 * with that external id.
 */
export async function findActiveSubscriptionBilling(
  db: Db,
  organizationId: string,
  externalCustomerId: string,
  externalSubscriptionId: string,
): Promise<{ customerFound: boolean; subscription: ActiveSubscriptionBilling | null }> {
  const row: ActiveRow | undefined = await db('customers as c')
    .join('billing_entity_settings as bes', function entity() {
      this.on('bes.organization_id', '=', 'c.organization_id').andOn('bes.code', '=', 'c.billing_entity_code');
    })
    .leftJoin('subscriptions as s', function on() {
      this.on('s.customer_id', '=', 'c.id')
        .andOn('s.organization_id', '=', 'c.organization_id')
        .andOn('s.external_id', '=', db.raw('?', [externalSubscriptionId]))
        .andOn('s.status', '=', db.raw('?', ['active']));
    })
    .leftJoin('plans as p', 'p.id', 's.plan_id')
    .leftJoin('test_clocks as tc', 'tc.id', 's.test_clock_id')
    .where({ 'c.organization_id': organizationId, 'c.external_id': externalCustomerId })
    .first(
      's.id', 's.organization_id', 's.external_id', 's.status', 's.plan_id', 's.billing_time', 's.subscription_at', 's.terminated_at',
      'c.id as customer_id', 'c.external_id as external_customer_id', 'c.timezone as customer_timezone', 'c.currency as customer_currency',
      'c.invoice_grace_period as customer_grace', 'bes.timezone as org_timezone', 'bes.invoice_grace_period as org_grace',
      'p.interval as plan_interval', 'tc.frozen_time as test_clock_time',
    );
  if (!row) return { customerFound: false, subscription: null };
  if (!row.id) return { customerFound: true, subscription: null };
  return {
    customerFound: true,
    subscription: {
      context: contextOf({
        ...row,
        id: row.id,
        organization_id: organizationId,
        external_id: row.external_id!,
        status: row.status!,
        plan_id: row.plan_id!,
        subscription_at: row.subscription_at!,
      }),
      subscriptionAt: row.subscription_at!.toISOString(),
      interval: row.plan_interval!,
      billingTime: row.billing_time!,
      testClockTime: row.test_clock_time ? row.test_clock_time.toISOString() : null,
    },
  };
}
