// ops13g (issue 13): Lago's activity logs, an audit trail of resource changes. Written two ways
// (db/repositories/activity-logs.ts): in the transaction of the change, by the webhook outbox's write point, for
// what the outbox announces (invoices, subscriptions started / terminated, credit notes); and from the answers of
// successful API writes for the rest (api/operations/api-log.ts). Idempotent on (organization_id, unique_key).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activity_logs', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.text('unique_key').notNullable();
    t.text('activity_type').notNullable();
    t.text('activity_source').notNullable();
    t.jsonb('activity_object');
    t.jsonb('activity_object_changes');
    t.text('resource_type').notNullable();
    t.uuid('resource_id').notNullable();
    t.text('external_customer_id');
    t.text('external_subscription_id');
    t.uuid('api_key_id');
    t.text('user_email');
    t.timestamp('logged_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'unique_key']);
  });
  await knex.raw(`ALTER TABLE activity_logs ADD CONSTRAINT activity_logs_source CHECK (activity_source IN ('api', 'front', 'system'))`);
  await knex.raw('CREATE INDEX activity_logs_org_logged_at ON activity_logs (organization_id, logged_at DESC, id)');
  await knex.raw('CREATE INDEX activity_logs_resource ON activity_logs (organization_id, resource_id, logged_at DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('activity_logs');
}
