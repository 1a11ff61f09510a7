// The row lock that serializes edits of one catalog plan and the cascade to its override children (issue 11, adv11c;
// api/services/plan-edit-transaction.ts). Taken first in the edit's transaction, so a second edit of the same plan
// (PUT /plans/:code, the nested charge and filter routes) waits for the first to commit and then reads its result.
import type { Knex } from 'knex';

/** Locks the catalog plan `code` (not a child, not deleted) FOR UPDATE in `trx`; false when there is none. */
export async function lockCatalogPlanForEdit(trx: Knex.Transaction, organizationId: string, code: string): Promise<boolean> {
  const row = await trx('plans').where({ organization_id: organizationId, code }).whereNull('deleted_at').whereNull('parent_id').forUpdate().first('id');
  return row !== undefined;
}
