// Top-up invoices of paid wallet credits (db/repositories/wallet-top-up-invoices.ts): one invoice of type
// `credit` per paid movement — unique on its business key source_key = `wallet_transaction:<id>` — and one
// purchase per invoice (the movement settled when the invoice is paid).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE UNIQUE INDEX invoices_top_up_source ON invoices (organization_id, source_key) WHERE invoice_type = 'credit'`);
  await knex.raw(`CREATE UNIQUE INDEX wallet_transactions_top_up_invoice ON wallet_transactions (invoice_id) WHERE transaction_status = 'purchased' AND invoice_id IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS wallet_transactions_top_up_invoice');
  await knex.raw('DROP INDEX IF EXISTS invoices_top_up_source');
}
