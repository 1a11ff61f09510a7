// Lago's everyday reads (issue 13): GET /events (filters external_subscription_id, code, timestamp_from/to,
// timestamp_from_started_at), GET /fees (Lago's filters), GET /fees/:lago_id, and
// GET /customers/:external_customer_id/projected_usage (current usage extrapolated to the period end: the rule is
// billing/projection.ts).
//
// Fees are served as they appear on their invoice (api/serializers/invoice.ts, the same serializer as GET
// /invoices/:id), so a fee reads the same through both routes; an invoiced fee's payment_status is its invoice's.
// Fees on no invoice (pay-in-advance charges with `invoiceable: false`) are listed beside them, with their own
// payment_status (api/serializers/uninvoiced-fee.ts; PUT /fees/:lago_id sets it: api/routes/fee-updates.ts).
import type { Request, Response } from 'express';
import { Router } from 'express';
import { getBillableMetricByCode } from '../../db/repositories/billable-metrics';
import { getCustomerByExternalId, getCustomersByIds } from '../../db/repositories/customers';
import { invoiceIdOfFee, listEventsPage, listFeeRefsPage, subscriptionStartedAt, type FeeRef } from '../../db/repositories/everyday-reads';
import { getInvoice, type InvoiceRecord } from '../../db/repositories/invoices';
import { getUninvoicedFeesByIds } from '../../db/repositories/uninvoiced-fees';
import { metricIdsOfCharges } from '../../db/repositories/plans';
import { getSubscriptionByExternalId, getSubscriptionsByIds, listSubscriptions } from '../../db/repositories/subscriptions';
import { subscriptionNow } from '../services/subscription-now';
import { SubscriptionListQuery, subscriptionStatusFilter } from '../schemas/subscriptions';
import { serializeAll } from './subscriptions';
import { projectionMode, projectionRatio, projectUsage } from '../../billing/projection';
import { defaultTimezoneOf, orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { iso, paginationMeta, parseBody, parseIsoInstant } from '../schemas/common';
import { EventListQuery, FeeListQuery, ProjectedUsageQuery } from '../schemas/everyday';
import { lagoFeesByRef } from '../serializers/fees-by-ref';
import { computeCurrentUsage, type PlanCache } from '../services/current-usage';
import { knownBillingEntityCodes } from './billing-entities';

/** The fees, each serialized as on its invoice (or as a fee on no invoice), in the order of `refs`. */
export async function serializeFees(ctx: RouteContext, organizationId: string, res: Response, refs: FeeRef[]) {
  return lagoFeesByRef(ctx.db, organizationId, defaultTimezoneOf(res), refs);
}

function serializeStoredEvent(e: Awaited<ReturnType<typeof listEventsPage>>['events'][number]) {
  return {
    lago_id: e.id,
    transaction_id: e.transactionId,
    lago_customer_id: e.customerId,
    code: e.code,
    timestamp: iso(e.timestamp),
    precise_total_amount_cents: e.preciseTotalAmount,
    properties: e.properties,
    lago_subscription_id: e.subscriptionId,
    external_subscription_id: e.externalSubscriptionId,
    created_at: iso(e.createdAt),
  };
}

export function everydayReadRoutes(ctx: RouteContext, deps: { plans?: PlanCache } = {}): Router {
  const r = Router();

  r.get('/events', async (req: Request, res: Response) => {
    const organizationId = orgId(res);
    const q = parseBody(EventListQuery, req.query);
    let from = q.timestamp_from !== undefined ? parseIsoInstant(q.timestamp_from)! : undefined;
    if (q.timestamp_from_started_at === 'true' && q.external_subscription_id !== undefined) {
      const started = await subscriptionStartedAt(ctx.db, organizationId, q.external_subscription_id);
      if (started && (from === undefined || started.toISOString() > from)) from = started.toISOString();
    }
    const { events, totalCount } = await listEventsPage(ctx.db, organizationId, {
      externalSubscriptionId: q.external_subscription_id,
      code: q.code,
      timestampFrom: from,
      timestampTo: q.timestamp_to !== undefined ? parseIsoInstant(q.timestamp_to)! : undefined,
      page: q.page,
      perPage: q.per_page,
    });
    res.json({ events: events.map(serializeStoredEvent), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/fees', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(FeeListQuery, req.query);
    // Event transaction ids name pay-in-advance fees (one per event): uninvoiced ones and the fee of an event's invoice.
    const { fees, totalCount } = await listFeeRefsPage(ctx.db, organizationId, {
      externalCustomerId: q.external_customer_id,
      externalSubscriptionId: q.external_subscription_id,
      currency: q.currency,
      feeType: q.fee_type,
      billableMetricCode: q.billable_metric_code,
      paymentStatus: q.payment_status,
      eventTransactionId: q.event_transaction_id,
      createdAtFrom: q.created_at_from !== undefined ? parseIsoInstant(q.created_at_from)! : undefined,
      createdAtTo: q.created_at_to !== undefined ? parseIsoInstant(q.created_at_to)! : undefined,
      page: q.page,
      perPage: q.per_page,
    });
    res.json({ fees: await serializeFees(ctx, organizationId, res, fees), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  r.get('/fees/:lago_id', async (req, res) => {
    const organizationId = orgId(res);
    const invoiceId = await invoiceIdOfFee(ctx.db, organizationId, req.params.lago_id);
    const [fee] = await serializeFees(ctx, organizationId, res, [{ feeId: req.params.lago_id, invoiceId }]);
    if (!fee) throw notFound('fee');
    res.json({ fee });
  });

  // Lago's findAllCustomerSubscriptions: the customer's subscriptions (every status unless status[] narrows them).
  r.get('/customers/:external_customer_id/subscriptions', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(SubscriptionListQuery, req.query);
    const customer = await getCustomerByExternalId(ctx.db, organizationId, req.params.external_customer_id);
    if (!customer) throw notFound('customer');
    const statuses = subscriptionStatusFilter(req.query, ['active', 'pending', 'terminated']);
    const { subscriptions, totalCount } = await listSubscriptions(ctx.db, organizationId, {
      billingEntityCodes: await knownBillingEntityCodes(ctx.db, organizationId, q),
      externalCustomerId: customer.externalId,
      planCode: q.plan_code,
      statuses,
      page: q.page,
      perPage: q.per_page,
    });
    res.json({
      subscriptions: await serializeAll(ctx, organizationId, subscriptions.filter((x) => x.customerId === customer.id), defaultTimezoneOf(res)),
      meta: paginationMeta(q.page, q.per_page, totalCount),
    });
  });

  r.get('/customers/:external_customer_id/projected_usage', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(ProjectedUsageQuery, req.query);
    // On a test clock the projection counts from the clock's time (api/services/subscription-now.ts).
    const subscription = await getSubscriptionByExternalId(ctx.db, organizationId, q.external_subscription_id);
    const now = (subscription ? await subscriptionNow(ctx.db, subscription, new Date()) : new Date()).toISOString();
    const { customer_usage: usage } = await computeCurrentUsage(
      ctx.db,
      organizationId,
      { externalCustomerId: req.params.external_customer_id, externalSubscriptionId: q.external_subscription_id },
      { now, ...(deps.plans ? { plans: deps.plans } : {}) },
    );
    const ratio = projectionRatio(usage.from_datetime, usage.to_datetime, now);
    const charges = [];
    let projectedTotal = 0;
    for (const c of usage.charges_usage) {
      const metric = await getBillableMetricByCode(ctx.db, organizationId, c.billable_metric.code);
      const mode = projectionMode(metric?.aggregationType ?? 'max_agg', metric?.recurring ?? true);
      const p = projectUsage(c.units, c.amount_cents, mode, ratio);
      projectedTotal += p.projectedAmountCents;
      const project = (u: { units: string; amount_cents: number }) => {
        const x = projectUsage(u.units, u.amount_cents, mode, ratio);
        return { projected_units: x.projectedUnits, projected_amount_cents: x.projectedAmountCents };
      };
      charges.push({
        units: c.units,
        projected_units: p.projectedUnits,
        events_count: c.events_count,
        amount_cents: c.amount_cents,
        projected_amount_cents: p.projectedAmountCents,
        amount_currency: c.amount_currency,
        groups: [],
        // Lago's schema: a string; a charge without one is shown under its billable metric's name (Lago's documented default).
        charge: { ...c.charge, invoice_display_name: c.charge.invoice_display_name ?? c.billable_metric.name },
        billable_metric: c.billable_metric,
        filters: c.filters.map((f) => ({ ...f, ...project(f) })),
        grouped_usage: c.grouped_usage.map((g) => ({ ...g, ...project(g), filters: g.filters.map((f) => ({ ...f, ...project(f) })) })),
      });
    }
    res.json({
      customer_projected_usage: {
        from_datetime: usage.from_datetime,
        to_datetime: usage.to_datetime,
        issuing_date: usage.issuing_date,
        lago_invoice_id: usage.lago_invoice_id,
        currency: usage.currency,
        amount_cents: usage.amount_cents,
        projected_amount_cents: projectedTotal,
        taxes_amount_cents: usage.taxes_amount_cents,
        total_amount_cents: usage.total_amount_cents,
        charges_usage: charges,
      },
    });
  });

  return r;
}
