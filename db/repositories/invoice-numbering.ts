// Invoice numbering per billing entity (entity13, issue 13; Lago 1.51's Invoice#ensure_number). An invoice is numbered
// by the entity that issues it (invoices.billing_entity_code, its customer's entity when the draft was created):
//
// | entity's document_numbering | number                                   | sequence (gap-free, never resets)          |
// |-----------------------------|------------------------------------------|--------------------------------------------|
// | per_billing_entity, default | `<ORG>-<YYYYMM>-<SEQ 6>` (unchanged)     | invoice_sequences (the organization's row) |
// | per_billing_entity, other   | `<PREFIX>-<YYYYMM>-<SEQ 6>`              | organization_counters `invoice:billing_entity:<code>` |
// | per_customer (any entity)   | `<PREFIX>-<CUSTOMER SEQ 3>-<SEQ 3>`      | organization_counters `invoice:customer:<customer id>:<code>` |
//
// ORG is formatInvoiceNumber's prefix from the organization's slug (the default entity's document_number_prefix);
// PREFIX is the entity's document_number_prefix; YYYYMM the issuing month; SEQ zero-padded to at least 6 digits
// (Meterline's shape since the first invoice; Lago pads to 3) and per_customer's parts to at least 3 (Lago's). The
// counter row is bumped in the same statement that writes the number (see finalizeLockedInvoice), so concurrent
// finalizations of one entity serialize on that row and an aborted one leaves no gap.
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';

/** `<PREFIX>-<YYYYMM>-<SEQ>`: PREFIX the first 3 alphanumerics of the slug, upper-cased (`ML` when none). */
export function formatInvoiceNumber(orgSlug: string, issuingDate: string, sequence: number): string {
  const prefix = organizationDocumentPrefix(orgSlug);
  const yyyymm = issuingDate.slice(0, 4) + issuingDate.slice(5, 7);
  return `${prefix}-${yyyymm}-${String(sequence).padStart(6, '0')}`;
}

/** The default entity's document_number_prefix, from the organization's slug. */
export function organizationDocumentPrefix(orgSlug: string): string {
  return orgSlug.replace(/[^A-Za-z0-9]/g, '').slice(0, 3).toUpperCase() || 'ML';
}

/** What finalization needs to know about the invoice's issuer and customer. */
export interface IssuerContext {
  slug: string;
  customer_tz: string | null;
  entity_tz: string;
  customer_sequential_id: string | number;
  billing_entity_code: string;
  is_default: boolean;
  document_numbering: 'per_customer' | 'per_billing_entity';
  document_number_prefix: string | null;
}

export async function issuerContext(trx: Knex.Transaction, organizationId: string, invoiceId: string): Promise<IssuerContext> {
  const ctx: IssuerContext | undefined = await trx('invoices as i')
    .join('customers as c', function join() {
      this.on('c.id', '=', 'i.customer_id').andOn('c.organization_id', '=', 'i.organization_id');
    })
    .join('organizations as o', 'o.id', 'i.organization_id')
    .join('billing_entities as be', function join() {
      this.on('be.organization_id', '=', 'i.organization_id').andOn('be.code', '=', 'i.billing_entity_code');
    })
    .join('billing_entity_settings as bes', function join() {
      this.on('bes.organization_id', '=', 'be.organization_id').andOn('bes.code', '=', 'be.code');
    })
    .where({ 'i.organization_id': organizationId, 'i.id': invoiceId })
    .first(
      'o.slug', 'c.timezone as customer_tz', 'bes.timezone as entity_tz', 'c.sequential_id as customer_sequential_id',
      'be.code as billing_entity_code', 'be.is_default', 'be.document_numbering', 'be.document_number_prefix',
    );
  if (!ctx) throw new BillingError('customer_not_found', `Customer of invoice ${invoiceId} not found`, 'customer_id');
  return ctx;
}

/**
 * The sequence to bump and the number's text before the sequence, as one SQL fragment `seq(last_number)` for the
 * finalizing statement's WITH clause, its bindings, the number's prefix and the sequence's minimum width.
 */
export function invoiceNumbering(
  ctx: IssuerContext,
  organizationId: string,
  customerId: string,
  issuingDate: string,
): { seqSql: string; seqBindings: string[]; prefix: string; width: number } {
  // A non-default entity always has its prefix (CHECK billing_entities_other_has_prefix).
  const entityPrefix = ctx.is_default || ctx.document_number_prefix === null ? organizationDocumentPrefix(ctx.slug) : ctx.document_number_prefix;
  const counter = `INSERT INTO organization_counters AS c (organization_id, name, last_value) VALUES (?, ?, 1)
       ON CONFLICT (organization_id, name) DO UPDATE SET last_value = c.last_value + 1
       RETURNING last_value AS last_number`;
  if (ctx.document_numbering === 'per_customer') {
    const customerPart = String(ctx.customer_sequential_id).padStart(3, '0');
    return { seqSql: counter, seqBindings: [organizationId, `invoice:customer:${customerId}:${ctx.billing_entity_code}`], prefix: `${entityPrefix}-${customerPart}-`, width: 3 };
  }
  const month = `${issuingDate.slice(0, 4)}${issuingDate.slice(5, 7)}`;
  if (ctx.is_default) {
    return {
      seqSql: `INSERT INTO invoice_sequences (organization_id, last_number) VALUES (?, 1)
       ON CONFLICT (organization_id) DO UPDATE SET last_number = invoice_sequences.last_number + 1
       RETURNING last_number`,
      seqBindings: [organizationId],
      prefix: `${entityPrefix}-${month}-`,
      width: 6,
    };
  }
  return { seqSql: counter, seqBindings: [organizationId, `invoice:billing_entity:${ctx.billing_entity_code}`], prefix: `${entityPrefix}-${month}-`, width: 6 };
}
