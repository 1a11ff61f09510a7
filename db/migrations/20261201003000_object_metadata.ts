// Lago's metadata on plans, credit notes and wallets (issue 13: POST/PATCH/DELETE /{plans/:code,credit_notes/:lago_id,
// wallets/:lago_id}/metadata[/:key]): a flat object of string (or null) values per object, returned on the object as
// Lago's `metadata`. NULL until set, and again after DELETE …/metadata. Written only by db/repositories/object-metadata.ts.
import type { Knex } from 'knex';

const TABLES = ['plans', 'credit_notes', 'wallets'] as const;

export async function up(knex: Knex): Promise<void> {
  for (const t of TABLES) {
    await knex.schema.alterTable(t, (table) => {
      table.jsonb('metadata');
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const t of TABLES) {
    await knex.schema.alterTable(t, (table) => {
      table.dropColumn('metadata');
    });
  }
}
