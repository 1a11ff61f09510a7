// The plan a subscription fee was billed under (issue 11, adv11): fees.plan_id. Before it, the fee's `item.code`
// was the subscription's CURRENT plan code, so after an upgrade the old plan's fee on the start invoice showed the
// new plan's code. A subscription fee now keeps its own plan (a plan-override child keeps its parent's code, so the
// code shown is unchanged for those); other fees leave it null.
//
// Backfill (existing subscription fees): the plan their invoice's period was rated with, by the same rule as
// db/repositories/plan-changes.ts planIdForPeriod — the from_plan of the first pending or applied change effective
// after the invoice period's start, else the subscription's plan.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('fees', (t) => {
    t.uuid('plan_id').nullable().references('plans.id');
  });
  await knex.raw(`
    UPDATE fees f
       SET plan_id = COALESCE((
             SELECT pc.from_plan_id FROM subscription_plan_changes pc
              WHERE pc.organization_id = i.organization_id AND pc.subscription_id = i.subscription_id
                AND pc.status IN ('pending', 'applied') AND pc.effective_at > i.period_start
              ORDER BY pc.effective_at ASC LIMIT 1), s.plan_id)
      FROM invoices i JOIN subscriptions s ON s.id = i.subscription_id
     WHERE f.invoice_id = i.id AND f.fee_type = 'subscription' AND f.plan_id IS NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('fees', (t) => t.dropColumn('plan_id'));
}
