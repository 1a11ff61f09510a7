// Outgoing webhooks, Lago's contract (issue 13):
//
// - webhook_endpoints: where an organization receives webhooks (at most 10 per organization, enforced by the
//   repository under a lock on the organization row), with its signature algorithm (hmac | jwt) and an optional
//   event_types filter (NULL = every event type).
// - webhooks: the outbox. One row per (endpoint, event), written in the SAME transaction as the change it
//   announces; unique on (webhook_endpoint_id, unique_key) so a producer that runs twice enqueues once. The
//   payload is the exact JSON body that is signed and sent on every attempt (NULL until rendered, for objects
//   rendered at first delivery: see db/repositories/webhooks.ts). Its id is the X-Lago-Unique-Key header.
//   status: pending → (retrying)* → succeeded | failed. next_attempt_at is when the row is next due; a claim
//   pushes it forward by a lease, so a worker that dies mid-delivery leaves the row due again, never lost.
// - webhook_attempts: the delivery log, one row per attempt (status code or error, timing).
// - webhook_keys: per organization, the HMAC key and the RS256 key pair, generated once. The private key is
//   read only by the delivery activity; no route serves it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('webhook_url').notNullable();
    t.text('name');
    t.text('signature_algo').notNullable().defaultTo('jwt');
    // JSON array of webhook types, or NULL for all of them.
    t.jsonb('event_types');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'created_at']);
  });
  await knex.raw(`ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_signature_algo CHECK (signature_algo IN ('hmac', 'jwt'))`);

  await knex.schema.createTable('webhooks', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('webhook_endpoint_id').notNullable().references('webhook_endpoints.id').onDelete('CASCADE');
    t.text('webhook_type').notNullable();
    t.text('object_type').notNullable();
    t.text('object_id');
    // The producer's business key (e.g. `customer.created:<customer id>`).
    t.text('unique_key').notNullable();
    t.text('payload');
    t.text('status').notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    // attempts already made when an operator last asked for a manual retry (the retry budget restarts there).
    t.integer('attempts_before_retry').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_attempt_at', { useTz: true });
    t.integer('http_status');
    t.text('response');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['webhook_endpoint_id', 'unique_key'], { indexName: 'webhooks_endpoint_unique_key' });
    t.index(['organization_id', 'created_at']);
  });
  await knex.raw(`ALTER TABLE webhooks ADD CONSTRAINT webhooks_status CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed'))`);
  // The delivery claim scans only rows still to deliver, in due order.
  await knex.raw(`CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE status IN ('pending', 'retrying')`);

  await knex.schema.createTable('webhook_attempts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('webhook_id').notNullable().references('webhooks.id').onDelete('CASCADE');
    t.integer('attempt').notNullable();
    t.text('webhook_url').notNullable();
    t.integer('http_status');
    t.text('error');
    t.boolean('succeeded').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true }).notNullable();
    t.unique(['webhook_id', 'attempt']);
  });

  await knex.schema.createTable('webhook_keys', (t) => {
    t.uuid('organization_id').primary().references('organizations.id');
    t.text('hmac_key').notNullable();
    t.text('jwt_public_key_pem').notNullable();
    t.text('jwt_private_key_pem').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webhook_keys');
  await knex.schema.dropTableIfExists('webhook_attempts');
  await knex.schema.dropTableIfExists('webhooks');
  await knex.schema.dropTableIfExists('webhook_endpoints');
}
