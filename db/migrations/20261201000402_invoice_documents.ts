// Invoice PDFs (documents/): one stored document per finalized invoice, written once (unique invoice_id).
// storage_key is the key in the document store (the data folder by default); sha256 and byte_size let the
// API and operators check the file without reading it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('invoice_documents', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('invoice_id').notNullable().references('invoices.id').unique();
    t.text('storage_key').notNullable();
    t.text('sha256').notNullable();
    t.integer('byte_size').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('invoice_documents');
}
