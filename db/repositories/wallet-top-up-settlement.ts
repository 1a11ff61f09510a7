// A paid top-up invoice settles its pending purchase: called by recomputeInvoicePayment (payments.ts) — the one
// place an invoice's payment_status becomes `succeeded`, whatever paid it (POST /payments, the Stripe webhook, the
// invoice workflow's provider payment, a credit-note offset) — and by PUT /invoices/:id payment_status succeeded.
// Exactly once: settlePendingTransaction locks the movement and settles only a `pending` one (its entries posted,
// the balance moved, in the caller's transaction). A terminated wallet is not credited: its purchase stays
// pending (an operator refunds or voids the invoice).
import type { Knex } from 'knex';
import { lockWallet, settlePendingTransaction } from './wallets';

type Db = Knex | Knex.Transaction;

/** Settles the pending purchase of a paid top-up invoice (type credit); returns true when it settled now. */
export async function settleTopUpOfPaidInvoice(db: Db, organizationId: string, invoiceId: string, now: Date): Promise<boolean> {
  const pending: { id: string; wallet_id: string } | undefined = await db('wallet_transactions')
    .where({ organization_id: organizationId, invoice_id: invoiceId, transaction_status: 'purchased', status: 'pending' })
    .first('id', 'wallet_id');
  if (!pending) return false;
  return db.transaction(async (trx) => {
    const wallet = await lockWallet(trx, organizationId, pending.wallet_id);
    if (!wallet || wallet.status !== 'active') return false;
    const before = await trx('wallet_transactions').where({ id: pending.id }).first('status');
    if (before?.status !== 'pending') return false;
    await settlePendingTransaction(trx, wallet, pending.id, now);
    return true;
  });
}
