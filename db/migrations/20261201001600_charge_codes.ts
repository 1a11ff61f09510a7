// Lago 1.51's nested charge routes (issue 13: /plans/{code}/charges/{charge_code}[/filters/{filter_id}]).
//
// - charges.code: Lago's "unique code identifying the charge within the plan". Existing charges get their billable
//   metric's code (a second charge of the same metric in a plan: the metric code + `_` + the first 8 characters of
//   its id, so the backfill cannot collide); new ones get the code sent or the same default (api/routes/plans.ts).
//   Unique per plan.
// - Each charge filter (stored in charges.filters, JSON) gets a `lago_id`, Lago's filter_id; edits keep it.
// - plans.revision: bumped by every plan edit, so an edit computed from a stale read (two nested charge edits at
//   once) is refused inside the write transaction and recomputed, never silently lost.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('charges', (t) => {
    t.text('code');
  });
  await knex.raw(`
    UPDATE charges c SET code = s.code
    FROM (
      SELECT c.id,
             CASE WHEN row_number() OVER w = 1 THEN m.code ELSE m.code || '_' || left(c.id::text, 8) END AS code
      FROM charges c JOIN billable_metrics m ON m.id = c.billable_metric_id
      WINDOW w AS (PARTITION BY c.plan_id, m.code ORDER BY c.position, c.id)
    ) s
    WHERE s.id = c.id`);
  await knex.raw('CREATE UNIQUE INDEX charges_plan_code_unique ON charges (organization_id, plan_id, code) WHERE code IS NOT NULL');
  await knex.raw(`
    UPDATE charges SET filters = (
      SELECT coalesce(jsonb_agg(f || jsonb_build_object('lago_id', gen_random_uuid()::text) ORDER BY ord), '[]'::jsonb)
      FROM jsonb_array_elements(filters) WITH ORDINALITY AS e(f, ord)
    )
    WHERE jsonb_array_length(filters) > 0`);
  await knex.schema.alterTable('plans', (t) => {
    t.integer('revision').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('plans', (t) => t.dropColumn('revision'));
  await knex.raw(`
    UPDATE charges SET filters = (
      SELECT coalesce(jsonb_agg(f - 'lago_id' ORDER BY ord), '[]'::jsonb) FROM jsonb_array_elements(filters) WITH ORDINALITY AS e(f, ord)
    )`);
  await knex.raw('DROP INDEX charges_plan_code_unique');
  await knex.schema.alterTable('charges', (t) => t.dropColumn('code'));
}
