// FX rates (billing/fx.ts, adapters/fx/): the ECB's euro reference rates and the operators' manual rates.
// - fx_rates: published rates, 1 base_currency (EUR) = rate currency on rate_date. Reference data shared by
//   every organization (public figures, no organization_id). Unique per (source, base, currency, date): a
//   refresh re-reading the 90-day file writes each figure once.
// - fx_manual_rates: operator-entered rates for a pair (source `manual`), per organization; the fallback when
//   the ECB has no usable rate (a currency the ECB does not quote, an outage longer than the staleness bound).
// Rates are `numeric` without scale: the decimal string published is stored exactly.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fx_rates', (t) => {
    t.bigIncrements('id').primary();
    t.text('source').notNullable();
    t.specificType('base_currency', 'char(3)').notNullable().defaultTo('EUR');
    t.specificType('currency', 'char(3)').notNullable();
    t.date('rate_date').notNullable();
    t.specificType('rate', 'numeric').notNullable();
    t.timestamp('fetched_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['source', 'base_currency', 'currency', 'rate_date']);
  });
  await knex.raw('ALTER TABLE fx_rates ADD CONSTRAINT fx_rates_rate_positive CHECK (rate > 0)');

  await knex.schema.createTable('fx_manual_rates', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.specificType('base_currency', 'char(3)').notNullable();
    t.specificType('quote_currency', 'char(3)').notNullable();
    t.date('rate_date').notNullable();
    t.specificType('rate', 'numeric').notNullable();
    t.text('note');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'base_currency', 'quote_currency', 'rate_date']);
  });
  await knex.raw('ALTER TABLE fx_manual_rates ADD CONSTRAINT fx_manual_rates_rate_positive CHECK (rate > 0)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('fx_manual_rates');
  await knex.schema.dropTableIfExists('fx_rates');
}
