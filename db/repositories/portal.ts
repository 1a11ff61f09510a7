// Customer portal rows: the per-organization link-signing secret, top-up requests, and the wallet balances the
// portal shows (from the wallets module's rows: see portalWalletBalances).
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { centsToCredits } from '../../billing/wallet';

type Db = Knex | Knex.Transaction;

/** The organization's portal signing key (base64url of 32 random bytes), created once on first use. */
export async function ensurePortalSecret(db: Db, organizationId: string): Promise<string> {
  const existing = await getPortalSecret(db, organizationId);
  if (existing) return existing;
  await db('portal_secrets')
    .insert({ organization_id: organizationId, secret: crypto.randomBytes(32).toString('base64url') })
    .onConflict('organization_id')
    .ignore();
  return (await getPortalSecret(db, organizationId))!;
}

/** The organization's portal signing key, or null when it never issued a link (so no link of it can be valid). */
export async function getPortalSecret(db: Db, organizationId: string): Promise<string | null> {
  const row = await db('portal_secrets').where({ organization_id: organizationId }).first('secret');
  return row ? (row.secret as string) : null;
}

export interface PortalCustomer {
  id: string;
  organizationId: string;
  externalId: string;
  name: string | null;
  email: string | null;
  currency: string | null;
  timezone: string | null;
}

/** A customer by its row id, scoped to the organization (the ids a portal token carries). */
export async function getPortalCustomer(db: Db, organizationId: string, customerId: string): Promise<PortalCustomer | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(customerId)) return null;
  const r = await db('customers').where({ organization_id: organizationId, id: customerId }).first('id', 'organization_id', 'external_id', 'name', 'email', 'currency', 'timezone');
  if (!r) return null;
  return { id: r.id, organizationId: r.organization_id, externalId: r.external_id, name: r.name, email: r.email, currency: r.currency ? String(r.currency).trim() : null, timezone: r.timezone };
}

export interface TopUpRequestRecord {
  id: string;
  walletId: string | null;
  amountCents: number;
  currency: string;
  status: string;
  requestKey: string;
  createdAt: string;
}

function toTopUp(r: Record<string, any>): TopUpRequestRecord {
  return {
    id: r.id,
    walletId: r.wallet_id ?? null,
    amountCents: Number(r.amount_cents),
    currency: String(r.currency).trim(),
    status: r.status,
    requestKey: r.request_key,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/** Records a top-up request once per (customer, request_key): a replay answers the first request. */
export async function recordTopUpRequest(
  db: Db,
  input: { organizationId: string; customerId: string; walletId: string | null; amountCents: number; currency: string; requestKey: string },
): Promise<{ request: TopUpRequestRecord; created: boolean }> {
  const inserted = await db('portal_top_up_requests')
    .insert({
      organization_id: input.organizationId,
      customer_id: input.customerId,
      wallet_id: input.walletId,
      amount_cents: input.amountCents,
      currency: input.currency,
      request_key: input.requestKey,
    })
    .onConflict(['organization_id', 'customer_id', 'request_key'])
    .ignore()
    .returning('*');
  if (inserted.length > 0) return { request: toTopUp(inserted[0]), created: true };
  const row = await db('portal_top_up_requests')
    .where({ organization_id: input.organizationId, customer_id: input.customerId, request_key: input.requestKey })
    .first();
  return { request: toTopUp(row), created: false };
}

export async function listTopUpRequests(db: Db, organizationId: string, customerId: string, limit = 20): Promise<TopUpRequestRecord[]> {
  const rows = await db('portal_top_up_requests')
    .where({ organization_id: organizationId, customer_id: customerId })
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(limit);
  return rows.map(toTopUp);
}

export interface PortalWallet {
  id: string;
  name: string | null;
  currency: string;
  status: string | null;
  /** The wallet's balance in the currency's minor unit (Lago's `balance_cents`). */
  balanceCents: number;
  /** Credits left, a decimal string (Lago's `credits_balance`), or null when the table has no such column. */
  creditsBalance: string | null;
}

/**
 * The customer's wallets as the portal shows them: the wallets module's rows (balance_cents is kept equal to the
 * credit ledger in every movement's transaction, checked at commit), terminated wallets left out, credits derived
 * with billing/wallet.ts (W2). `available` is true: the wallets module exists.
 */
export async function portalWalletBalances(db: Db, organizationId: string, customerId: string): Promise<{ available: boolean; wallets: PortalWallet[] }> {
  const rows: Record<string, any>[] = await db('wallets')
    .where({ organization_id: organizationId, customer_id: customerId })
    .whereNot('status', 'terminated')
    .orderBy('created_at')
    .orderBy('id')
    .select('id', 'name', 'currency', 'status', 'balance_cents', 'rate_amount');
  return {
    available: true,
    wallets: rows.map((r) => {
      const currency = String(r.currency).trim();
      const balanceCents = Number(r.balance_cents);
      return { id: String(r.id), name: r.name ?? null, currency, status: r.status ?? null, balanceCents, creditsBalance: centsToCredits(balanceCents, String(r.rate_amount), currency) };
    }),
  };
}
