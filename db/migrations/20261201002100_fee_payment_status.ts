// Lago's PUT /fees/:lago_id (issue 13): the payment status of a fee that is on no invoice (a pay-in-advance
// charge's fee with `invoiceable: false`, Lago's instant fee) is set by the API. pay_in_advance_fees.payment_status
// exists (20261201000700); this adds when the current status was reached (Lago's succeeded_at / failed_at /
// refunded_at: only the current status's timestamp is set) and updated_at. The index serves GET /fees, which lists
// these fees newest first beside the invoices' fees.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('pay_in_advance_fees', (t) => {
    t.timestamp('succeeded_at', { useTz: true });
    t.timestamp('failed_at', { useTz: true });
    t.timestamp('refunded_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['organization_id', 'created_at'], 'pay_in_advance_fees_org_created_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('pay_in_advance_fees', (t) => {
    t.dropIndex(['organization_id', 'created_at'], 'pay_in_advance_fees_org_created_idx');
    t.dropColumns('succeeded_at', 'failed_at', 'refunded_at', 'updated_at');
  });
}
