// The billable-metrics aggregate: the rows, their one mapper (`toMetric` → `BillableMetricRecord`, and
// `toBillingMetric` → billing/'s BillableMetric, used by the API and by plans.ts when it loads a plan to rate).
import type { Knex } from 'knex';
import type { AggregationType, BillableMetric, MetricFilter } from '../../billing/types';
import { DuplicateCodeError, isUniqueViolation } from './errors';

export { DuplicateCodeError };

export interface BillableMetricRecord {
  id: string;
  organizationId: string;
  code: string;
  name: string;
  description: string | null;
  aggregationType: AggregationType;
  fieldName: string | null;
  recurring: boolean;
  filters: MetricFilter[];
  createdAt: Date;
}

export interface NewBillableMetric {
  code: string;
  name: string;
  description: string | null;
  aggregationType: AggregationType;
  fieldName: string | null;
  recurring: boolean;
  filters: MetricFilter[];
}


/** Stored filters as billing/ reads them: every value a string, a malformed entry an empty filter. */
function filtersOf(raw: unknown): MetricFilter[] {
  if (!Array.isArray(raw)) return [];
  return (raw as { key?: unknown; values?: unknown }[]).map((f) => ({
    key: String(f.key ?? ''),
    values: Array.isArray(f.values) ? f.values.map(String) : [],
  }));
}

/** The one row mapper of billable_metrics. */
export function toMetric(row: Record<string, any>): BillableMetricRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    code: row.code,
    name: row.name,
    description: row.description ?? null,
    aggregationType: row.aggregation_type,
    fieldName: row.field_name === '' || row.field_name === undefined ? null : row.field_name,
    recurring: row.recurring,
    filters: filtersOf(row.filters),
    createdAt: row.created_at,
  };
}

export function toBillingMetric(m: BillableMetricRecord): BillableMetric {
  return {
    code: m.code,
    name: m.name,
    aggregationType: m.aggregationType,
    fieldName: m.fieldName,
    recurring: m.recurring,
    filters: m.filters,
  };
}

export async function createBillableMetric(db: Knex, organizationId: string, m: NewBillableMetric): Promise<BillableMetricRecord> {
  try {
    const [row] = await db('billable_metrics')
      .insert({
        organization_id: organizationId,
        code: m.code,
        name: m.name,
        description: m.description,
        aggregation_type: m.aggregationType,
        field_name: m.fieldName,
        recurring: m.recurring,
        filters: JSON.stringify(m.filters),
      })
      .returning('*');
    return toMetric(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateCodeError('billable_metric', m.code);
    throw err;
  }
}

export async function getBillableMetricByCode(db: Knex, organizationId: string, code: string): Promise<BillableMetricRecord | null> {
  const row = await db('billable_metrics').where({ organization_id: organizationId, code }).first();
  return row ? toMetric(row) : null;
}

export async function listBillableMetrics(db: Knex, organizationId: string): Promise<BillableMetricRecord[]> {
  const rows = await db('billable_metrics').where({ organization_id: organizationId }).orderBy([{ column: 'created_at' }, { column: 'code' }]);
  return rows.map(toMetric);
}

/** The organization's metrics as ingest needs them (api/ingest/catalog-cache.ts): id, code, aggregation, field. */
export async function listMetricIngestInfo(
  db: Knex,
  organizationId: string,
): Promise<{ id: string; code: string; aggregationType: AggregationType; fieldName: string | null }[]> {
  const rows = await db('billable_metrics').where({ organization_id: organizationId }).select('id', 'code', 'aggregation_type', 'field_name');
  return rows.map((r: Record<string, any>) => ({ id: r.id, code: r.code, aggregationType: r.aggregation_type, fieldName: r.field_name ?? null }));
}

export async function listBillableMetricsPage(
  db: Knex,
  organizationId: string,
  page: number,
  perPage: number,
): Promise<{ metrics: BillableMetricRecord[]; totalCount: number }> {
  const [{ count }] = await db('billable_metrics').where({ organization_id: organizationId }).count<{ count: string }[]>('* as count');
  const rows = await db('billable_metrics')
    .where({ organization_id: organizationId })
    .orderBy([{ column: 'created_at' }, { column: 'code' }])
    .limit(perPage)
    .offset((page - 1) * perPage);
  return { metrics: rows.map(toMetric), totalCount: Number(count) };
}

// ---------------------------------------------------------------------------------------------- plans

/** Billable metrics of the organization by id and by code (for resolving a plan's charges). */
export async function metricsByIdsOrCodes(
  db: Knex,
  organizationId: string,
  ids: string[],
  codes: string[],
): Promise<BillableMetricRecord[]> {
  const uuidIds = ids.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
  if (uuidIds.length === 0 && codes.length === 0) return [];
  const rows = await db('billable_metrics')
    .where({ organization_id: organizationId })
    .andWhere((q) => {
      if (uuidIds.length > 0) q.orWhereIn('id', uuidIds);
      if (codes.length > 0) q.orWhereIn('code', codes);
    });
  return rows.map(toMetric);
}
