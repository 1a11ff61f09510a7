// Prepaid credits applied at invoice finalization — the last step of Lago's order (fees → coupons → taxes →
// credit notes → wallets). Called once from finalizeLockedInvoice, inside the finalizing transaction, right
// before the invoice is numbered, on the invoice's total after everything before it.
//
// - Which wallets: the customer's ACTIVE wallets in the invoice currency (expired ones expire first, lazily),
//   locked FOR UPDATE in id order, so two invoices of one customer finalizing at once serialize per wallet and
//   the second sees what the first consumed: never an overspend.
// - How much: billing/wallet.ts allocatePrepaidCredits (W3): by priority, limited by applies_to (fee types:
//   subscription, charge — usage, minimums and adjustments —, commitment; metric codes), each fee counted with
//   its taxes.
// - Idempotent on the invoice: each consumption's business key is `invoice:<id>:wallet:<id>` (unique), and an
//   invoice that already carries prepaid credits is left as it is; a finalization retried after a rollback
//   rolls back its consumption with it.
import type { Knex } from 'knex';
import { allocatePrepaidCredits, centsToCredits, type CreditableFee, type WalletFeeType } from '../../billing/wallet';
import { expireWalletIfDue } from './wallet-topups';
import { invoiceForCredits, lockActiveWalletsOfCustomer, postMovement, recordInvoicePrepaidCredits } from './wallets';

function walletFeeTypeOf(feeType: string): WalletFeeType {
  if (feeType === 'subscription') return 'subscription';
  if (feeType === 'minimum_commitment') return 'commitment';
  return 'charge';
}

/** Applies the customer's wallets to a draft invoice being finalized in `trx`. Returns the cents they paid. */
export async function applyPrepaidCredits(trx: Knex.Transaction, organizationId: string, invoiceId: string, now: Date): Promise<number> {
  const inv = await invoiceForCredits(trx, organizationId, invoiceId);
  if (inv.prepaidCreditAmountCents > 0 || inv.totalAmountCents <= 0) return inv.prepaidCreditAmountCents;
  // A top-up invoice (type credit) buys credits: it is never paid with them (Lago).
  if (inv.invoiceType === 'credit') return 0;
  const wallets = [];
  for (const w of await lockActiveWalletsOfCustomer(trx, organizationId, inv.customerId, inv.currency)) {
    if (!(await expireWalletIfDue(trx, w, now))) wallets.push(w);
  }
  if (wallets.length === 0) return 0;
  const fees: CreditableFee[] = inv.fees.map((f) => ({
    id: f.id,
    walletFeeType: walletFeeTypeOf(f.feeType),
    metricCode: f.metricCode,
    dueCents: f.amountCents + f.taxesAmountCents,
  }));
  const allocations = allocatePrepaidCredits(
    inv.totalAmountCents,
    fees,
    wallets.map((w) => ({ id: w.id, priority: w.priority, createdAt: w.createdAt, balanceCents: w.balanceCents, feeTypes: w.feeTypes, billableMetricCodes: w.billableMetricCodes })),
  );
  let paid = 0;
  for (const a of allocations) {
    const w = wallets.find((x) => x.id === a.walletId)!;
    await postMovement(trx, w, {
      transactionType: 'outbound', transactionStatus: 'invoiced', status: 'settled', source: 'manual',
      amountCents: a.amountCents, creditAmount: centsToCredits(a.amountCents, w.rateAmount, w.currency), counterAccount: 'consumption',
      invoiceId, businessKey: `invoice:${invoiceId}:wallet:${w.id}`,
    }, now);
    paid += a.amountCents;
  }
  await recordInvoicePrepaidCredits(trx, organizationId, invoiceId, paid);
  return paid;
}
