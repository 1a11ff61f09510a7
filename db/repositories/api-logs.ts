// API logs (migration 20261203000301_api_logs): batch inserts from the API's asynchronous writer, Lago's list
// filters, the retention delete. Every read is scoped by organization_id.
import type { Knex } from 'knex';

export interface ApiLogRow {
  organizationId: string;
  requestId: string;
  /** sha256 hex of the request's API key (resolved to the key's id at insert; never stored). */
  apiKeyHash: string | null;
  apiVersion: string;
  client: string;
  httpMethod: string;
  httpStatus: number;
  requestOrigin: string;
  requestPath: string;
  requestBody: string;
  requestResponse: string | null;
  loggedAt: Date;
}

export interface ApiLogRecord extends Omit<ApiLogRow, 'apiKeyHash'> {
  apiKeyId: string | null;
  createdAt: Date;
}

/** One multi-row insert; the keys' ids resolved by one query. A request id seen twice keeps its first row. */
export async function insertApiLogs(db: Knex, rows: ApiLogRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const hashes = [...new Set(rows.map((r) => r.apiKeyHash).filter((h): h is string => h !== null))];
  const keys: { id: string; key_hash: string }[] = hashes.length > 0 ? await db('api_keys').whereIn('key_hash', hashes).select('id', 'key_hash') : [];
  const idOf = new Map(keys.map((k) => [k.key_hash, k.id]));
  const inserted = await db('api_logs')
    .insert(
      rows.map((r) => ({
        organization_id: r.organizationId,
        request_id: r.requestId,
        api_key_id: r.apiKeyHash === null ? null : (idOf.get(r.apiKeyHash) ?? null),
        api_version: r.apiVersion,
        client: r.client,
        http_method: r.httpMethod,
        http_status: r.httpStatus,
        request_origin: r.requestOrigin,
        request_path: r.requestPath,
        request_body: r.requestBody,
        request_response: r.requestResponse,
        logged_at: r.loggedAt,
      })),
    )
    .onConflict(['organization_id', 'request_id'])
    .ignore()
    .returning('id');
  return inserted.length;
}

/** Deletes rows logged before `before`, at most `limit` of them (the writer calls it again while it deletes). */
export async function pruneApiLogs(db: Knex, before: Date, limit: number): Promise<number> {
  return db('api_logs')
    .whereIn('id', db('api_logs').where('logged_at', '<', before).select('id').limit(limit))
    .del();
}

export interface ApiLogFilters {
  fromDate?: string;
  toDate?: string;
  httpMethods?: string[];
  /** Exact statuses, and/or `succeeded` (< 400) / `failed` (≥ 400). */
  httpStatuses?: (number | 'succeeded' | 'failed')[];
  apiVersion?: string;
  requestPath?: string;
}

function toRecord(r: Record<string, any>): ApiLogRecord {
  return {
    organizationId: r.organization_id,
    requestId: r.request_id,
    apiKeyId: r.api_key_id ?? null,
    apiVersion: r.api_version,
    client: r.client,
    httpMethod: r.http_method,
    httpStatus: Number(r.http_status),
    requestOrigin: r.request_origin,
    requestPath: r.request_path,
    requestBody: r.request_body,
    requestResponse: r.request_response ?? null,
    loggedAt: r.logged_at,
    createdAt: r.created_at,
  };
}

export async function listApiLogs(db: Knex, organizationId: string, f: ApiLogFilters, page: number, perPage: number): Promise<{ logs: ApiLogRecord[]; totalCount: number }> {
  const q = db('api_logs').where({ organization_id: organizationId });
  // Dates are UTC calendar days, inclusive.
  if (f.fromDate) q.where('logged_at', '>=', `${f.fromDate}T00:00:00Z`);
  if (f.toDate) q.whereRaw(`logged_at < (?::date + 1)::timestamptz`, [f.toDate]);
  if (f.httpMethods?.length) q.whereIn('http_method', f.httpMethods);
  if (f.httpStatuses?.length) {
    const codes = f.httpStatuses.filter((s): s is number => typeof s === 'number');
    const outcomes = f.httpStatuses.filter((s) => typeof s === 'string');
    q.where((w) => {
      if (codes.length) w.orWhereIn('http_status', codes);
      if (outcomes.includes('succeeded')) w.orWhere('http_status', '<', 400);
      if (outcomes.includes('failed')) w.orWhere('http_status', '>=', 400);
    });
  }
  if (f.apiVersion) q.where('api_version', f.apiVersion);
  if (f.requestPath) q.whereRaw(`request_path LIKE ? ESCAPE '\\'`, [`%${f.requestPath.replace(/[\\%_]/g, (c) => `\\${c}`)}%`]);
  const [{ n }] = await q.clone().count<{ n: string }[]>({ n: '*' });
  const rows = await q.orderBy([{ column: 'logged_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(perPage).offset((page - 1) * perPage);
  return { logs: rows.map(toRecord), totalCount: Number(n) };
}

export async function getApiLog(db: Knex, organizationId: string, requestId: string): Promise<ApiLogRecord | null> {
  const row = await db('api_logs').where({ organization_id: organizationId, request_id: requestId }).first();
  return row ? toRecord(row) : null;
}
