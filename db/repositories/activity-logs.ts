// Activity logs (migration 20261203000302_activity_logs): Lago's audit trail of resource changes.
// - recordOutboxActivity: called by the webhook outbox's write point (db/repositories/webhooks.ts enqueueWebhook)
//   in the transaction of the change, for the webhook types that announce a change of a resource.
// - recordApiActivities: the changes answered by successful API writes (batched by api/operations/api-log.ts).
// activity_object_changes of an update: {field: [before, after]} against the resource's previous logged object.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** Webhook type → the activity it records (the outbox's objectId is the resource's id for these). */
const OUTBOX_ACTIVITIES: Record<string, string> = {
  'invoice.created': 'Invoice',
  'invoice.drafted': 'Invoice',
  'invoice.finalized': 'Invoice',
  'invoice.voided': 'Invoice',
  'invoice.deleted': 'Invoice', // del13: DELETE /invoices/:lago_id
  'invoice.payment_status_updated': 'Invoice',
  'invoice.payment_overdue': 'Invoice',
  'invoice.payment_dispute_lost': 'Invoice',
  'subscription.started': 'Subscription',
  'subscription.terminated': 'Subscription',
  'credit_note.created': 'CreditNote',
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function recordOutboxActivity(
  trx: Knex.Transaction,
  e: { organizationId: string; webhookType: string; objectId: string | null; object?: Record<string, unknown>; uniqueKey: string },
): Promise<void> {
  const resourceType = OUTBOX_ACTIVITIES[e.webhookType];
  if (!resourceType || e.objectId === null || !UUID_RE.test(e.objectId)) return;
  await trx('activity_logs')
    .insert({
      organization_id: e.organizationId,
      unique_key: `outbox:${e.uniqueKey}`,
      activity_type: e.webhookType,
      activity_source: 'system',
      activity_object: e.object === undefined ? null : JSON.stringify(e.object),
      resource_type: resourceType,
      resource_id: e.objectId,
      external_customer_id: typeof e.object?.external_customer_id === 'string' ? e.object.external_customer_id : null,
      logged_at: trx.fn.now(),
    })
    .onConflict(['organization_id', 'unique_key'])
    .ignore();
}

export interface ApiActivity {
  organizationId: string;
  uniqueKey: string;
  /** `<object>.<action>`; an `.upserted` action becomes created or updated by whether the resource was logged before. */
  activityType: string;
  resourceType: string;
  resourceId: string;
  object: Record<string, unknown>;
  apiKeyHash: string | null;
  externalCustomerId: string | null;
  externalSubscriptionId: string | null;
  loggedAt: Date;
}

/** {field: [before, after]} for the top-level fields that differ (null when nothing is known before). */
export function objectChanges(before: Record<string, unknown> | null, after: Record<string, unknown>): Record<string, [unknown, unknown]> | null {
  if (before === null) return null;
  const out: Record<string, [unknown, unknown]> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (k === 'updated_at') continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out[k] = [before[k] ?? null, after[k] ?? null];
  }
  return out;
}

/** Inserts the API-answered activities in order (each diffed against the resource's previous logged object). */
export async function recordApiActivities(db: Knex, rows: ApiActivity[]): Promise<void> {
  if (rows.length === 0) return;
  const hashes = [...new Set(rows.map((r) => r.apiKeyHash).filter((h): h is string => h !== null))];
  const keys: { id: string; key_hash: string }[] = hashes.length > 0 ? await db('api_keys').whereIn('key_hash', hashes).select('id', 'key_hash') : [];
  const idOf = new Map(keys.map((k) => [k.key_hash, k.id]));
  for (const r of rows) {
    const prev: { activity_object: Record<string, unknown> | null } | undefined = await db('activity_logs')
      .where({ organization_id: r.organizationId, resource_id: r.resourceId })
      .whereNotNull('activity_object')
      .orderBy([{ column: 'logged_at', order: 'desc' }, { column: 'created_at', order: 'desc' }])
      .first('activity_object');
    const type = r.activityType.endsWith('.upserted') ? r.activityType.replace(/upserted$/, prev ? 'updated' : 'created') : r.activityType;
    await db('activity_logs')
      .insert({
        organization_id: r.organizationId,
        unique_key: r.uniqueKey,
        activity_type: type,
        activity_source: 'api',
        activity_object: JSON.stringify(r.object),
        activity_object_changes: type.endsWith('.updated') ? JSON.stringify(objectChanges(prev?.activity_object ?? null, r.object)) : null,
        resource_type: r.resourceType,
        resource_id: r.resourceId,
        external_customer_id: r.externalCustomerId,
        external_subscription_id: r.externalSubscriptionId,
        api_key_id: r.apiKeyHash === null ? null : (idOf.get(r.apiKeyHash) ?? null),
        logged_at: r.loggedAt,
      })
      .onConflict(['organization_id', 'unique_key'])
      .ignore();
  }
}

export interface ActivityLogRecord {
  id: string;
  organizationId: string;
  activityType: string;
  activitySource: string;
  activityObject: Record<string, unknown> | null;
  activityObjectChanges: Record<string, unknown> | null;
  resourceType: string;
  resourceId: string;
  externalCustomerId: string | null;
  externalSubscriptionId: string | null;
  apiKeyId: string | null;
  userEmail: string | null;
  loggedAt: Date;
  createdAt: Date;
}

function toRecord(r: Record<string, any>): ActivityLogRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    activityType: r.activity_type,
    activitySource: r.activity_source,
    activityObject: r.activity_object ?? null,
    activityObjectChanges: r.activity_object_changes ?? null,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    externalCustomerId: r.external_customer_id ?? null,
    externalSubscriptionId: r.external_subscription_id ?? null,
    apiKeyId: r.api_key_id ?? null,
    userEmail: r.user_email ?? null,
    loggedAt: r.logged_at,
    createdAt: r.created_at,
  };
}

export interface ActivityLogFilters {
  fromDate?: string;
  toDate?: string;
  activityTypes?: string[];
  activitySources?: string[];
  userEmails?: string[];
  externalCustomerId?: string;
  externalSubscriptionId?: string;
  resourceIds?: string[];
  resourceTypes?: string[];
}

export async function listActivityLogs(db: Db, organizationId: string, f: ActivityLogFilters, page: number, perPage: number): Promise<{ logs: ActivityLogRecord[]; totalCount: number }> {
  const q = db('activity_logs').where({ organization_id: organizationId });
  if (f.fromDate) q.where('logged_at', '>=', `${f.fromDate}T00:00:00Z`);
  if (f.toDate) q.whereRaw(`logged_at < (?::date + 1)::timestamptz`, [f.toDate]);
  if (f.activityTypes?.length) q.whereIn('activity_type', f.activityTypes);
  if (f.activitySources?.length) q.whereIn('activity_source', f.activitySources);
  if (f.userEmails?.length) q.whereIn('user_email', f.userEmails);
  if (f.externalCustomerId) q.where('external_customer_id', f.externalCustomerId);
  if (f.externalSubscriptionId) q.where('external_subscription_id', f.externalSubscriptionId);
  if (f.resourceIds?.length) {
    const ids = f.resourceIds.filter((id) => UUID_RE.test(id));
    if (ids.length === 0) return { logs: [], totalCount: 0 };
    q.whereIn('resource_id', ids);
  }
  if (f.resourceTypes?.length) q.whereIn('resource_type', f.resourceTypes);
  const [{ n }] = await q.clone().count<{ n: string }[]>({ n: '*' });
  const rows = await q.orderBy([{ column: 'logged_at', order: 'desc' }, { column: 'created_at', order: 'desc' }, { column: 'id' }]).limit(perPage).offset((page - 1) * perPage);
  return { logs: rows.map(toRecord), totalCount: Number(n) };
}

export async function getActivityLog(db: Db, organizationId: string, id: string): Promise<ActivityLogRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const row = await db('activity_logs').where({ organization_id: organizationId, id }).first();
  return row ? toRecord(row) : null;
}
