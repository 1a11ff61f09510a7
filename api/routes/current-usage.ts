// GET /customers/:external_customer_id/current_usage?external_subscription_id=… (Lago's path and shape).
// 404 customer_not_found / subscription_not_found (the customer's active subscriptions only); the usage is
// computed by api/services/current-usage.ts (rollups + billing/, never a raw-event scan for count/sum/max).
// Optional Lago filters: charge_id (or deprecated filter_by_charge_id), billable_metric_code.
import express from 'express';
import type { Knex } from 'knex';
import { getSubscriptionByExternalId } from '../../db/repositories/subscriptions';
import { isPoisonFailure, quarantineUnusableEvents } from '../../db/repositories/quarantine';
import { orgId } from '../auth';
import { parseBody } from '../schemas/common';
import { CurrentUsageQuery } from '../schemas/current-usage';
import { computeCurrentUsage, PlanCache } from '../services/current-usage';
import { ClosedHoursCache } from '../../usage/closed-hours-cache';

/** `now` (tests only; default the wall clock) picks the instant whose billing period is current. */
/** `plans`: the process's plan cache (api/server.ts passes the one `catalogChanged` invalidates). */
/** `closedHours`: the process's cache of closed hours' rollup totals (usage/closed-hours-cache.ts; exact under
 * late events and across processes); `null` reads every hour's rollups per request. */
export function currentUsageRouter(deps: { db: Knex; now?: () => string; plans?: PlanCache; closedHours?: ClosedHoursCache | null }): express.Router {
  const r = express.Router();
  const plans = deps.plans ?? new PlanCache();
  const closedHours = deps.closedHours === undefined ? new ClosedHoursCache(deps.db) : deps.closedHours;
  r.get('/customers/:external_customer_id/current_usage', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(CurrentUsageQuery, req.query);
    const compute = () => computeCurrentUsage(deps.db, organizationId, {
      externalCustomerId: req.params.external_customer_id,
      externalSubscriptionId: q.external_subscription_id,
      chargeId: q.charge_id ?? q.filter_by_charge_id,
      billableMetricCode: q.billable_metric_code,
    }, { now: deps.now ? deps.now() : new Date().toISOString(), plans, ...(closedHours ? { readUsage: closedHours.usageSource } : {}) });
    let body: Awaited<ReturnType<typeof compute>>;
    try {
      body = await compute();
    } catch (err) {
      // Poison-row hook (db/repositories/quarantine.ts): quarantine what billing cannot use, then answer again.
      const sub = isPoisonFailure(err) ? await getSubscriptionByExternalId(deps.db, organizationId, q.external_subscription_id) : null;
      if (!sub || (await quarantineUnusableEvents(deps.db, organizationId, sub.id)).length === 0) throw err;
      body = await compute();
    }
    res.json(body);
  });
  return r;
}
