// Test clocks (issue 11c): a sandbox clock an operator or a test advances through the API. A subscription
// attached to one (at creation) lives on its time: its workflow waits on the clock instead of timers, its
// invoices are issued on the clock's date, its events default to the clock's time. frozen_time only moves
// forward. Also the indexes the fleet Schedules (sweeper, draft finalization, overdue checks) read by.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('test_clocks', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('organization_id').notNullable().references('organizations.id');
    t.text('name');
    t.timestamp('frozen_time', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'created_at']);
  });
  await knex.schema.alterTable('subscriptions', (t) => {
    t.uuid('test_clock_id').references('test_clocks.id');
    t.index(['test_clock_id']);
    t.index(['organization_id', 'status']);
  });
  // Draft finalization and overdue sweeps.
  await knex.raw(`CREATE INDEX invoices_drafts_idx ON invoices (organization_id, created_at) WHERE status = 'draft'`);
  await knex.raw(
    `CREATE INDEX invoices_overdue_candidates_idx ON invoices (organization_id, payment_due_date)
       WHERE status = 'finalized' AND payment_overdue = false AND payment_status <> 'succeeded' AND voided_at IS NULL`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS invoices_overdue_candidates_idx');
  await knex.raw('DROP INDEX IF EXISTS invoices_drafts_idx');
  await knex.schema.alterTable('subscriptions', (t) => {
    t.dropIndex(['organization_id', 'status']);
    t.dropIndex(['test_clock_id']);
    t.dropColumn('test_clock_id');
  });
  await knex.schema.dropTable('test_clocks');
}
