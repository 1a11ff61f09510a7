// GET / PUT /subscriptions/:external_id/lifetime_usage (Lago 1.51's LifetimeUsage; issue 13).
//
// - external_historical_usage_amount_cents: what the client reports was billed before Meterline (a migration);
//   stored per subscription (db/repositories/lifetime-usage.ts), set by PUT (≥ 0; the same value again writes the
//   same row). Reported, and part of the lifetime total; NOT counted by progressive billing: Lago adds it to the
//   lifetime usage its thresholds measure, Meterline's thresholds measure the open period's usage (see
//   activities/thresholds.ts), where an amount with no period has no place.
// - invoiced_usage_amount_cents: Σ the usage fees of the subscription's unvoided invoices (drafts included, Lago's
//   rule) for periods before the open one, progressive-billing invoices excepted (the final invoice bills the
//   whole period and deducts them), in the plan's currency.
// - current_usage_amount_cents: the open period's usage, exactly GET current_usage's amount_cents (the same function;
//   test clocks included); 0 when the subscription is not active.
// - from_datetime: when the subscription started (null while pending); to_datetime: the open period's end (else the
//   termination, else now).
// - usage_thresholds: the plan's (an override's child plan included), each with completion_ratio and reached_at
//   (billing/lifetime-usage.ts), measured as progressive billing measures them.
// lago_id: a name-based UUID of the subscription (stable; the row exists only once a historical amount is set).
import crypto from 'node:crypto';
import { Router } from 'express';
import { thresholdCompletions } from '../../billing/lifetime-usage';
import { historicalUsageAmountCents, invoicedUsageAmountCents, progressiveLevelsReached, setHistoricalUsageAmountCents } from '../../db/repositories/lifetime-usage';
import { getPlanById } from '../../db/repositories/plans';
import { getSubscriptionByExternalId, type SubscriptionRecord } from '../../db/repositories/subscriptions';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { parseBody } from '../schemas/common';
import { LifetimeUsageBody } from '../schemas/lifetime-usage';
import { decimalAsJsonNumber } from '../serializers/json-number';
import { computeCurrentUsage } from '../services/current-usage';

function lifetimeUsageId(subscriptionId: string): string {
  const h = crypto.createHash('sha1').update(`meterline:lifetime_usage:${subscriptionId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

async function lifetimeUsage(ctx: RouteContext, organizationId: string, s: SubscriptionRecord) {
  const plan = (await getPlanById(ctx.db, organizationId, s.planId))!;
  const current =
    s.status === 'active'
      ? (await computeCurrentUsage(ctx.db, organizationId, { externalCustomerId: s.externalCustomerId, externalSubscriptionId: s.externalId })).customer_usage
      : null;
  const [historical, invoiced, reached] = await Promise.all([
    historicalUsageAmountCents(ctx.db, organizationId, s.id),
    invoicedUsageAmountCents(ctx.db, organizationId, s.id, plan.amountCurrency, current?.from_datetime ?? null),
    current ? progressiveLevelsReached(ctx.db, organizationId, s.id, current.from_datetime) : Promise.resolve([]),
  ]);
  const currentCents = current?.amount_cents ?? 0;
  const thresholds = thresholdCompletions(
    plan.usageThresholds.map((t) => ({ amountCents: t.amount_cents, recurring: t.recurring })),
    currentCents,
    reached.map((r) => ({ levelCents: r.levelCents, at: r.at.toISOString() })),
  );
  return {
    lago_id: lifetimeUsageId(s.id),
    lago_subscription_id: s.id,
    external_subscription_id: s.externalId,
    external_historical_usage_amount_cents: historical,
    invoiced_usage_amount_cents: invoiced,
    current_usage_amount_cents: currentCents,
    from_datetime: s.startedAt ? s.startedAt.toISOString() : null,
    to_datetime: current?.to_datetime ?? (s.terminatedAt ? s.terminatedAt.toISOString() : new Date().toISOString()),
    usage_thresholds: thresholds.map((t) => ({ amount_cents: t.amountCents, completion_ratio: decimalAsJsonNumber(t.completionRatio), reached_at: t.reachedAt })),
  };
}

export function lifetimeUsageRoutes(ctx: RouteContext): Router {
  const r = Router();
  const subscription = async (organizationId: string, externalId: string) => {
    const s = await getSubscriptionByExternalId(ctx.db, organizationId, externalId);
    if (!s) throw notFound('subscription');
    return s;
  };

  r.get('/subscriptions/:external_id/lifetime_usage', async (req, res) => {
    const organizationId = orgId(res);
    res.json({ lifetime_usage: await lifetimeUsage(ctx, organizationId, await subscription(organizationId, req.params.external_id)) });
  });

  r.put('/subscriptions/:external_id/lifetime_usage', async (req, res) => {
    const organizationId = orgId(res);
    const s = await subscription(organizationId, req.params.external_id);
    const amount = parseBody(LifetimeUsageBody, req.body).lifetime_usage.external_historical_usage_amount_cents;
    await setHistoricalUsageAmountCents(ctx.db, organizationId, s.id, amount);
    res.json({ lifetime_usage: await lifetimeUsage(ctx, organizationId, s) });
  });

  return r;
}
