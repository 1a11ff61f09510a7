// What the fleet Schedules read (worker/schedules.ts): live subscriptions to check against Temporal, the last
// billed period of a subscription (to restart its workflow from Postgres state), drafts whose grace period is
// over, and finalized invoices past their due date. Fleet-wide jobs iterate organizations; every query below is
// scoped by one organization_id. "Now" is Postgres' clock, or a subscription's test clock when it has one.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** Every organization id, in a stable order (fleet jobs iterate them). */
export async function listOrganizationIds(db: Db): Promise<string[]> {
  const rows: { id: string }[] = await db('organizations').select('id').orderBy('id');
  return rows.map((r) => r.id);
}

/**
 * One page of subscription ids whose workflow should be running (pending or active), created before
 * `createdBefore` (a subscription being created right now may not have started its workflow yet), after `afterId`.
 */
export async function liveSubscriptionIdsPage(
  db: Db,
  organizationId: string,
  opts: { afterId: string | null; limit: number; createdBefore: Date },
): Promise<string[]> {
  const q = db('subscriptions')
    .where({ organization_id: organizationId })
    .whereIn('status', ['pending', 'active'])
    .where('created_at', '<', opts.createdBefore)
    .orderBy('id')
    .limit(opts.limit)
    .select('id');
  if (opts.afterId !== null) q.andWhere('id', '>', opts.afterId);
  const rows: { id: string }[] = await q;
  return rows.map((r) => r.id);
}

export interface BilledPeriods {
  /** Period invoices (kind subscription) of the subscription. */
  count: number;
  /** The latest one's period and full period (ISO UTC), or null when none was billed yet. */
  last: { period: { start: string; end: string }; fullPeriod: { start: string; end: string } } | null;
}

/**
 * The subscription's billed periods: the sweeper restarts a workflow at the period after the last one. A deleted draft
 * (status 'deleted', db/repositories/invoice-deletion.ts) counts: its period was closed, and must not be closed again.
 */
export async function billedPeriodsOf(db: Db, organizationId: string, subscriptionId: string): Promise<BilledPeriods> {
  const base = db('invoices').where({ organization_id: organizationId, subscription_id: subscriptionId, invoice_type: 'subscription' });
  const [{ n }] = await base.clone().count<{ n: string }[]>({ n: '*' });
  const last = await base
    .clone()
    .orderBy('period_end', 'desc')
    .first('period_start', 'period_end', 'full_period_start', 'full_period_end');
  if (!last) return { count: Number(n), last: null };
  const iso = (d: Date | null, fallback: Date) => (d ?? fallback).toISOString();
  return {
    count: Number(n),
    last: {
      period: { start: last.period_start.toISOString(), end: last.period_end.toISOString() },
      fullPeriod: { start: iso(last.full_period_start, last.period_start), end: iso(last.full_period_end, last.period_end) },
    },
  };
}

/** "Now" of each invoice's subscription: its test clock's frozen time, else the database's clock. */
const NOW_OF_SUBSCRIPTION = 'coalesce(tc.frozen_time, now())';

/**
 * Drafts whose grace period (customer override, else the organization's) ended more than `slackMinutes` ago and
 * that are still drafts: their invoice workflow should have finalized them. Drafts of test-clock subscriptions are
 * left to their workflow (its grace period runs on the clock, which created_at does not).
 */
export async function draftsPastGrace(
  db: Db,
  organizationId: string,
  opts: { slackMinutes: number; limit: number },
): Promise<{ invoiceId: string; subscriptionId: string }[]> {
  const rows: { id: string; subscription_id: string }[] = await db('invoices as i')
    .join('subscriptions as s', 's.id', 'i.subscription_id')
    .join('customers as c', 'c.id', 'i.customer_id')
    .join('billing_entity_settings as bes', function entity() {
      this.on('bes.organization_id', '=', 'i.organization_id').andOn('bes.code', '=', 'i.billing_entity_code');
    })
    .where('i.organization_id', organizationId)
    .andWhere('i.status', 'draft')
    .whereNull('s.test_clock_id')
    .andWhereRaw(
      `i.created_at + make_interval(days => coalesce(c.invoice_grace_period, bes.invoice_grace_period)) + make_interval(mins => ?) <= now()`,
      [opts.slackMinutes],
    )
    .orderBy('i.created_at')
    .limit(opts.limit)
    .select('i.id', 'i.subscription_id');
  return rows.map((r) => ({ invoiceId: r.id, subscriptionId: r.subscription_id }));
}

/**
 * Finalized invoices whose payment_due_date is over (the end of that day, UTC, on the subscription's clock), not
 * paid, not voided and not yet marked overdue.
 */
export async function overdueCandidates(db: Db, organizationId: string, limit: number): Promise<string[]> {
  const rows: { id: string }[] = await db('invoices as i')
    .join('subscriptions as s', 's.id', 'i.subscription_id')
    .leftJoin('test_clocks as tc', 'tc.id', 's.test_clock_id')
    .where('i.organization_id', organizationId)
    .andWhere('i.status', 'finalized')
    .andWhere('i.payment_overdue', false)
    .andWhereNot('i.payment_status', 'succeeded')
    .whereNull('i.voided_at')
    .whereNotNull('i.payment_due_date')
    .andWhereRaw(`i.payment_due_date < (${NOW_OF_SUBSCRIPTION} at time zone 'UTC')::date`)
    .orderBy('i.payment_due_date')
    .limit(limit)
    .select('i.id');
  return rows.map((r) => r.id);
}

/** The organization's default timezone (customers without their own bill in it). */
export async function organizationDefaultTimezone(db: Db, organizationId: string): Promise<string> {
  const row: { default_timezone: string } | undefined = await db('organizations').where({ id: organizationId }).first('default_timezone');
  return row?.default_timezone ?? 'UTC';
}
