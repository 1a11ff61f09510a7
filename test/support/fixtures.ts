// Row fixtures for tests against real Postgres: organizations, customers, metrics, plans with charges,
// subscriptions and events, inserted directly with knex (no API, no Temporal).
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { insertEventsSelect, type EventRow, type InsertedEvent } from '../../db/repositories/events';
import { insertEventsWithRollups, loadRollupMetricSpecs } from '../../db/repositories/rollups';

let counter = 0;
function uniq(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${crypto.randomBytes(3).toString('hex')}`;
}

export async function createOrganization(
  db: Knex,
  opts: { slug?: string; invoiceGracePeriod?: number; defaultTimezone?: string } = {},
): Promise<{ id: string; slug: string }> {
  const slug = opts.slug ?? uniq('acme');
  const [row] = await db('organizations')
    .insert({ name: slug, slug, invoice_grace_period: opts.invoiceGracePeriod ?? 0, default_timezone: opts.defaultTimezone ?? 'UTC' })
    .returning(['id', 'slug']);
  return row;
}

export async function createCustomer(
  db: Knex,
  organizationId: string,
  opts: { externalId?: string; timezone?: string | null; currency?: string | null; invoiceGracePeriod?: number | null } = {},
): Promise<{ id: string; externalId: string }> {
  const externalId = opts.externalId ?? uniq('cust');
  const [row] = await db('customers')
    .insert({
      organization_id: organizationId,
      external_id: externalId,
      name: externalId,
      timezone: opts.timezone === undefined ? 'UTC' : opts.timezone,
      currency: opts.currency === undefined ? 'USD' : opts.currency,
      invoice_grace_period: opts.invoiceGracePeriod ?? null,
    })
    .returning('id');
  return { id: row.id, externalId };
}

export interface MetricFixture {
  code: string;
  aggregationType?: string;
  fieldName?: string | null;
  filters?: { key: string; values: string[] }[];
  recurring?: boolean;
}

export async function createMetric(db: Knex, organizationId: string, m: MetricFixture): Promise<{ id: string; code: string }> {
  const [row] = await db('billable_metrics')
    .insert({
      organization_id: organizationId,
      code: m.code,
      name: m.code,
      aggregation_type: m.aggregationType ?? 'count_agg',
      field_name: m.fieldName ?? null,
      recurring: m.recurring ?? false,
      filters: JSON.stringify(m.filters ?? []),
    })
    .returning('id');
  return { id: row.id, code: m.code };
}

export interface ChargeFixture {
  metricId: string;
  chargeModel?: string;
  properties?: Record<string, unknown>;
  filters?: { invoice_display_name?: string | null; properties: Record<string, unknown>; values: Record<string, string[]> }[];
  payInAdvance?: boolean;
  minAmountCents?: number;
  invoiceDisplayName?: string | null;
}

export async function createPlan(
  db: Knex,
  organizationId: string,
  p: {
    code?: string;
    interval?: string;
    amountCents?: number;
    currency?: string;
    payInAdvance?: boolean;
    charges?: ChargeFixture[];
  },
): Promise<{ id: string; code: string; chargeIds: string[] }> {
  const code = p.code ?? uniq('plan');
  const [plan] = await db('plans')
    .insert({
      organization_id: organizationId,
      code,
      name: `Plan ${code}`,
      interval: p.interval ?? 'monthly',
      amount_cents: p.amountCents ?? 0,
      amount_currency: p.currency ?? 'USD',
      pay_in_advance: p.payInAdvance ?? false,
    })
    .returning('id');
  const chargeIds: string[] = [];
  for (const [i, c] of (p.charges ?? []).entries()) {
    const [row] = await db('charges')
      .insert({
        organization_id: organizationId,
        plan_id: plan.id,
        billable_metric_id: c.metricId,
        position: i,
        charge_model: c.chargeModel ?? 'standard',
        pay_in_advance: c.payInAdvance ?? false,
        min_amount_cents: c.minAmountCents ?? 0,
        invoice_display_name: c.invoiceDisplayName ?? null,
        properties: JSON.stringify(c.properties ?? {}),
        filters: JSON.stringify(c.filters ?? []),
      })
      .returning('id');
    chargeIds.push(row.id);
  }
  return { id: plan.id, code, chargeIds };
}

export async function createSubscription(
  db: Knex,
  organizationId: string,
  customerId: string,
  planId: string,
  opts: { externalId?: string; subscriptionAt?: string; status?: string } = {},
): Promise<{ id: string; externalId: string }> {
  const externalId = opts.externalId ?? uniq('sub');
  const id = crypto.randomUUID();
  await db('subscriptions').insert({
    id,
    organization_id: organizationId,
    customer_id: customerId,
    plan_id: planId,
    external_id: externalId,
    status: opts.status ?? 'active',
    subscription_at: new Date(opts.subscriptionAt ?? '2026-01-01T00:00:00Z'),
    started_at: new Date(opts.subscriptionAt ?? '2026-01-01T00:00:00Z'),
    workflow_id: `subscription:${id}`,
  });
  return { id, externalId };
}

export interface EventFixture {
  code: string;
  timestamp: string;
  properties?: Record<string, unknown>;
  transactionId?: string;
  preciseTotalAmount?: string | null;
}

export async function insertEvents(
  db: Knex,
  sub: { organizationId: string; subscriptionId: string; externalSubscriptionId: string },
  events: EventFixture[],
): Promise<void> {
  // Keys written with the events (db/repositories/events insertEventsSelect), in the given order (ids follow it);
  // a transaction id already stored, or repeated here, is skipped as before (fixtures run one at a time).
  const seen = new Set<string>();
  const records = [];
  for (const e of events) {
    const t = e.transactionId ?? uniq('tx');
    if (seen.has(t)) continue;
    seen.add(t);
    records.push({ t, c: e.code, ts: new Date(e.timestamp).toISOString(), p: e.properties ?? {}, a: e.preciseTotalAmount ?? null });
  }
  for (let i = 0; i < records.length; i += 2000) {
    await insertEventsSelect(
      db,
      `SELECT ?::uuid, x.t, ?::text, ?::uuid, x.c, x.ts, x.p, x.a
       FROM ROWS FROM (jsonb_to_recordset(?::jsonb) AS (t text, c text, ts timestamptz, p jsonb, a numeric)) WITH ORDINALITY AS x(t, c, ts, p, a, n)
       WHERE NOT EXISTS (SELECT 1 FROM event_transaction_ids k WHERE k.organization_id = ?::uuid AND k.transaction_id = x.t)
       ORDER BY x.n`,
      [sub.organizationId, sub.externalSubscriptionId, sub.subscriptionId, JSON.stringify(records.slice(i, i + 2000)), sub.organizationId],
    );
  }
}

/** `count` events generated in SQL (fast bulk load), spread evenly over [from, to), each with `{field: value}`. */
export async function insertGeneratedEvents(
  db: Knex,
  sub: { organizationId: string; subscriptionId: string; externalSubscriptionId: string },
  opts: { code: string; count: number; from: string; to: string; field?: string; value?: string },
): Promise<void> {
  await insertEventsSelect(
    db,
    `SELECT ?::uuid, ? || '-' || g, ?, ?::uuid, ?,
            ?::timestamptz + (g::double precision / ?) * (?::timestamptz - ?::timestamptz),
            CASE WHEN ?::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(?::text, ?::numeric) END, NULL::numeric
     FROM generate_series(0, ? - 1) AS g`,
    [
      sub.organizationId, uniq('gen'), sub.externalSubscriptionId, sub.subscriptionId, opts.code,
      opts.from, opts.count, opts.to, opts.from,
      opts.field ?? null, opts.field ?? 'x', opts.value ?? '0',
      opts.count,
    ],
  );
}

/** A standard setup: org, customer, plan (given), active subscription. */
export async function createBillingSetup(
  db: Knex,
  opts: {
    planAmountCents?: number;
    payInAdvance?: boolean;
    metrics: MetricFixture[];
    charges: (metrics: { id: string; code: string }[]) => ChargeFixture[];
    customer?: { timezone?: string | null; currency?: string | null; invoiceGracePeriod?: number | null };
    org?: { slug?: string; invoiceGracePeriod?: number };
    subscriptionAt?: string;
  },
) {
  const org = await createOrganization(db, opts.org);
  const customer = await createCustomer(db, org.id, opts.customer);
  const metrics = [];
  for (const m of opts.metrics) metrics.push(await createMetric(db, org.id, m));
  const plan = await createPlan(db, org.id, {
    amountCents: opts.planAmountCents ?? 0,
    payInAdvance: opts.payInAdvance ?? false,
    charges: opts.charges(metrics),
  });
  const sub = await createSubscription(db, org.id, customer.id, plan.id, { subscriptionAt: opts.subscriptionAt });
  return {
    org,
    customer,
    metrics,
    plan,
    sub,
    ref: { organizationId: org.id, subscriptionId: sub.id, externalSubscriptionId: sub.externalId },
  };
}

/**
 * Events through the API's ingest step (db/repositories/rollups insertEventsWithRollups: one multi-row INSERT
 * ... ON CONFLICT DO NOTHING RETURNING, then applyRollups for the inserted rows, in one transaction), so the
 * usage_rollups table is maintained exactly as in production. Rows repeated inside the call keep the first.
 */
export async function ingestEvents(
  db: Knex,
  sub: { organizationId: string; subscriptionId: string; externalSubscriptionId: string },
  events: EventFixture[],
): Promise<InsertedEvent[]> {
  const specs = await loadRollupMetricSpecs(db, sub.organizationId);
  const seen = new Set<string>();
  const rows: EventRow[] = [];
  for (const e of events) {
    const transactionId = e.transactionId ?? uniq('tx');
    if (seen.has(transactionId)) continue;
    seen.add(transactionId);
    rows.push({
      organizationId: sub.organizationId,
      transactionId,
      externalSubscriptionId: sub.externalSubscriptionId,
      subscriptionId: sub.subscriptionId,
      code: e.code,
      timestamp: new Date(e.timestamp).toISOString(),
      properties: e.properties ?? {},
      preciseTotalAmount: e.preciseTotalAmount ?? null,
    });
  }
  return insertEventsWithRollups(db, rows, (_org, code) => specs.get(code));
}
