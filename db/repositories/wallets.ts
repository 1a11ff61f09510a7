// Wallets, wallet transactions and the double-entry credit ledger (migration 20261201001000_wallets).
//
// The ledger: every SETTLED movement is one wallet_transactions row and two wallet_ledger_entries rows that sum
// to zero — the wallet's own account (`wallet`, + = credits owed to the customer) against one counter-account
// (purchases, grants, consumption, expiry, voids, refunds). wallets.balance_cents is a cache of Σ `wallet`
// entries, updated in the same statement sequence (postMovement) and checked at commit by the deferred triggers
// of the migration (sum per movement = 0; cache = Σ entries; balance ≥ 0). Pending movements (paid credits that
// wait for their payment) have no entries until settled.
//
// Concurrency: every movement locks its wallet row first (SELECT … FOR UPDATE, lockWallet); a consumption reads
// the balance under that lock, so concurrent finalizations of one customer's invoices serialize per wallet and
// can never overspend (the CHECK balance_cents >= 0 is the last line of defence). Lock order: invoice, then
// subscription, then wallets by id.
//
// Idempotency: unique (organization_id, business_key) — postMovement with a key already used returns the first
// movement and posts nothing.
import type { Knex } from 'knex';
import { BillingError } from '../../billing/errors';
import type { WalletFeeType } from '../../billing/wallet';
import { evaluateWalletBalanceAlerts, evaluateWalletOngoingAlerts } from './wallet-alerts';
import { pairOutbound } from './wallet-traces';
import { minorUnits } from './minor-units';

type Db = Knex | Knex.Transaction;

export type WalletStatus = 'active' | 'terminated';
export type TransactionType = 'inbound' | 'outbound';
export type TransactionStatus = 'purchased' | 'granted' | 'voided' | 'invoiced' | 'expired';
export type MovementStatus = 'pending' | 'settled' | 'failed';
export type TransactionSource = 'manual' | 'interval' | 'threshold' | 'expiration' | 'termination';
export type CounterAccount = 'purchases' | 'grants' | 'consumption' | 'expiry' | 'voids' | 'refunds';

export interface MetadataPair {
  key: string;
  value: string;
}

export interface RecurringRuleRecord {
  id: string;
  walletId: string;
  trigger: 'interval' | 'threshold';
  method: 'fixed' | 'target';
  interval: string | null;
  thresholdCredits: string | null;
  paidCredits: string;
  grantedCredits: string;
  targetOngoingBalance: string | null;
  grantsTargetTopUp: boolean;
  invoiceRequiresSuccessfulPayment: boolean;
  transactionName: string | null;
  transactionMetadata: MetadataPair[];
  startedAt: string | null;
  expirationAt: string | null;
  status: 'active' | 'terminated';
  createdAt: string;
}

export interface WalletRecord {
  id: string;
  /** Lago's metadata (db/repositories/object-metadata.ts); null until set. */
  metadata?: Record<string, string | null> | null;
  organizationId: string;
  customerId: string;
  externalCustomerId: string;
  /** The customer's billing entity (Lago 1.51's WalletObject billing_entity_code). */
  billingEntityCode: string;
  name: string | null;
  code: string | null;
  status: WalletStatus;
  currency: string;
  /** Decimal string: currency units per credit. */
  rateAmount: string;
  priority: number;
  expirationAt: string | null;
  terminatedAt: string | null;
  invoiceRequiresSuccessfulPayment: boolean;
  feeTypes: WalletFeeType[] | null;
  billableMetricCodes: string[] | null;
  balanceCents: number;
  /** Σ of consumption entries (what invoices took), minor units. */
  consumedCents: number;
  ongoingUsageBalanceCents: number;
  ongoingBalanceCents: number;
  ongoingBalanceConfirmedAt: string | null;
  depletionsCount: number;
  lastBalanceSyncAt: string | null;
  lastConsumedCreditAt: string | null;
  createdAt: string;
  updatedAt: string;
  rules: RecurringRuleRecord[];
}

export interface WalletTransactionRecord {
  id: string;
  walletId: string;
  transactionType: TransactionType;
  transactionStatus: TransactionStatus;
  status: MovementStatus;
  source: TransactionSource;
  amountCents: number;
  creditAmount: string;
  invoiceId: string | null;
  ruleId: string | null;
  name: string | null;
  metadata: MetadataPair[];
  invoiceRequiresSuccessfulPayment: boolean;
  settledAt: string | null;
  failedAt: string | null;
  createdAt: string;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);


/** numeric → canonical decimal string (no trailing zeros). */
function num(v: string | null): string | null {
  if (v === null) return null;
  if (!v.includes('.')) return v;
  const t = v.replace(/0+$/, '').replace(/\.$/, '');
  return t === '-0' ? '0' : t;
}

function ruleFromRow(r: any): RecurringRuleRecord {
  return {
    id: r.id,
    walletId: r.wallet_id,
    trigger: r.trigger,
    method: r.method,
    interval: r.interval,
    thresholdCredits: num(r.threshold_credits),
    paidCredits: num(r.paid_credits)!,
    grantedCredits: num(r.granted_credits)!,
    targetOngoingBalance: num(r.target_ongoing_balance),
    grantsTargetTopUp: r.grants_target_top_up,
    invoiceRequiresSuccessfulPayment: r.invoice_requires_successful_payment,
    transactionName: r.transaction_name,
    transactionMetadata: r.transaction_metadata ?? [],
    startedAt: iso(r.started_at),
    expirationAt: iso(r.expiration_at),
    status: r.status,
    createdAt: iso(r.created_at)!,
  };
}

function walletFromRow(r: any, rules: RecurringRuleRecord[]): WalletRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    customerId: r.customer_id,
    externalCustomerId: r.external_customer_id,
    billingEntityCode: r.billing_entity_code,
    name: r.name,
    code: r.code,
    status: r.status,
    currency: String(r.currency).trim(),
    rateAmount: num(r.rate_amount)!,
    priority: r.priority,
    expirationAt: iso(r.expiration_at),
    terminatedAt: iso(r.terminated_at),
    invoiceRequiresSuccessfulPayment: r.invoice_requires_successful_payment,
    feeTypes: r.applies_to_fee_types,
    billableMetricCodes: r.applies_to_billable_metric_codes,
    balanceCents: minorUnits(r.balance_cents, 'balance_cents'),
    consumedCents: minorUnits(r.consumed_cents ?? 0, 'consumed_cents'),
    ongoingUsageBalanceCents: minorUnits(r.ongoing_usage_balance_cents, 'ongoing_usage_balance_cents'),
    ongoingBalanceCents: minorUnits(r.ongoing_balance_cents, 'ongoing_balance_cents'),
    ongoingBalanceConfirmedAt: iso(r.ongoing_balance_confirmed_at),
    depletionsCount: r.depletions_count,
    lastBalanceSyncAt: iso(r.last_balance_sync_at),
    lastConsumedCreditAt: iso(r.last_consumed_credit_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    rules,
    metadata: r.metadata ?? null,
  };
}

function transactionFromRow(r: any): WalletTransactionRecord {
  return {
    id: r.id,
    walletId: r.wallet_id,
    transactionType: r.transaction_type,
    transactionStatus: r.transaction_status,
    status: r.status,
    source: r.source,
    amountCents: minorUnits(r.amount_cents, 'amount_cents'),
    creditAmount: num(r.credit_amount)!,
    invoiceId: r.invoice_id,
    ruleId: r.rule_id,
    name: r.name,
    metadata: r.metadata ?? [],
    invoiceRequiresSuccessfulPayment: r.invoice_requires_successful_payment,
    settledAt: iso(r.settled_at),
    failedAt: iso(r.failed_at),
    createdAt: iso(r.created_at)!,
  };
}

function walletQuery(db: Db, organizationId: string) {
  return db('wallets as w')
    .join('customers as c', function on() {
      this.on('c.id', '=', 'w.customer_id').andOn('c.organization_id', '=', 'w.organization_id');
    })
    .where('w.organization_id', organizationId)
    .select(
      'w.*',
      'c.external_id as external_customer_id',
      'c.billing_entity_code',
      db.raw(
        `(SELECT coalesce(sum(e.amount_cents), 0) FROM wallet_ledger_entries e WHERE e.wallet_id = w.id AND e.account = 'consumption')::bigint AS consumed_cents`,
      ),
    );
}

async function withRules(db: Db, organizationId: string, rows: any[]): Promise<WalletRecord[]> {
  if (rows.length === 0) return [];
  const rules = await db('wallet_recurring_transaction_rules')
    .where({ organization_id: organizationId })
    .whereIn('wallet_id', rows.map((r) => r.id))
    .orderBy('created_at');
  return rows.map((r) => walletFromRow(r, rules.filter((x: any) => x.wallet_id === r.id).map(ruleFromRow)));
}

export async function getWallet(db: Db, organizationId: string, walletId: string): Promise<WalletRecord | null> {
  if (!UUID_RE.test(walletId)) return null;
  const row = await walletQuery(db, organizationId).where('w.id', walletId).first();
  return row ? (await withRules(db, organizationId, [row]))[0]! : null;
}

/** Locks the wallet row (FOR UPDATE) and returns it; null when it does not exist in the organization. */
export async function lockWallet(trx: Knex.Transaction, organizationId: string, walletId: string): Promise<WalletRecord | null> {
  if (!UUID_RE.test(walletId)) return null;
  const locked = await trx('wallets').where({ organization_id: organizationId, id: walletId }).forUpdate().first('id');
  if (!locked) return null;
  return getWallet(trx, organizationId, walletId);
}

export async function listWallets(
  db: Db,
  organizationId: string,
  filter: { externalCustomerId?: string; billingEntityCodes?: string[]; page: number; perPage: number },
): Promise<{ wallets: WalletRecord[]; totalCount: number }> {
  const base = walletQuery(db, organizationId);
  if (filter.externalCustomerId !== undefined) base.where('c.external_id', filter.externalCustomerId);
  if (filter.billingEntityCodes && filter.billingEntityCodes.length > 0) base.whereIn('c.billing_entity_code', filter.billingEntityCodes);
  const count = await db.from(base.clone().as('x')).count<{ n: string }[]>('* as n');
  const rows = await base.orderBy([{ column: 'w.created_at' }, { column: 'w.id' }]).limit(filter.perPage).offset((filter.page - 1) * filter.perPage);
  return { wallets: await withRules(db, organizationId, rows), totalCount: Number(count[0]!.n) };
}

/** The customer's active wallets, locked FOR UPDATE in id order (the consumption path). */
export async function lockActiveWalletsOfCustomer(trx: Knex.Transaction, organizationId: string, customerId: string, currency: string): Promise<WalletRecord[]> {
  const ids: { id: string }[] = await trx('wallets')
    .where({ organization_id: organizationId, customer_id: customerId, status: 'active', currency })
    .orderBy('id')
    .forUpdate()
    .select('id');
  if (ids.length === 0) return [];
  const rows = await walletQuery(trx, organizationId).whereIn('w.id', ids.map((r) => r.id));
  return withRules(trx, organizationId, rows);
}

export async function activeWalletIdsOfCustomer(db: Db, organizationId: string, customerId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('wallets').where({ organization_id: organizationId, customer_id: customerId, status: 'active' }).orderBy('id').select('id');
  return rows.map((r) => r.id);
}

export interface NewWallet {
  customerId: string;
  name: string | null;
  code: string | null;
  currency: string;
  rateAmount: string;
  priority: number;
  expirationAt: string | null;
  invoiceRequiresSuccessfulPayment: boolean;
  feeTypes: WalletFeeType[] | null;
  billableMetricCodes: string[] | null;
}

export class DuplicateWalletCodeError extends Error {}

export async function insertWallet(trx: Knex.Transaction, organizationId: string, w: NewWallet): Promise<string> {
  try {
    const [row] = await trx('wallets')
      .insert({
        organization_id: organizationId,
        customer_id: w.customerId,
        name: w.name,
        code: w.code,
        currency: w.currency,
        rate_amount: w.rateAmount,
        priority: w.priority,
        expiration_at: w.expirationAt,
        invoice_requires_successful_payment: w.invoiceRequiresSuccessfulPayment,
        applies_to_fee_types: w.feeTypes === null ? null : JSON.stringify(w.feeTypes),
        applies_to_billable_metric_codes: w.billableMetricCodes === null ? null : JSON.stringify(w.billableMetricCodes),
      })
      .returning('id');
    return row.id as string;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new DuplicateWalletCodeError('wallet code already used');
    throw err;
  }
}

export interface WalletPatch {
  name?: string | null;
  priority?: number;
  expirationAt?: string | null;
  invoiceRequiresSuccessfulPayment?: boolean;
  feeTypes?: WalletFeeType[] | null;
  billableMetricCodes?: string[] | null;
}

export async function updateWalletRow(trx: Knex.Transaction, organizationId: string, walletId: string, p: WalletPatch): Promise<void> {
  const set: Record<string, unknown> = { updated_at: trx.fn.now() };
  if (p.name !== undefined) set.name = p.name;
  if (p.priority !== undefined) set.priority = p.priority;
  if (p.expirationAt !== undefined) set.expiration_at = p.expirationAt;
  if (p.invoiceRequiresSuccessfulPayment !== undefined) set.invoice_requires_successful_payment = p.invoiceRequiresSuccessfulPayment;
  if (p.feeTypes !== undefined) set.applies_to_fee_types = p.feeTypes === null ? null : JSON.stringify(p.feeTypes);
  if (p.billableMetricCodes !== undefined) set.applies_to_billable_metric_codes = p.billableMetricCodes === null ? null : JSON.stringify(p.billableMetricCodes);
  await trx('wallets').where({ organization_id: organizationId, id: walletId }).update(set);
}

export async function markWalletTerminated(trx: Knex.Transaction, organizationId: string, walletId: string, now: Date): Promise<void> {
  await trx('wallets').where({ organization_id: organizationId, id: walletId }).update({ status: 'terminated', terminated_at: now, updated_at: now });
  await trx('wallet_recurring_transaction_rules').where({ organization_id: organizationId, wallet_id: walletId }).update({ status: 'terminated' });
}

export interface NewRule {
  trigger: 'interval' | 'threshold';
  method: 'fixed' | 'target';
  interval: string | null;
  thresholdCredits: string | null;
  paidCredits: string;
  grantedCredits: string;
  targetOngoingBalance: string | null;
  grantsTargetTopUp: boolean;
  invoiceRequiresSuccessfulPayment: boolean;
  transactionName: string | null;
  transactionMetadata: MetadataPair[];
  startedAt: string | null;
  expirationAt: string | null;
}

/** Replaces the wallet's rules (Lago allows one recurring rule per wallet; an update sends the full list). */
export async function replaceRules(trx: Knex.Transaction, organizationId: string, walletId: string, rules: NewRule[]): Promise<void> {
  await trx('wallet_recurring_transaction_rules')
    .where({ organization_id: organizationId, wallet_id: walletId, status: 'active' })
    .update({ status: 'terminated' });
  for (const r of rules) {
    await trx('wallet_recurring_transaction_rules').insert({
      organization_id: organizationId,
      wallet_id: walletId,
      trigger: r.trigger,
      method: r.method,
      interval: r.interval,
      threshold_credits: r.thresholdCredits,
      paid_credits: r.paidCredits,
      granted_credits: r.grantedCredits,
      target_ongoing_balance: r.targetOngoingBalance,
      grants_target_top_up: r.grantsTargetTopUp,
      invoice_requires_successful_payment: r.invoiceRequiresSuccessfulPayment,
      transaction_name: r.transactionName,
      transaction_metadata: JSON.stringify(r.transactionMetadata),
      started_at: r.startedAt,
      expiration_at: r.expirationAt,
    });
  }
}

// ---- the ledger ----------------------------------------------------------------------------------------------

export interface Movement {
  transactionType: TransactionType;
  transactionStatus: TransactionStatus;
  status: 'pending' | 'settled';
  source: TransactionSource;
  /** > 0 for every real movement (a zero movement is never written). */
  amountCents: number;
  creditAmount: string;
  counterAccount: CounterAccount;
  invoiceId?: string | null;
  ruleId?: string | null;
  name?: string | null;
  metadata?: MetadataPair[];
  invoiceRequiresSuccessfulPayment?: boolean;
  businessKey: string;
}

async function postEntries(trx: Knex.Transaction, wallet: WalletRecord, txId: string, type: TransactionType, account: CounterAccount, amountCents: number, now: Date): Promise<void> {
  const delta = type === 'inbound' ? amountCents : -amountCents;
  await trx('wallet_ledger_entries').insert([
    { organization_id: wallet.organizationId, wallet_id: wallet.id, transaction_id: txId, account: 'wallet', amount_cents: delta },
    { organization_id: wallet.organizationId, wallet_id: wallet.id, transaction_id: txId, account, amount_cents: -delta },
  ]);
  const set: Record<string, unknown> = { balance_cents: trx.raw('balance_cents + ?', [delta]), updated_at: now };
  if (type === 'inbound') set.last_balance_sync_at = now;
  if (account === 'consumption') set.last_consumed_credit_at = now;
  const updated = await trx('wallets').where({ id: wallet.id, organization_id: wallet.organizationId }).update(set).returning('balance_cents');
  const balanceAfter = minorUnits(updated[0]!.balance_cents, 'balance_cents');
  if (balanceAfter < 0) {
    throw new BillingError('invalid_amount', `Wallet ${wallet.id} would go below zero`, 'amount');
  }
  // ops13d (issue 13): which inbound credits an outbound movement spent (FIFO), and the wallet's balance alerts.
  if (type === 'outbound') await pairOutbound(trx, wallet, txId, amountCents, balanceAfter + amountCents, now);
  await evaluateWalletBalanceAlerts(trx, { ...wallet, balanceCents: balanceAfter }, `tx:${txId}`, now);
}

/**
 * Writes one movement on a wallet the caller LOCKED (lockWallet) in `trx`. Idempotent on businessKey: a second
 * call returns the first movement, posts nothing. A settled movement posts its two entries and moves the cached
 * balance; an outbound one larger than the balance is refused (invalid_amount) before anything is written.
 */
export async function postMovement(
  trx: Knex.Transaction,
  wallet: WalletRecord,
  m: Movement,
  now: Date,
): Promise<{ transaction: WalletTransactionRecord; created: boolean }> {
  if (!Number.isSafeInteger(m.amountCents) || m.amountCents < 0) throw new BillingError('invalid_amount', 'amount must be ≥ 0 cents', 'amount');
  if (m.status === 'settled' && m.transactionType === 'outbound' && m.amountCents > wallet.balanceCents) {
    throw new BillingError('invalid_amount', `Wallet ${wallet.id} holds ${wallet.balanceCents}, cannot take ${m.amountCents}`, 'amount');
  }
  const inserted = await trx('wallet_transactions')
    .insert({
      organization_id: wallet.organizationId,
      wallet_id: wallet.id,
      transaction_type: m.transactionType,
      transaction_status: m.transactionStatus,
      status: m.status,
      source: m.source,
      amount_cents: m.amountCents,
      credit_amount: m.creditAmount,
      invoice_id: m.invoiceId ?? null,
      rule_id: m.ruleId ?? null,
      name: m.name ?? null,
      metadata: JSON.stringify(m.metadata ?? []),
      invoice_requires_successful_payment: m.invoiceRequiresSuccessfulPayment ?? false,
      business_key: m.businessKey,
      settled_at: m.status === 'settled' ? now : null,
      created_at: now,
    })
    .onConflict(['organization_id', 'business_key'])
    .ignore()
    .returning('*');
  if (inserted.length === 0) {
    const first = await trx('wallet_transactions').where({ organization_id: wallet.organizationId, business_key: m.businessKey }).first();
    return { transaction: transactionFromRow(first), created: false };
  }
  const tx = transactionFromRow(inserted[0]);
  if (m.status === 'settled' && m.amountCents > 0) {
    await postEntries(trx, wallet, tx.id, m.transactionType, m.counterAccount, m.amountCents, now);
    wallet.balanceCents += m.transactionType === 'inbound' ? m.amountCents : -m.amountCents;
  }
  return { transaction: tx, created: true };
}

/** A pending purchase → settled: its entries are posted now (the payment succeeded). Idempotent. */
export async function settlePendingTransaction(trx: Knex.Transaction, wallet: WalletRecord, transactionId: string, now: Date): Promise<WalletTransactionRecord> {
  const row = await trx('wallet_transactions').where({ organization_id: wallet.organizationId, wallet_id: wallet.id, id: transactionId }).forUpdate().first();
  if (!row) throw new BillingError('wallet_not_found', `Wallet transaction ${transactionId} not found`, 'wallet_transaction_id');
  if (row.status !== 'pending') return transactionFromRow(row);
  await trx('wallet_transactions').where({ id: transactionId }).update({ status: 'settled', settled_at: now });
  await postEntries(trx, wallet, transactionId, 'inbound', 'purchases', minorUnits(row.amount_cents, 'amount_cents'), now);
  wallet.balanceCents += minorUnits(row.amount_cents, 'amount_cents');
  return transactionFromRow({ ...row, status: 'settled', settled_at: now });
}

export async function getWalletTransaction(db: Db, organizationId: string, id: string): Promise<WalletTransactionRecord | null> {
  if (!UUID_RE.test(id)) return null;
  const row = await db('wallet_transactions').where({ organization_id: organizationId, id }).first();
  return row ? transactionFromRow(row) : null;
}

export async function listWalletTransactions(
  db: Db,
  organizationId: string,
  walletId: string,
  f: { status?: string; transactionStatus?: string; transactionType?: string; page: number; perPage: number },
): Promise<{ transactions: WalletTransactionRecord[]; totalCount: number }> {
  const q = db('wallet_transactions').where({ organization_id: organizationId, wallet_id: walletId });
  if (f.status !== undefined) q.where('status', f.status);
  if (f.transactionStatus !== undefined) q.where('transaction_status', f.transactionStatus);
  if (f.transactionType !== undefined) q.where('transaction_type', f.transactionType);
  const count = await q.clone().count<{ n: string }[]>('* as n');
  const rows = await q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }]).limit(f.perPage).offset((f.page - 1) * f.perPage);
  return { transactions: rows.map(transactionFromRow), totalCount: Number(count[0]!.n) };
}

/** Every transaction of a wallet, oldest first (for the serializer of inbound transactions and for tests). */
export async function transactionsOfWallet(db: Db, organizationId: string, walletId: string): Promise<WalletTransactionRecord[]> {
  const rows = await db('wallet_transactions').where({ organization_id: organizationId, wallet_id: walletId }).orderBy([{ column: 'created_at' }, { column: 'id' }]);
  return rows.map(transactionFromRow);
}

/** The wallet's ledger: every entry, in order (tests replay it). */
export async function ledgerEntriesOfWallet(db: Db, organizationId: string, walletId: string): Promise<{ transactionId: string; account: string; amountCents: number }[]> {
  const rows = await db('wallet_ledger_entries').where({ organization_id: organizationId, wallet_id: walletId }).orderBy('id');
  return rows.map((r: any) => ({ transactionId: r.transaction_id, account: r.account, amountCents: minorUnits(r.amount_cents, 'amount_cents') }));
}

/** True when the rule has a pending (unpaid) top-up: a threshold rule waits for it before firing again. */
export async function ruleHasPendingTopUp(db: Db, organizationId: string, ruleId: string): Promise<boolean> {
  const row = await db('wallet_transactions').where({ organization_id: organizationId, rule_id: ruleId, status: 'pending' }).first('id');
  return row !== undefined;
}

/** The latest inbound transaction id of the wallet (a threshold top-up's business key includes it). */
export async function latestInboundTransactionId(db: Db, organizationId: string, walletId: string): Promise<string | null> {
  const row = await db('wallet_transactions')
    .where({ organization_id: organizationId, wallet_id: walletId, transaction_type: 'inbound' })
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .first('id');
  return row?.id ?? null;
}

// ---- ongoing balance --------------------------------------------------------------------------------------

/** Stores the confirmed ongoing balance; when it is a new depletion, records it (unique per wallet and sequence). */
export async function recordOngoingBalance(
  trx: Knex.Transaction,
  wallet: WalletRecord,
  v: { ongoingUsageCents: number; ongoingBalanceCents: number; depleted: boolean },
  now: Date,
): Promise<{ depletionSequence: number | null }> {
  const set: Record<string, unknown> = {
    ongoing_usage_balance_cents: v.ongoingUsageCents,
    ongoing_balance_cents: v.ongoingBalanceCents,
    ongoing_balance_confirmed_at: now,
  };
  let seq: number | null = null;
  // Unchanged since the last confirmation: nothing to write (a refresh that changes nothing leaves the row as it is).
  const unchanged = wallet.ongoingBalanceConfirmedAt !== null && wallet.ongoingUsageBalanceCents === v.ongoingUsageCents && wallet.ongoingBalanceCents === v.ongoingBalanceCents;
  if (unchanged && !v.depleted) return { depletionSequence: null };
  if (v.depleted) {
    seq = wallet.depletionsCount + 1;
    set.depletions_count = seq;
    await trx('wallet_depletions')
      .insert({ organization_id: wallet.organizationId, wallet_id: wallet.id, sequence: seq, ongoing_balance_cents: v.ongoingBalanceCents, created_at: now })
      .onConflict(['wallet_id', 'sequence'])
      .ignore();
  }
  await trx('wallets').where({ organization_id: wallet.organizationId, id: wallet.id }).update(set);
  // ops13d (issue 13): the wallet's ongoing-balance alerts, once per confirmed change.
  await evaluateWalletOngoingAlerts(trx, { ...wallet, ongoingBalanceCents: v.ongoingBalanceCents }, `ongoing:${now.toISOString()}`, now);
  return { depletionSequence: seq };
}

/** Active wallets whose expiration_at has passed (for the expiry activity). */
export async function walletsDueForExpiry(db: Db, now: Date, limit: number): Promise<{ organizationId: string; walletId: string }[]> {
  const rows = await db('wallets').where({ status: 'active' }).where('expiration_at', '<=', now).orderBy('expiration_at').limit(limit).select('organization_id', 'id');
  return rows.map((r: any) => ({ organizationId: r.organization_id, walletId: r.id }));
}

/** Active interval rules of active wallets (for the interval top-up activity). */
export async function activeIntervalRules(db: Db, limit: number): Promise<{ organizationId: string; walletId: string; ruleId: string }[]> {
  const rows = await db('wallet_recurring_transaction_rules as r')
    .join('wallets as w', 'w.id', 'r.wallet_id')
    .where({ 'r.trigger': 'interval', 'r.status': 'active', 'w.status': 'active' })
    .orderBy('r.id')
    .limit(limit)
    .select('r.organization_id', 'r.wallet_id', 'r.id');
  return rows.map((r: any) => ({ organizationId: r.organization_id, walletId: r.wallet_id, ruleId: r.id }));
}

// ---- invoices (read for the consumption; the one write is the prepaid credit amount) ------------------------

export interface InvoiceForCredits {
  id: string;
  organizationId: string;
  customerId: string;
  currency: string;
  totalAmountCents: number;
  prepaidCreditAmountCents: number;
  invoiceType: string;
  fees: { id: string; feeType: string; metricCode: string | null; amountCents: number; taxesAmountCents: number }[];
}

export async function invoiceForCredits(trx: Knex.Transaction, organizationId: string, invoiceId: string): Promise<InvoiceForCredits> {
  const inv = await trx('invoices').where({ organization_id: organizationId, id: invoiceId }).first('id', 'customer_id', 'currency', 'total_amount_cents', 'prepaid_credit_amount_cents', 'invoice_type');
  if (!inv) throw new BillingError('invoice_not_found', `Invoice ${invoiceId} not found`, 'invoice_id');
  const fees = await trx('fees').where({ organization_id: organizationId, invoice_id: invoiceId }).orderBy('position').select('id', 'fee_type', 'metric_code', 'amount_cents', 'taxes_amount_cents');
  return {
    id: inv.id,
    organizationId,
    customerId: inv.customer_id,
    currency: String(inv.currency).trim(),
    totalAmountCents: minorUnits(inv.total_amount_cents, 'total_amount_cents'),
    prepaidCreditAmountCents: minorUnits(inv.prepaid_credit_amount_cents, 'prepaid_credit_amount_cents'),
    invoiceType: inv.invoice_type,
    fees: fees.map((f: any) => ({
      id: f.id,
      feeType: f.fee_type,
      metricCode: f.metric_code,
      amountCents: minorUnits(f.amount_cents, 'amount_cents'),
      taxesAmountCents: minorUnits(f.taxes_amount_cents ?? 0, 'taxes_amount_cents'),
    })),
  };
}

/** Records what wallets paid: prepaid_credit_amount_cents += paid, total_amount_cents −= paid (Lago's totals). */
export async function recordInvoicePrepaidCredits(trx: Knex.Transaction, organizationId: string, invoiceId: string, paidCents: number): Promise<void> {
  if (paidCents === 0) return;
  await trx('invoices')
    .where({ organization_id: organizationId, id: invoiceId })
    .update({
      prepaid_credit_amount_cents: trx.raw('prepaid_credit_amount_cents + ?', [paidCents]),
      total_amount_cents: trx.raw('total_amount_cents - ?', [paidCents]),
    });
}

/** What a customer's open drafts and usage owe is computed elsewhere; this reads the ids of its live subscriptions. */
export async function activeSubscriptionsOfCustomer(db: Db, organizationId: string, customerId: string): Promise<{ externalId: string }[]> {
  const rows = await db('subscriptions').where({ organization_id: organizationId, customer_id: customerId, status: 'active' }).select('external_id');
  return rows.map((r: any) => ({ externalId: r.external_id }));
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Σ total_amount_cents of the customer's DRAFT invoices in `currency` (ongoing usage counts them, as Lago). */
export async function draftInvoicesTotalOfCustomer(db: Db, organizationId: string, customerId: string, currency: string): Promise<number> {
  const row = await db('invoices')
    .where({ organization_id: organizationId, customer_id: customerId, status: 'draft', currency })
    .first(db.raw('coalesce(sum(total_amount_cents), 0)::bigint as n'));
  return Math.max(0, minorUnits(row?.n ?? 0, 'draft total'));
}
