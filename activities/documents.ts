// The invoice PDF as an activity, for the invoice workflow to call right after finalization (the hook is the
// integrator's: after `finalizeInvoice`, behind `patched('invoice-pdf')`). Idempotent: the document is rendered
// and recorded once per invoice (documents/invoice-document.ts); a retry after a crash re-renders identical bytes.
// A draft or a missing invoice is a business failure (non-retryable); storage faults retry.
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { DocumentError, ensureInvoiceDocument } from '../documents/invoice-document';
import type { DocumentStore } from '../documents/storage';
import type { InvoiceRef } from './types';

export interface DocumentActivityDeps {
  db: Knex;
  store: DocumentStore;
}

export interface InvoicePdfResult {
  storageKey: string;
  sha256: string;
  byteSize: number;
}

export function createDocumentActivities(deps: DocumentActivityDeps) {
  return {
    async generateInvoicePdf(ref: InvoiceRef): Promise<InvoicePdfResult> {
      try {
        const doc = await ensureInvoiceDocument(deps.db, deps.store, ref.organizationId, ref.invoiceId);
        return { storageKey: doc.storageKey, sha256: doc.sha256, byteSize: doc.byteSize };
      } catch (err) {
        if (err instanceof DocumentError) throw ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: true, cause: err });
        throw err;
      }
    },
  };
}

export type DocumentActivities = ReturnType<typeof createDocumentActivities>;
