// Lago's wallet alerts (tables wallet_alerts, wallet_alert_triggers, migration 20261202000400) and their
// evaluation. The only place these rows become domain records.
//
// Evaluation runs INSIDE the transaction that changes what the alert watches, on the wallet the caller locked:
// - the balance types (wallet_balance_amount: balance_cents; wallet_credits_balance: credits) from postEntries,
//   after each settled movement, the cause being that wallet transaction (`tx:<id>`);
// - the ongoing types (wallet_ongoing_balance_amount, wallet_credits_ongoing_balance) from recordOngoingBalance,
//   when a refresh confirms a new ongoing balance (`ongoing:<confirmation instant>`).
// The alert rows are locked (FOR UPDATE) and previous_value is moved to the new value in the same transaction, so
// one change is evaluated once; the trigger rows are unique on (alert, cause, level) besides. Each new trigger
// enqueues Lago's `alert.triggered` webhook in that transaction (the outbox), like a subscription alert.
import type { Knex } from 'knex';
import { canonicalDecimal } from '../../billing/decimal-string';
import { centsToCredits } from '../../billing/wallet';
import { crossedWalletLevels, type WalletAlertThreshold, type WalletAlertType } from '../../billing/wallet-alerts';
import { enqueueWebhook } from './webhooks';

type Db = Knex | Knex.Transaction;

export interface WalletAlertRecord {
  id: string;
  organizationId: string;
  walletId: string;
  walletCode: string | null;
  alertType: WalletAlertType;
  code: string;
  name: string | null;
  thresholds: WalletAlertThreshold[];
  previousValue: string;
  lastProcessedAt: string | null;
  createdAt: string;
}

export class DuplicateWalletAlertError extends Error {
  constructor(readonly field: 'code' | 'alert_type') {
    super(`A wallet alert with this ${field} already exists`);
    this.name = 'DuplicateWalletAlertError';
  }
}

function fromRow(r: Record<string, any>): WalletAlertRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    walletId: r.wallet_id,
    walletCode: r.wallet_code ?? null,
    alertType: r.alert_type,
    code: r.code,
    name: r.name ?? null,
    thresholds: (r.thresholds as Record<string, unknown>[]).map((t) => ({ code: typeof t.code === 'string' ? t.code : null, value: String(t.value), recurring: t.recurring === true })),
    previousValue: canonicalDecimal(String(r.previous_value)),
    lastProcessedAt: r.last_processed_at ? r.last_processed_at.toISOString() : null,
    createdAt: r.created_at.toISOString(),
  };
}

function query(db: Db, organizationId: string) {
  return db('wallet_alerts as a').join('wallets as w', 'w.id', 'a.wallet_id').where('a.organization_id', organizationId).select('a.*', 'w.code as wallet_code');
}

function duplicateOf(err: unknown): DuplicateWalletAlertError | null {
  const e = err as { code?: string; constraint?: string };
  if (e.code !== '23505') return null;
  return new DuplicateWalletAlertError(e.constraint?.includes('alert_type') ? 'alert_type' : 'code');
}

export interface NewWalletAlert {
  alertType: WalletAlertType;
  code: string;
  name: string | null;
  thresholds: WalletAlertThreshold[];
}

/** The wallet's current value for an alert type: minor units for the amount types, credits for the credits types. */
function currentValue(w: WalletValues, type: WalletAlertType): string {
  const cents = type === 'wallet_balance_amount' || type === 'wallet_credits_balance' ? w.balanceCents : w.ongoingBalanceCents;
  return type === 'wallet_balance_amount' || type === 'wallet_ongoing_balance_amount' ? String(cents) : centsToCredits(cents, w.rateAmount, w.currency);
}

export interface WalletValues {
  id: string;
  organizationId: string;
  balanceCents: number;
  ongoingBalanceCents: number;
  rateAmount: string;
  currency: string;
}

/**
 * Creates alerts on a wallet, all or none (the batch form). A new alert starts from the wallet's current value
 * (previous_value), so only a drop after its creation triggers it.
 */
export async function createWalletAlerts(trx: Knex.Transaction, wallet: WalletValues, alerts: NewWalletAlert[]): Promise<WalletAlertRecord[]> {
  const ids: string[] = [];
  for (const a of alerts) {
    try {
      const [row] = await trx('wallet_alerts')
        .insert({
          organization_id: wallet.organizationId,
          wallet_id: wallet.id,
          alert_type: a.alertType,
          code: a.code,
          name: a.name,
          thresholds: JSON.stringify(a.thresholds),
          previous_value: currentValue(wallet, a.alertType),
        })
        .returning('id');
      ids.push(row.id);
    } catch (err) {
      throw duplicateOf(err) ?? err;
    }
  }
  const rows = await query(trx, wallet.organizationId).whereIn('a.id', ids);
  return ids.map((id) => fromRow(rows.find((r: any) => r.id === id)));
}

export async function listWalletAlerts(db: Db, organizationId: string, walletId: string): Promise<WalletAlertRecord[]> {
  const rows = await query(db, organizationId).where('a.wallet_id', walletId).orderBy([{ column: 'a.created_at' }, { column: 'a.id' }]);
  return rows.map(fromRow);
}

export async function getWalletAlertByCode(db: Db, organizationId: string, walletId: string, code: string): Promise<WalletAlertRecord | null> {
  const row = await query(db, organizationId).where({ 'a.wallet_id': walletId, 'a.code': code }).first();
  return row ? fromRow(row) : null;
}

export async function updateWalletAlert(db: Db, organizationId: string, alertId: string, edit: { code?: string; name?: string | null; thresholds?: WalletAlertThreshold[] }): Promise<WalletAlertRecord> {
  const patch: Record<string, unknown> = {};
  if (edit.code !== undefined) patch.code = edit.code;
  if (edit.name !== undefined) patch.name = edit.name;
  if (edit.thresholds !== undefined) patch.thresholds = JSON.stringify(edit.thresholds);
  if (Object.keys(patch).length > 0) {
    try {
      await db('wallet_alerts').where({ organization_id: organizationId, id: alertId }).update(patch);
    } catch (err) {
      throw duplicateOf(err) ?? err;
    }
  }
  return fromRow(await query(db, organizationId).where('a.id', alertId).first());
}

export async function deleteWalletAlert(db: Db, organizationId: string, alertId: string): Promise<void> {
  await db('wallet_alerts').where({ organization_id: organizationId, id: alertId }).delete();
}

export async function deleteWalletAlerts(db: Db, organizationId: string, walletId: string): Promise<number> {
  return db('wallet_alerts').where({ organization_id: organizationId, wallet_id: walletId }).delete();
}

export interface WalletAlertTriggerRecord {
  id: string;
  alertId: string;
  alertCode: string;
  thresholdValue: string;
  thresholdCode: string | null;
  thresholdRecurring: boolean;
  previousValue: string;
  crossedValue: string;
  causeKey: string;
  triggeredAt: string;
}

export async function listWalletAlertTriggers(db: Db, organizationId: string, walletId: string): Promise<WalletAlertTriggerRecord[]> {
  const rows = await db('wallet_alert_triggers as t')
    .join('wallet_alerts as a', 'a.id', 't.alert_id')
    .where({ 't.organization_id': organizationId, 't.wallet_id': walletId })
    .orderBy([{ column: 't.triggered_at' }, { column: 't.threshold_value', order: 'desc' }])
    .select('t.*', 'a.code as alert_code');
  return rows.map((r: any) => ({
    id: r.id,
    alertId: r.alert_id,
    alertCode: r.alert_code,
    thresholdValue: canonicalDecimal(String(r.threshold_value)),
    thresholdCode: r.threshold_code ?? null,
    thresholdRecurring: r.threshold_recurring,
    previousValue: canonicalDecimal(String(r.previous_value)),
    crossedValue: canonicalDecimal(String(r.crossed_value)),
    causeKey: r.cause_key,
    triggeredAt: r.triggered_at.toISOString(),
  }));
}

const BALANCE_TYPES: WalletAlertType[] = ['wallet_balance_amount', 'wallet_credits_balance'];
const ONGOING_TYPES: WalletAlertType[] = ['wallet_ongoing_balance_amount', 'wallet_credits_ongoing_balance'];

/** After a settled movement: the balance alerts of the (locked) wallet. */
export function evaluateWalletBalanceAlerts(trx: Knex.Transaction, wallet: WalletValues, causeKey: string, now: Date): Promise<number> {
  return evaluate(trx, wallet, BALANCE_TYPES, causeKey, now);
}

/** After a confirmed ongoing balance: the ongoing-balance alerts of the (locked) wallet. */
export function evaluateWalletOngoingAlerts(trx: Knex.Transaction, wallet: WalletValues, causeKey: string, now: Date): Promise<number> {
  return evaluate(trx, wallet, ONGOING_TYPES, causeKey, now);
}

async function evaluate(trx: Knex.Transaction, wallet: WalletValues, types: WalletAlertType[], causeKey: string, now: Date): Promise<number> {
  const rows = await trx('wallet_alerts').where({ organization_id: wallet.organizationId, wallet_id: wallet.id }).whereIn('alert_type', types).orderBy('id').forUpdate();
  let created = 0;
  for (const row of rows) {
    const alert = fromRow(row);
    const value = currentValue(wallet, alert.alertType);
    const levels = crossedWalletLevels(alert.thresholds, alert.previousValue, value);
    if (levels.length > 0) {
      const inserted: { id: string }[] = await trx('wallet_alert_triggers')
        .insert(levels.map((l) => ({
          organization_id: wallet.organizationId,
          alert_id: alert.id,
          wallet_id: wallet.id,
          cause_key: causeKey,
          threshold_code: l.code,
          threshold_value: l.value,
          threshold_recurring: l.recurring,
          previous_value: alert.previousValue,
          crossed_value: value,
          triggered_at: now,
        })))
        .onConflict(['alert_id', 'cause_key', 'threshold_value'])
        .ignore()
        .returning('id');
      if (inserted.length > 0) {
        created += inserted.length;
        await enqueueWalletAlertTriggered(trx, wallet, alert, inserted[0]!.id, levels, value, causeKey, now);
      }
    }
    await trx('wallet_alerts').where({ id: alert.id }).update({ previous_value: value, last_processed_at: now });
  }
  return created;
}

/** One alert.triggered per (alert, cause): Lago's TriggeredAlertObject for a wallet alert, every crossed level listed. */
async function enqueueWalletAlertTriggered(
  trx: Knex.Transaction,
  wallet: WalletValues,
  alert: WalletAlertRecord,
  triggerId: string,
  levels: { code: string | null; value: string; recurring: boolean }[],
  value: string,
  causeKey: string,
  now: Date,
): Promise<void> {
  const w = await trx('wallets as w').join('customers as c', 'c.id', 'w.customer_id').where('w.id', wallet.id).first('w.code', 'c.external_id');
  await enqueueWebhook(trx, {
    organizationId: wallet.organizationId,
    webhookType: 'alert.triggered',
    objectType: 'triggered_alert',
    uniqueKey: `alert.triggered:wallet_alert:${alert.id}:${causeKey}`,
    object: {
      lago_id: triggerId,
      lago_organization_id: wallet.organizationId,
      lago_alert_id: alert.id,
      lago_subscription_id: null,
      external_subscription_id: null,
      lago_wallet_id: wallet.id,
      wallet_code: w?.code ?? null,
      external_customer_id: w?.external_id ?? null,
      billable_metric_code: null,
      alert_type: alert.alertType,
      alert_code: alert.code,
      alert_name: alert.name,
      current_value: value,
      previous_value: alert.previousValue,
      triggered_at: now.toISOString(),
      crossed_thresholds: levels.map((l) => ({ code: l.code, value: l.value, recurring: l.recurring })),
    },
  });
}
