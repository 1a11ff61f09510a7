// `tax_codes` on customers, plans and charges: resolved to the organization's taxes before anything is written.
// An unknown code answers as Lago does: 404 `tax_not_found` (with the offending field and codes in error_details).
import type { Knex } from 'knex';
import { taxesByCodes, UnknownTaxCodesError, type TaxRecord } from '../../db/repositories/taxes';
import { ApiError } from '../errors';

export async function resolveTaxCodes(db: Knex, organizationId: string, codes: string[], field: string): Promise<TaxRecord[]> {
  try {
    return await taxesByCodes(db, organizationId, codes);
  } catch (err) {
    if (err instanceof UnknownTaxCodesError) throw new ApiError(404, 'tax_not_found', err.message, { [field]: err.codes });
    throw err;
  }
}
