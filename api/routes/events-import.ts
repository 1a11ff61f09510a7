// POST /events/import (Meterline extension): usage that a previous billing system already billed, imported so
// that usage history (GET /customers/:id/past_usage) is complete after a migration.
//
// Body: { source: "legacy-billing", import_batch?: "2025-q4.csv", events: [ ≤ 1,000 events ] }, each event in the
// /events shape with external_subscription_id and timestamp REQUIRED. Timestamps may be of any age (the live
// 90-day window does not apply) but never after the receive time, nor before the subscription's start (the
// history is shown per billing period of the subscription; earlier usage would have no period to appear in).
// Validation is all-or-nothing per request, errors per index (as /events/batch): 422 and nothing written.
//
// Stored in imported_usage, NEVER in events: no invoice, rollup, current usage or threshold reads that table,
// so imported usage cannot be billed by Meterline (see db/repositories/imported-usage.ts).
// A transaction id imported before, repeated in the request, or already held as a live event is a duplicate:
// answered with duplicate: true (and duplicate_of), written and counted once.
import { Router } from 'express';
import { existingEventTransactionIds, insertImportedUsage, type InsertedImport } from '../../db/repositories/imported-usage';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { validationError } from '../errors';
import { validateImportEvents, type FieldErrors } from '../ingest/validate-event';
import { iso, parseBody } from '../schemas/common';
import { EventImportBody, MAX_IMPORT_EVENTS } from '../schemas/events';

export function eventsImportRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/events/import', async (req, res) => {
    const organizationId = orgId(res);
    const body = parseBody(EventImportBody, req.body);
    if (body.events.length === 0) throw validationError({ events: ['value_is_mandatory'] });
    if (body.events.length > MAX_IMPORT_EVENTS) throw validationError({ events: ['too_many_events'] });

    const { valid, errors } = await validateImportEvents(ctx.cache, organizationId, body.events);
    const validIndices = body.events.map((_, i) => i).filter((i) => !errors.has(i));
    valid.forEach((v, k) => {
      if (v.row.timestamp < v.subscription.subscriptionAt) {
        const e: FieldErrors = { timestamp: ['before_subscription_start'] };
        errors.set(validIndices[k]!, e);
      }
    });
    if (errors.size > 0) {
      const sorted = [...errors].sort(([a], [b]) => a - b);
      throw validationError(Object.fromEntries(sorted.map(([i, e]) => [String(i), e])));
    }

    const source = body.source;
    const importBatch = body.import_batch ?? null;
    const liveIds = await existingEventTransactionIds(ctx.db, organizationId, valid.map((v) => v.row.transactionId));
    const inserted = await insertImportedUsage(
      ctx.db,
      valid.map((v) => ({
        organizationId,
        transactionId: v.row.transactionId,
        subscriptionId: v.subscription.id,
        externalSubscriptionId: v.row.externalSubscriptionId,
        code: v.row.code,
        timestamp: v.row.timestamp,
        properties: v.row.properties,
        value: v.value,
        source,
        importBatch,
      })),
    );
    // The first occurrence of an inserted transaction id owns the row; later ones are duplicates.
    const byTx = new Map<string, InsertedImport>(inserted.map((row) => [row.transactionId, row]));
    const rows = valid.map((v) => {
      const row = byTx.get(v.row.transactionId);
      byTx.delete(v.row.transactionId);
      return {
        lago_id: row ? row.id : null,
        transaction_id: v.row.transactionId,
        external_subscription_id: v.row.externalSubscriptionId,
        lago_subscription_id: v.subscription.id,
        code: v.row.code,
        timestamp: v.row.timestamp,
        properties: v.row.properties,
        value: v.value,
        source,
        import_batch: importBatch,
        already_billed: true,
        imported_at: row ? iso(row.importedAt) : null,
        duplicate: !row,
        /** What the duplicate duplicates: a live event, or imported usage (an earlier import or this request). */
        duplicate_of: row ? null : liveIds.has(v.row.transactionId) ? 'event' : 'imported_usage',
      };
    });
    res.status(200).json({
      imported_usage: rows,
      import: {
        source,
        import_batch: importBatch,
        received_count: rows.length,
        imported_count: inserted.length,
        duplicates_count: rows.length - inserted.length,
      },
    });
  });

  return r;
}
