// Checks a customer's VAT number (format, then VIES through the cached port) and records the answer on the customer
// as evidence (status, VIES reason and consultation number, when). Invoices read the recorded status.
import type { Knex } from 'knex';
import { getCustomersByIds } from '../../db/repositories/customers';
import { recordVatNumberCheck } from '../../db/repositories/customer-vat';
import type { VatNumberChecker, VatNumberVerification } from './checker';

export async function verifyCustomerVatNumber(
  db: Knex,
  checker: VatNumberChecker,
  organizationId: string,
  customerId: string,
  now: Date,
): Promise<VatNumberVerification | null> {
  const customer = (await getCustomersByIds(db, organizationId, [customerId])).get(customerId);
  if (!customer) return null;
  const v = await checker.verify(customer.taxIdentificationNumber);
  const evidence = { reason: v.reason, vies: v.vies };
  await recordVatNumberCheck(db, organizationId, customerId, customer.taxIdentificationNumber, v.status === 'absent' ? null : v.status, evidence, now);
  return v;
}
