// The organization's own settings as GET / PUT /organizations answer and change them (Lago's Organization).
import type { Knex } from 'knex';

export interface OrganizationSettings {
  id: string;
  name: string;
  /** The organization's slug (its invoice numbers' prefix comes from it). */
  slug: string;
  createdAt: Date;
  defaultTimezone: string;
  invoiceGracePeriod: number;
  netPaymentTerm: number;
}

export interface OrganizationSettingsUpdate {
  defaultTimezone?: string;
  invoiceGracePeriod?: number;
  netPaymentTerm?: number;
}

function toSettings(row: Record<string, any>): OrganizationSettings {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    createdAt: row.created_at,
    defaultTimezone: row.default_timezone,
    invoiceGracePeriod: Number(row.invoice_grace_period),
    netPaymentTerm: Number(row.net_payment_term),
  };
}

export async function getOrganizationSettings(db: Knex, organizationId: string): Promise<OrganizationSettings> {
  return toSettings(await db('organizations').where({ id: organizationId }).first());
}

/** Sets the given fields (undefined leaves a field as it is) and answers the organization. */
export async function updateOrganizationSettings(db: Knex, organizationId: string, u: OrganizationSettingsUpdate): Promise<OrganizationSettings> {
  const values: Record<string, unknown> = {};
  if (u.defaultTimezone !== undefined) values.default_timezone = u.defaultTimezone;
  if (u.invoiceGracePeriod !== undefined) values.invoice_grace_period = u.invoiceGracePeriod;
  if (u.netPaymentTerm !== undefined) values.net_payment_term = u.netPaymentTerm;
  if (Object.keys(values).length === 0) return getOrganizationSettings(db, organizationId);
  const [row] = await db('organizations').where({ id: organizationId }).update(values).returning('*');
  return toSettings(row);
}
