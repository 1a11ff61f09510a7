// The fees credit notes' items name, as their invoice shows them (Lago's CreditNoteItemObject carries its `fee`).
import type { Knex } from 'knex';
import type { CreditNoteRecord } from '../../db/repositories/credit-notes';
import { lagoFeesById } from './fees-by-ref';

export function creditNoteFees(db: Knex, organizationId: string, defaultTimezone: string, notes: CreditNoteRecord[]): Promise<Map<string, unknown>> {
  return lagoFeesById(db, organizationId, defaultTimezone, notes.flatMap((n) => n.items.map((i) => ({ feeId: i.feeId, invoiceId: n.invoiceId }))));
}
