// Which inbound wallet transactions funded which outbound ones (Lago 1.51's consumptions / fundings: GET
// /wallet_transactions/:id/consumptions and /fundings), table wallet_transaction_consumptions (migration
// 20261202000400).
//
// Meterline's wallet is one balance (a ledger in minor units, db/repositories/wallets.ts); which credits an
// outbound movement spends is decided here, FIFO: the oldest settled inbound credits first (by settled_at, then
// id), each inbound at most its own amount. pairOutbound runs in the movement's transaction, on the wallet the
// caller locked, so two movements never spend the same inbound cents.
//
// No backfill: outbound movements written before this table existed have no rows. They spent credits all the
// same, so the inbound amounts still unpaired can exceed the balance before the movement; the excess is taken as
// spent from the oldest inbound transactions first (what FIFO would have spent) and never paired again. Those old
// outbound transactions answer an empty list of fundings.
import type { Knex } from 'knex';
import { centsToCredits } from '../../billing/wallet';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;


/** Pairs an outbound movement of `amountCents` with the inbound credits it spends (FIFO). Idempotent per pair. */
export async function pairOutbound(
  trx: Knex.Transaction,
  wallet: { id: string; organizationId: string; rateAmount: string; currency: string },
  outboundTransactionId: string,
  amountCents: number,
  balanceBeforeCents: number,
  now: Date,
): Promise<void> {
  const rows: { id: string; amount_cents: string; paired: string }[] = await trx('wallet_transactions as t')
    .leftJoin('wallet_transaction_consumptions as c', 'c.inbound_transaction_id', 't.id')
    .where({ 't.organization_id': wallet.organizationId, 't.wallet_id': wallet.id, 't.transaction_type': 'inbound', 't.status': 'settled' })
    .groupBy('t.id', 't.amount_cents', 't.settled_at')
    .orderBy([{ column: 't.settled_at' }, { column: 't.id' }])
    .select('t.id', 't.amount_cents', trx.raw('coalesce(sum(c.amount_cents), 0)::bigint as paired'));
  const remaining = rows.map((r) => ({ id: r.id, cents: minorUnits(r.amount_cents, 'amount_cents') - minorUnits(r.paired, 'paired') })).filter((r) => r.cents > 0);
  let unpairedSpent = Math.max(0, remaining.reduce((s, r) => s + r.cents, 0) - balanceBeforeCents);
  let left = amountCents;
  const pairs: { inbound: string; cents: number }[] = [];
  for (const r of remaining) {
    let available = r.cents;
    const skipped = Math.min(available, unpairedSpent);
    available -= skipped;
    unpairedSpent -= skipped;
    if (available <= 0 || left <= 0) continue;
    const take = Math.min(available, left);
    pairs.push({ inbound: r.id, cents: take });
    left -= take;
  }
  if (pairs.length === 0) return;
  await trx('wallet_transaction_consumptions')
    .insert(pairs.map((p) => ({
      organization_id: wallet.organizationId,
      wallet_id: wallet.id,
      inbound_transaction_id: p.inbound,
      outbound_transaction_id: outboundTransactionId,
      amount_cents: p.cents,
      credit_amount: centsToCredits(p.cents, wallet.rateAmount, wallet.currency),
      created_at: now,
    })))
    .onConflict(['inbound_transaction_id', 'outbound_transaction_id'])
    .ignore();
}

export interface TracePair {
  id: string;
  amountCents: number;
  creditAmount: string;
  createdAt: string;
  /** The other side: the outbound transaction (consumptions) or the inbound one (fundings). */
  transactionId: string;
}

async function pairsBy(db: Db, organizationId: string, side: 'inbound_transaction_id' | 'outbound_transaction_id', id: string, page: { page: number; perPage: number }) {
  const other = side === 'inbound_transaction_id' ? 'outbound_transaction_id' : 'inbound_transaction_id';
  const base = db('wallet_transaction_consumptions').where({ organization_id: organizationId, [side]: id });
  const count = await base.clone().count<{ n: string }[]>('* as n');
  const rows = await base.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(page.perPage).offset((page.page - 1) * page.perPage).select('*');
  const pairs: TracePair[] = rows.map((r: any) => ({
    id: r.id,
    amountCents: minorUnits(r.amount_cents, 'amount_cents'),
    creditAmount: String(r.credit_amount).includes('.') ? String(r.credit_amount).replace(/0+$/, '').replace(/\.$/, '') : String(r.credit_amount),
    createdAt: r.created_at.toISOString(),
    transactionId: r[other],
  }));
  return { pairs, totalCount: Number(count[0]!.n) };
}

/** How an inbound transaction's credits were spent (its consumptions), oldest first. */
export function consumptionsOfInbound(db: Db, organizationId: string, inboundId: string, page: { page: number; perPage: number }) {
  return pairsBy(db, organizationId, 'inbound_transaction_id', inboundId, page);
}

/** Which inbound transactions funded an outbound one (its fundings), oldest first. */
export function fundingsOfOutbound(db: Db, organizationId: string, outboundId: string, page: { page: number; perPage: number }) {
  return pairsBy(db, organizationId, 'outbound_transaction_id', outboundId, page);
}
