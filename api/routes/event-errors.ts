// Rejected events: what is recorded, and GET /events/errors (Meterline extension) to list it.
//
// RECORDED (table event_errors, one row per event × error code × field, in the rejecting request, before the
// 422 is answered): every error about an event's CONTENT found by api/ingest/validate-event.ts —
//   external_subscription_id: subscription_not_found · code: billable_metric_not_found ·
//   timestamp: invalid_format / too_far_in_future / too_old · properties.<field>: invalid_value ·
//   precise_total_amount_cents: invalid_value · properties: invalid_type ·
//   <field>: value_is_mandatory / invalid_type / value_is_too_long · event: invalid_type (not an object).
// In a batch only the events that failed are recorded (the valid ones were not stored either: the batch is
// all-or-nothing, and the client learns it from the 422).
// NOT RECORDED: failures of the request rather than of an event — authentication, malformed JSON, a body
// without `event`/`events`, an empty batch or one over 100 events, Idempotency-Key conflicts — and imports
// (POST /events/import answers its own per-index 422 to an operator tool).
//
// Values are stored as received (timestamp as text, properties as any JSON). A retry of the same bad event
// (same transaction_id, or the same raw bytes when it has none) bumps `occurrences`, adding no row.
import { Router } from 'express';
import type { Knex } from 'knex';
import {
  listEventErrorsPage,
  recordEventErrors,
  type EventErrorRecord,
  type NewEventError,
} from '../../db/repositories/event-errors';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import type { FieldErrors } from '../ingest/validate-event';
import { sanitizeJson, sanitizeText } from '../input-safety';
import { iso, paginationMeta, parseBody } from '../schemas/common';
import { EventErrorsQuery } from '../schemas/events';

const MAX_ID_LENGTH = 255;

// Recorded values are sanitized (NUL and lone surrogates → U+FFFD): Postgres cannot store them as received.
function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? sanitizeText(v) : null;
}

/** The timestamp as the client sent it: a string as is, a JSON number as its text, anything else as JSON. */
function receivedTimestamp(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return sanitizeText(v);
  if (typeof v === 'number') return String(v);
  return JSON.stringify(sanitizeJson(v));
}

/** The event_errors rows of one rejected request: every (field, code) of every failed index. */
export function rejectedEventRows(
  organizationId: string,
  requestId: string | null,
  rawEvents: unknown[],
  errors: Map<number, FieldErrors>,
): NewEventError[] {
  const rows: NewEventError[] = [];
  for (const [index, fields] of errors) {
    const raw = rawEvents[index];
    const r = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    const tx = text(r.transaction_id);
    for (const [field, codes] of Object.entries(fields)) {
      for (const errorCode of codes) {
        rows.push({
          organizationId,
          transactionId: tx !== null && tx.length <= MAX_ID_LENGTH ? tx : null,
          externalSubscriptionId: text(r.external_subscription_id),
          code: text(r.code),
          timestamp: receivedTimestamp(r.timestamp),
          properties: r.properties === undefined || r.properties === null ? null : sanitizeJson(r.properties),
          errorCode,
          field: sanitizeText(field),
          requestId,
          raw: sanitizeJson(raw),
        });
      }
    }
  }
  return rows;
}

export async function recordRejectedEvents(
  db: Knex,
  organizationId: string,
  requestId: string | null,
  rawEvents: unknown[],
  errors: Map<number, FieldErrors>,
): Promise<number> {
  return recordEventErrors(db, rejectedEventRows(organizationId, requestId, rawEvents, errors));
}

export function serializeEventError(e: EventErrorRecord) {
  return {
    lago_id: e.id,
    transaction_id: e.transactionId,
    external_subscription_id: e.externalSubscriptionId,
    code: e.code,
    /** As received (text), not normalized: it may be what was wrong. */
    timestamp: e.timestamp,
    properties: e.properties,
    error_code: e.errorCode,
    field: e.field,
    request_id: e.requestId,
    received_at: iso(e.receivedAt),
    last_received_at: iso(e.lastReceivedAt),
    /** How many times this same error was received for this event (client retries). */
    occurrences: e.occurrences,
    /** An event with this transaction_id has since been accepted and stored. */
    resolved: e.resolved,
  };
}

export function eventErrorRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.get('/events/errors', async (req, res) => {
    const organizationId = orgId(res);
    const q = parseBody(EventErrorsQuery, req.query);
    const { rows, totalCount } = await listEventErrorsPage(
      ctx.db,
      organizationId,
      { errorCode: q.error_code, externalSubscriptionId: q.external_subscription_id, transactionId: q.transaction_id },
      q.page,
      q.per_page,
    );
    res.status(200).json({ event_errors: rows.map(serializeEventError), meta: paginationMeta(q.page, q.per_page, totalCount) });
  });

  return r;
}
