// Lago's termination options stored on the subscription (issue 11): on_termination_invoice (generate | skip) and
// on_termination_credit_note (credit | refund | skip), set on POST / PUT /subscriptions or by a DELETE's query, read
// by the workflow when the subscription ends (DELETE, ending_at, a test clock). NULL = Lago's default (generate;
// credit for pay-in-advance plans).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE subscriptions
      ADD COLUMN on_termination_invoice text CHECK (on_termination_invoice IN ('generate', 'skip')),
      ADD COLUMN on_termination_credit_note text CHECK (on_termination_credit_note IN ('credit', 'refund', 'skip'))
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE subscriptions DROP COLUMN IF EXISTS on_termination_credit_note, DROP COLUMN IF EXISTS on_termination_invoice');
}
