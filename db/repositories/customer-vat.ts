// A customer's VAT number check (VIES answer kept as evidence). Written only if the number is still the one checked.
import type { Knex } from 'knex';

export async function recordVatNumberCheck(
  db: Knex,
  organizationId: string,
  customerId: string,
  checkedNumber: string | null,
  status: 'valid' | 'invalid' | 'unknown' | null,
  evidence: Record<string, unknown>,
  checkedAt: Date,
): Promise<void> {
  await db('customers')
    .where({ organization_id: organizationId, id: customerId })
    .andWhere((q) => (checkedNumber === null ? q.whereNull('tax_identification_number') : q.where('tax_identification_number', checkedNumber)))
    .update({ vat_number_status: status, vat_number_check: JSON.stringify(evidence), vat_number_checked_at: checkedAt });
}
