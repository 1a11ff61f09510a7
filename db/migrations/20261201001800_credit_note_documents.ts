// Credit-note PDFs (documents/credit-note-document.ts): one stored document per credit note, written once
// (unique credit_note_id), as invoice_documents does for invoices.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('credit_note_documents', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.uuid('credit_note_id').notNullable().references('credit_notes.id').unique();
    t.text('storage_key').notNullable();
    t.text('sha256').notNullable();
    t.integer('byte_size').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('credit_note_documents');
}
