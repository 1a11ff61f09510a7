// Two ledgers beside `events`, neither of which is ever billed:
//
// event_errors — every event the API rejected for its CONTENT (unknown subscription or metric, a malformed,
//   too old or too future timestamp, a non-numeric value, a missing field...), recorded in the rejecting
//   request before it answers, so nothing a client sent disappears silently. Values are kept as received
//   (timestamp as text, properties as any JSON). One row per (organization, event, error_code, field):
//   dedupe_key is the transaction_id, or "sha256:<hex of the raw event>" when the event has no usable one,
//   so a client retry updates `occurrences` / `last_received_at` instead of adding rows.
//
// imported_usage — usage billed by a previous billing system, imported through POST /events/import to appear
//   in usage history (GET /customers/:id/past_usage). It lives in its own table, never in `events`: invoices,
//   rollups, current usage and thresholds read `events` only, so imported usage cannot be billed again by
//   construction. transaction_id is unique per organization (a re-import is a duplicate, counted once).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE event_errors (
      id bigserial PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations(id),
      transaction_id text,
      dedupe_key text NOT NULL,
      external_subscription_id text,
      code text,
      "timestamp" text,
      properties jsonb,
      error_code text NOT NULL,
      field text NOT NULL,
      request_id text,
      received_at timestamptz NOT NULL DEFAULT now(),
      last_received_at timestamptz NOT NULL DEFAULT now(),
      occurrences integer NOT NULL DEFAULT 1,
      CONSTRAINT event_errors_dedupe UNIQUE (organization_id, dedupe_key, error_code, field)
    )`);
  await knex.raw('CREATE INDEX event_errors_org_received ON event_errors (organization_id, received_at DESC, id DESC)');
  await knex.raw('CREATE INDEX event_errors_org_transaction ON event_errors (organization_id, transaction_id)');

  await knex.raw(`
    CREATE TABLE imported_usage (
      id bigserial PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations(id),
      transaction_id text NOT NULL,
      subscription_id uuid NOT NULL REFERENCES subscriptions(id),
      external_subscription_id text NOT NULL,
      code text NOT NULL,
      "timestamp" timestamptz NOT NULL,
      properties jsonb NOT NULL DEFAULT '{}'::jsonb,
      value numeric,
      source text NOT NULL,
      import_batch text,
      imported_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT imported_usage_transaction UNIQUE (organization_id, transaction_id)
    )`);
  await knex.raw('CREATE INDEX imported_usage_subscription_code_ts ON imported_usage (subscription_id, code, "timestamp")');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS imported_usage');
  await knex.raw('DROP TABLE IF EXISTS event_errors');
}
