// GET /events/quarantined (Meterline extension, operators): stored events billing could not use and moved aside
// so the period still closed (db/repositories/quarantine.ts). Each also has an `event_quarantined` event error.
import { Router } from 'express';
import { listQuarantinedEvents, type QuarantinedEventRecord } from '../../db/repositories/quarantine';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { iso, paginationMeta, paginationQuery, parseBody } from '../schemas/common';

function serialize(e: QuarantinedEventRecord) {
  return {
    lago_id: e.eventLagoId,
    transaction_id: e.transactionId,
    external_subscription_id: e.externalSubscriptionId,
    lago_subscription_id: e.subscriptionId,
    code: e.code,
    timestamp: iso(e.timestamp),
    properties: e.properties,
    precise_total_amount_cents: e.preciseTotalAmount,
    /** The value's field and which limit it breaks (billing/input-limits.ts). */
    field: e.field,
    reason_code: e.reasonCode,
    quarantined_at: iso(e.quarantinedAt),
  };
}

export function eventQuarantineRoutes(ctx: RouteContext): Router {
  const r = Router();
  r.get('/events/quarantined', async (req, res) => {
    const q = parseBody(paginationQuery, req.query);
    const { rows, totalCount } = await listQuarantinedEvents(ctx.db, orgId(res), q.page, q.per_page);
    res.json({ quarantined_events: rows.map(serialize), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });
  return r;
}
