// POST /events and /events/batch. Validate every event (all-or-nothing per request), hand the rows to the
// group-commit writer, answer after COMMIT, then feed the new (non-duplicate) events to the usage signaller.
// A rejected request still answers 422, but every event rejected for its content is first recorded in
// event_errors (see routes/event-errors.ts): nothing a client sent is dropped silently.
// GET /events/:transaction_id (Lago's path): the stored event, or 404 event_not_found whose error_details
// lists what was recorded against that transaction id ({field: [codes]}, like the original 422).
import { Router } from 'express';
import type { InsertedEvent } from '../../db/repositories/events';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { findStoredEvent, listEventErrorsByTransaction, type StoredEvent } from '../../db/repositories/event-errors';
import { ApiError, addDetail, notFound, validationError } from '../errors';
import { eventTimeWindow, hourBucket } from '../ingest/timestamp';
import { validateEvents, type ValidEvent } from '../ingest/validate-event';
import { iso, parseBody } from '../schemas/common';
import { EventBatchBody, EventCreateBody, MAX_BATCH_EVENTS } from '../schemas/events';
import { recordRejectedEvents } from './event-errors';
import { eventsReceiveTime } from '../services/test-clock-time';

function serializeEvent(e: ValidEvent, inserted: InsertedEvent | undefined) {
  return {
    lago_id: inserted ? inserted.id : null,
    transaction_id: e.row.transactionId,
    lago_customer_id: null,
    code: e.row.code,
    timestamp: e.row.timestamp,
    precise_total_amount_cents: e.row.preciseTotalAmount,
    properties: e.row.properties,
    lago_subscription_id: e.row.subscriptionId,
    external_subscription_id: e.row.externalSubscriptionId,
    created_at: inserted ? iso(inserted.createdAt) : null,
    /** Meterline extension: true when this transaction_id was already recorded (nothing was written). */
    duplicate: !inserted,
  };
}

function serializeStoredEvent(e: StoredEvent) {
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

/**
 * The hour bucket of an event, clamped to the subscription start when the subscription began inside that
 * hour: the workflow counts a bucket only if its start lies in the open period, and the first period starts
 * at subscription_at (not on an hour boundary).
 */
export function usageBucket(timestamp: string, subscriptionAt: string): string {
  const bucket = hourBucket(timestamp);
  return bucket < subscriptionAt && timestamp >= subscriptionAt ? subscriptionAt : bucket;
}

export function eventRoutes(ctx: RouteContext): Router {
  const r = Router();
  const timeWindow = ctx.timeWindow ?? eventTimeWindow();

  async function ingest(organizationId: string, requestId: string | null, rawEvents: unknown[]) {
    // The receive time: real, or the test clock's of the request's subscriptions (api/services/test-clock-time.ts).
    const { valid, errors } = await validateEvents(ctx.cache, organizationId, rawEvents, eventsReceiveTime(ctx, organizationId), timeWindow);
    if (errors.size > 0) {
      // Durably recorded before the 422 is answered (a failure here is a 500: the client retries).
      await recordRejectedEvents(ctx.db, organizationId, requestId, rawEvents, errors);
      return { errors, valid, inserted: [] as (InsertedEvent | undefined)[] };
    }
    const rows = await ctx.writer.write(valid.map((v) => v.row));
    const byTx = new Map(rows.map((e) => [e.transactionId, e]));
    // The first occurrence of an inserted transaction id owns the row; later ones are duplicates.
    const inserted = valid.map((v) => {
      const row = byTx.get(v.row.transactionId);
      byTx.delete(v.row.transactionId);
      return row;
    });
    // Signals only for rows this request inserted (committed, not duplicates).
    valid.forEach((v, i) => {
      if (!inserted[i]) return;
      ctx.signaller.add(v.subscription.id, {
        metricCode: v.metric.code,
        bucketStart: usageBucket(v.row.timestamp, v.subscription.subscriptionAt),
        eventsCount: 1,
        units: v.units,
      });
    });
    return { errors, valid, inserted };
  }

  r.post('/events', async (req, res) => {
    const organizationId = orgId(res);
    const { event } = parseBody(EventCreateBody, req.body);
    const { errors, valid, inserted } = await ingest(organizationId, res.locals.requestId ?? null, [event]);
    if (errors.size > 0) throw validationError(errors.get(0)!);
    res.status(200).json({ event: serializeEvent(valid[0], inserted[0]) });
  });

  r.post('/events/batch', async (req, res) => {
    const organizationId = orgId(res);
    const { events } = parseBody(EventBatchBody, req.body);
    if (events.length === 0) throw validationError({ events: ['value_is_mandatory'] });
    if (events.length > MAX_BATCH_EVENTS) throw validationError({ events: ['too_many_events'] });
    const { errors, valid, inserted } = await ingest(organizationId, res.locals.requestId ?? null, events);
    if (errors.size > 0) {
      // Lago's batch shape: error_details keyed by the event's index.
      throw validationError(Object.fromEntries([...errors].map(([i, e]) => [String(i), e])));
    }
    res.status(200).json({ events: valid.map((v, i) => serializeEvent(v, inserted[i])) });
  });

  // Mounted after routes/event-errors.ts, so GET /events/errors never reaches this handler.
  r.get('/events/:transaction_id', async (req, res) => {
    const organizationId = orgId(res);
    const transactionId = req.params.transaction_id;
    const stored = await findStoredEvent(ctx.db, organizationId, transactionId);
    if (stored) {
      res.status(200).json({ event: serializeStoredEvent(stored) });
      return;
    }
    const recorded = await listEventErrorsByTransaction(ctx.db, organizationId, transactionId);
    if (recorded.length === 0) throw notFound('event');
    const details: Record<string, string[]> = {};
    for (const e of recorded) addDetail(details, e.field, e.errorCode);
    throw new ApiError(404, 'event_not_found', 'Event not found', details);
  });

  return r;
}
