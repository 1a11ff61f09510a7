// Poison rows: stored events billing cannot use (a value beyond billing/input-limits.ts, stored before the
// door checked it, or a value a metric's field can no longer read). The period close moves such a row here
// (the whole row as it was), rebuilds the rollups it touched, and bills the rest: one bad row never blocks an
// invoice and is never silently dropped (event_errors gets an `event_quarantined` record; operators list this
// table with GET /api/v1/events/quarantined).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE quarantined_events (
      id bigserial PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations(id),
      event_id bigint NOT NULL,
      transaction_id text NOT NULL,
      external_subscription_id text NOT NULL,
      subscription_id uuid,
      code text NOT NULL,
      "timestamp" timestamptz NOT NULL,
      properties jsonb NOT NULL,
      precise_total_amount numeric,
      event_created_at timestamptz NOT NULL,
      reason_code text NOT NULL,
      field text NOT NULL,
      quarantined_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT quarantined_events_event UNIQUE (organization_id, event_id)
    )`);
  await knex.raw('CREATE INDEX quarantined_events_org_time ON quarantined_events (organization_id, quarantined_at DESC, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS quarantined_events');
}
