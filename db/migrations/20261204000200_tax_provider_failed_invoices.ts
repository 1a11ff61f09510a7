// failed13 (issue 13): an external tax engine an organization turns on, and the `failed` invoices it can leave.
// - organization_tax_settings.tax_provider*: the engine (Lago's tax integrations: `anrok`), its code (Lago's
//   integration code, named in the customer.tax_provider_error webhook), its API base URL and key. The key is never
//   read back by the API (last 4 characters only), as payment_providers.secret_key.
// - invoice_error_details: Lago's ErrorDetail rows of an invoice (error_code `tax_error`, details {tax_error,
//   tax_error_message}); a retry deletes them, a failing retry writes new ones.
// - invoices.status gains `failed` (no CHECK on that column: the repository is the guard, db/repositories/invoices.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('organization_tax_settings', (t) => {
    t.text('tax_provider');
    t.text('tax_provider_code');
    t.text('tax_provider_api_url');
    t.text('tax_provider_api_key');
  });
  await knex.raw(`ALTER TABLE organization_tax_settings ADD CONSTRAINT organization_tax_settings_provider_check CHECK (tax_provider IS NULL OR (tax_provider IN ('anrok') AND tax_provider_api_url IS NOT NULL AND tax_provider_api_key IS NOT NULL AND tax_provider_code IS NOT NULL))`);
  await knex.schema.createTable('invoice_error_details', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable();
    t.uuid('invoice_id').notNullable().references('invoices.id').onDelete('CASCADE');
    t.text('error_code').notNullable();
    t.jsonb('details').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'invoice_id']);
  });
  await knex.raw(`ALTER TABLE invoice_error_details ADD CONSTRAINT invoice_error_details_code_check CHECK (error_code IN ('tax_error'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('invoice_error_details');
  await knex.raw('ALTER TABLE organization_tax_settings DROP CONSTRAINT IF EXISTS organization_tax_settings_provider_check');
  await knex.schema.alterTable('organization_tax_settings', (t) => {
    t.dropColumn('tax_provider');
    t.dropColumn('tax_provider_code');
    t.dropColumn('tax_provider_api_url');
    t.dropColumn('tax_provider_api_key');
  });
}
