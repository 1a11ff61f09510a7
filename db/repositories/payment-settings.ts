// Configuration of payment collection through the API (Meterline extension; Lago configures these in its UI):
// the organization's Stripe connection (payment_providers) and its dunning campaigns (dunning_campaigns).
// Every query is scoped by organization_id. At most one campaign is the organization's default
// (applied_to_organization): making one the default unsets the others in the same transaction.
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

export interface ProviderConnection {
  code: string;
  provider: 'stripe';
  /** The last 4 characters of the secret key (the key itself is never read back). */
  secretKeyLast4: string;
  webhookSecretConfigured: boolean;
  successRedirectUrl: string | null;
  createdAt: Date;
}

export interface ProviderConnectionInput {
  code: string;
  secretKey: string;
  webhookSecret: string | null;
  successRedirectUrl: string | null;
}

function toConnection(row: Record<string, any>): ProviderConnection {
  const key = String(row.secret_key);
  return {
    code: row.code,
    provider: 'stripe',
    secretKeyLast4: key.slice(-4),
    webhookSecretConfigured: Boolean(row.webhook_secret),
    successRedirectUrl: row.success_redirect_url ?? null,
    createdAt: row.created_at,
  };
}

/** Creates or replaces the organization's Stripe connection (one per organization). */
export async function putProviderConnection(db: Db, organizationId: string, input: ProviderConnectionInput): Promise<ProviderConnection> {
  const [row] = await db('payment_providers')
    .insert({
      organization_id: organizationId,
      provider: 'stripe',
      code: input.code,
      secret_key: input.secretKey,
      webhook_secret: input.webhookSecret,
      success_redirect_url: input.successRedirectUrl,
    })
    .onConflict(['organization_id', 'provider'])
    .merge(['code', 'secret_key', 'webhook_secret', 'success_redirect_url'])
    .returning('*');
  return toConnection(row);
}

export async function listProviderConnections(db: Db, organizationId: string): Promise<ProviderConnection[]> {
  const rows = await db('payment_providers').where({ organization_id: organizationId }).orderBy('created_at');
  return rows.map(toConnection);
}

export async function deleteProviderConnection(db: Db, organizationId: string, code: string): Promise<ProviderConnection | null> {
  const [row] = await db('payment_providers').where({ organization_id: organizationId, code }).delete().returning('*');
  return row ? toConnection(row) : null;
}

export type DunningConsequence = 'mark_uncollectible' | 'suspend_subscription' | 'terminate_subscription';

export interface DunningCampaignRecord {
  id: string;
  code: string;
  name: string;
  maxAttempts: number;
  daysBetweenAttempts: number;
  thresholds: { currency: string; amountCents: number }[];
  consequence: DunningConsequence;
  appliedToOrganization: boolean;
  createdAt: Date;
}

export interface DunningCampaignInput {
  code: string;
  name: string;
  maxAttempts: number;
  daysBetweenAttempts: number;
  thresholds: { currency: string; amountCents: number }[];
  consequence: DunningConsequence;
  appliedToOrganization: boolean;
}

export class DuplicateDunningCampaignError extends Error {
  constructor(readonly code: string) {
    super(`Dunning campaign ${code} already exists`);
  }
}

function toCampaign(row: Record<string, any>): DunningCampaignRecord {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    maxAttempts: row.max_attempts,
    daysBetweenAttempts: row.days_between_attempts,
    thresholds: (row.thresholds as { currency: string; amount_cents: number | string }[]).map((t) => ({ currency: t.currency, amountCents: Number(t.amount_cents) })),
    consequence: row.consequence,
    appliedToOrganization: row.applied_to_organization,
    createdAt: row.created_at,
  };
}

function columns(input: Partial<DunningCampaignInput>): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (input.code !== undefined) c.code = input.code;
  if (input.name !== undefined) c.name = input.name;
  if (input.maxAttempts !== undefined) c.max_attempts = input.maxAttempts;
  if (input.daysBetweenAttempts !== undefined) c.days_between_attempts = input.daysBetweenAttempts;
  if (input.thresholds !== undefined) c.thresholds = JSON.stringify(input.thresholds.map((t) => ({ currency: t.currency, amount_cents: t.amountCents })));
  if (input.consequence !== undefined) c.consequence = input.consequence;
  if (input.appliedToOrganization !== undefined) c.applied_to_organization = input.appliedToOrganization;
  return c;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

async function unsetDefault(trx: Knex.Transaction, organizationId: string): Promise<void> {
  await trx('dunning_campaigns').where({ organization_id: organizationId, applied_to_organization: true }).update({ applied_to_organization: false });
}

export async function createDunningCampaign(db: Knex, organizationId: string, input: DunningCampaignInput): Promise<DunningCampaignRecord> {
  return db.transaction(async (trx) => {
    if (await trx('dunning_campaigns').where({ organization_id: organizationId, code: input.code }).first('id')) throw new DuplicateDunningCampaignError(input.code);
    if (input.appliedToOrganization) await unsetDefault(trx, organizationId);
    try {
      const [row] = await trx('dunning_campaigns').insert({ organization_id: organizationId, ...columns(input) }).returning('*');
      return toCampaign(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateDunningCampaignError(input.code);
      throw err;
    }
  });
}

export async function listDunningCampaigns(db: Db, organizationId: string): Promise<DunningCampaignRecord[]> {
  const rows = await db('dunning_campaigns').where({ organization_id: organizationId }).orderBy('created_at').orderBy('code');
  return rows.map(toCampaign);
}

export async function getDunningCampaign(db: Db, organizationId: string, code: string): Promise<DunningCampaignRecord | null> {
  const row = await db('dunning_campaigns').where({ organization_id: organizationId, code }).first();
  return row ? toCampaign(row) : null;
}

export async function updateDunningCampaign(db: Knex, organizationId: string, code: string, input: Partial<DunningCampaignInput>): Promise<DunningCampaignRecord | null> {
  return db.transaction(async (trx) => {
    const current = await trx('dunning_campaigns').where({ organization_id: organizationId, code }).forUpdate().first('id');
    if (!current) return null;
    if (input.code !== undefined && input.code !== code && (await trx('dunning_campaigns').where({ organization_id: organizationId, code: input.code }).first('id'))) {
      throw new DuplicateDunningCampaignError(input.code);
    }
    if (input.appliedToOrganization === true) await unsetDefault(trx, organizationId);
    const values = columns(input);
    if (Object.keys(values).length === 0) return toCampaign(await trx('dunning_campaigns').where({ id: current.id }).first());
    const [row] = await trx('dunning_campaigns').where({ organization_id: organizationId, id: current.id }).update(values).returning('*');
    return toCampaign(row);
  });
}

export async function deleteDunningCampaign(db: Db, organizationId: string, code: string): Promise<DunningCampaignRecord | null> {
  const [row] = await db('dunning_campaigns').where({ organization_id: organizationId, code }).delete().returning('*');
  return row ? toCampaign(row) : null;
}
