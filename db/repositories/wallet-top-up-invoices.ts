// The top-up invoice of paid wallet credits (Lago: paid_credits create an invoice of type `credit`; granted
// credits are immediate). issueTopUpInvoices runs in the transaction that wrote the paid movement(s), on a
// LOCKED wallet: each purchase without an invoice gets one, finalized (numbered, invoice.created queued) at once,
// its id stored on the movement. Idempotent: a replayed top-up returns the first movement, which already names its
// invoice; the invoice is unique on source_key `wallet_transaction:<id>` (migration 20261201001801).
//
// The purchase counts once the invoice is paid when it requires a successful payment (the movement is `pending`,
// without ledger entries, until then — wallet-top-up-settlement.ts settles it), else it was settled when written.
// The invoice's collection (provider payment, dunning) runs in its workflow `invoice:<id>`, which the API starts.
import type { Knex } from 'knex';
import { buildTopUpInvoiceDraft } from '../../billing/wallet-top-up-invoice';
import { finalizeLockedInvoice, lockInvoice, replaceDraftFees } from './invoices';
import type { WalletRecord, WalletTransactionRecord } from './wallets';

export function topUpInvoiceSourceKey(transactionId: string): string {
  return `wallet_transaction:${transactionId}`;
}

async function issueOne(trx: Knex.Transaction, wallet: WalletRecord, tx: WalletTransactionRecord, now: Date): Promise<string> {
  const sourceKey = topUpInvoiceSourceKey(tx.id);
  const inserted: { id: string }[] = await trx('invoices')
    .insert({
      organization_id: wallet.organizationId,
      customer_id: wallet.customerId,
      subscription_id: null,
      invoice_type: 'credit',
      status: 'draft',
      period_start: now,
      period_end: now,
      currency: wallet.currency,
      source_key: sourceKey,
    })
    .onConflict(trx.raw(`(organization_id, source_key) WHERE invoice_type = 'credit'`))
    .ignore()
    .returning('id');
  const id = inserted[0]?.id ?? (await trx('invoices').where({ organization_id: wallet.organizationId, invoice_type: 'credit', source_key: sourceKey }).first('id')).id;
  const locked = await lockInvoice(trx, wallet.organizationId, id);
  if (!locked) throw new Error(`Top-up invoice ${id} vanished`);
  if (locked.status === 'draft') {
    const draft = buildTopUpInvoiceDraft({ currency: wallet.currency, amountCents: tx.amountCents, credits: tx.creditAmount, rateAmount: wallet.rateAmount, walletName: wallet.name, at: now.toISOString() });
    await finalizeLockedInvoice(trx, await replaceDraftFees(trx, locked, draft), { now });
  }
  await trx('wallet_transactions').where({ organization_id: wallet.organizationId, id: tx.id }).whereNull('invoice_id').update({ invoice_id: id });
  tx.invoiceId = id;
  return id;
}

/** Issues the top-up invoice of every paid movement in `transactions` that has none yet; returns the new invoices' ids. */
export async function issueTopUpInvoices(trx: Knex.Transaction, wallet: WalletRecord, transactions: WalletTransactionRecord[], now: Date): Promise<string[]> {
  const ids: string[] = [];
  for (const tx of transactions) {
    if (tx.transactionStatus !== 'purchased' || tx.transactionType !== 'inbound' || tx.invoiceId !== null || tx.amountCents <= 0) continue;
    ids.push(await issueOne(trx, wallet, tx, now));
  }
  return ids;
}
