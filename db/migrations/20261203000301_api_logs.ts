// ops13g (issue 13): Lago's API logs, one row per write request (POST / PUT / DELETE under /api/v1, the event
// ingest posts excepted), written asynchronously in batches by api/operations/api-log.ts. No foreign keys (cheap
// batch inserts and retention deletes); every row carries organization_id and every read is scoped by it.
// Retention: rows older than 30 days (ApiDeps.apiLogs.retentionDays) are deleted by the writer.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_logs', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('organization_id').notNullable();
    t.text('request_id').notNullable();
    t.uuid('api_key_id');
    t.text('api_version').notNullable();
    t.text('client').notNullable();
    t.text('http_method').notNullable();
    t.integer('http_status').notNullable();
    t.text('request_origin').notNullable();
    t.text('request_path').notNullable();
    /** JSON text, secrets redacted; a body over the size cap is replaced by a marker. */
    t.text('request_body').notNullable();
    t.text('request_response');
    t.timestamp('logged_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'request_id']);
  });
  await knex.raw('CREATE INDEX api_logs_org_logged_at ON api_logs (organization_id, logged_at DESC, id DESC)');
  await knex.raw('CREATE INDEX api_logs_logged_at ON api_logs (logged_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_logs');
}
