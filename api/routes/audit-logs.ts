// Lago's audit logs (ops13g, issue 13): GET /api_logs, GET /api_logs/:request_id (api/operations/api-log.ts writes
// them) and GET /activity_logs, GET /activity_logs/:activity_id (db/repositories/activity-logs.ts).
// request_body / request_response are JSON text (Lago 1.51's schema and the official client type them as strings).
import { Router } from 'express';
import { z } from 'zod';
import { getActivityLog, listActivityLogs, type ActivityLogRecord } from '../../db/repositories/activity-logs';
import { getApiLog, listApiLogs, type ApiLogRecord } from '../../db/repositories/api-logs';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound } from '../errors';
import { ActivityLogsQuery, ApiLogsQuery } from '../schemas/audit-logs';
import { iso, paginationMeta, parseBody } from '../schemas/common';

/** A query's filters, errors named by their field (parseBody drops a body's envelope: the query has none). */
function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  return (parseBody(z.object({ query: schema }), { query }) as { query: z.output<T> }).query;
}

export function serializeApiLog(l: ApiLogRecord) {
  return {
    request_id: l.requestId,
    api_version: l.apiVersion,
    client: l.client,
    http_method: l.httpMethod,
    http_status: l.httpStatus,
    request_origin: l.requestOrigin,
    request_path: l.requestPath,
    request_body: l.requestBody,
    ...(l.requestResponse !== null ? { request_response: l.requestResponse } : {}),
    api_key_id: l.apiKeyId,
    logged_at: iso(l.loggedAt),
    created_at: iso(l.createdAt),
  };
}

export function serializeActivityLog(l: ActivityLogRecord) {
  return {
    activity_id: l.id,
    user_email: l.userEmail,
    activity_type: l.activityType,
    activity_source: l.activitySource,
    activity_object: l.activityObject,
    activity_object_changes: l.activityObjectChanges,
    external_customer_id: l.externalCustomerId,
    external_subscription_id: l.externalSubscriptionId,
    resource_id: l.resourceId,
    resource_type: l.resourceType,
    organization_id: l.organizationId,
    api_key_id: l.apiKeyId,
    logged_at: iso(l.loggedAt),
    created_at: iso(l.createdAt),
  };
}

export function auditLogRoutes(ctx: RouteContext): Router {
  const r = Router();

  /** A paginated list: the query parsed (errors named by field), its page listed, answered under `key` with Lago's meta. */
  function listRoute<T extends z.ZodType<{ page: number; per_page: number }>, L>(
    path: string,
    key: string,
    schema: T,
    list: (organizationId: string, q: z.output<T>) => Promise<{ logs: L[]; totalCount: number }>,
    serialize: (l: L) => unknown,
  ) {
    r.get(path, async (req, res) => {
      const q = parseQuery(schema, req.query);
      const { logs, totalCount } = await list(orgId(res), q);
      res.json({ [key]: logs.map(serialize), meta: paginationMeta(q.page, q.per_page, totalCount) });
    });
  }

  const apiLogFilters = (q: z.output<typeof ApiLogsQuery>) => ({
    fromDate: q.from_date,
    toDate: q.to_date,
    httpMethods: q.http_methods,
    httpStatuses: q.http_statuses,
    apiVersion: q.api_version,
    requestPath: q.request_paths,
  });
  listRoute('/api_logs', 'api_logs', ApiLogsQuery, (o, q) => listApiLogs(ctx.db, o, apiLogFilters(q), q.page, q.per_page), serializeApiLog);

  r.get('/api_logs/:request_id', async (req, res) => {
    const l = await getApiLog(ctx.db, orgId(res), req.params.request_id);
    if (!l) throw notFound('api_log');
    res.json({ api_log: serializeApiLog(l) });
  });

  const activityLogFilters = (q: z.output<typeof ActivityLogsQuery>) => ({
    fromDate: q.from_date,
    toDate: q.to_date,
    activityTypes: q.activity_types,
    activitySources: q.activity_sources,
    userEmails: q.user_emails,
    externalCustomerId: q.external_customer_id,
    externalSubscriptionId: q.external_subscription_id,
    resourceIds: q.resource_ids,
    resourceTypes: q.resource_types,
  });
  listRoute('/activity_logs', 'activity_logs', ActivityLogsQuery, (o, q) => listActivityLogs(ctx.db, o, activityLogFilters(q), q.page, q.per_page), serializeActivityLog);

  r.get('/activity_logs/:activity_id', async (req, res) => {
    const l = await getActivityLog(ctx.db, orgId(res), req.params.activity_id);
    if (!l) throw notFound('activity_log');
    res.json({ activity_log: serializeActivityLog(l) });
  });

  return r;
}
