// The API key's organization, in Lago's shape (Organization):
//   GET /organizations → {organization}
//   PUT /organizations {organization: {timezone?, net_payment_term?, billing_configuration?: {invoice_grace_period?}}}
import { Router } from 'express';
import { getOrganizationSettings, updateOrganizationSettings, type OrganizationSettings } from '../../db/repositories/organization-settings';
import { formatInvoiceNumber } from '../../db/repositories/invoices';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { iso, parseBody } from '../schemas/common';
import { OrganizationUpdateBody } from '../schemas/organizations';

export function serializeOrganization(o: OrganizationSettings) {
  return {
    lago_id: o.id,
    name: o.name,
    created_at: iso(o.createdAt),
    timezone: o.defaultTimezone,
    net_payment_term: o.netPaymentTerm,
    billing_configuration: { invoice_grace_period: o.invoiceGracePeriod },
    // Lago 1.51 requires these: invoice numbers run per organization and month (db/repositories/invoices.ts
    // formatInvoiceNumber: <prefix>-<YYYYMM>-<sequence>); no invoice e-mails are sent.
    document_numbering: 'per_organization',
    document_number_prefix: formatInvoiceNumber(o.slug, '0000-00-00', 0).split('-')[0]!,
    email_settings: [],
  };
}

export function organizationRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.get('/organizations', async (_req, res) => {
    res.json({ organization: serializeOrganization(await getOrganizationSettings(ctx.db, orgId(res))) });
  });

  r.put('/organizations', async (req, res) => {
    const { organization: b } = parseBody(OrganizationUpdateBody, req.body);
    const o = await updateOrganizationSettings(ctx.db, orgId(res), {
      defaultTimezone: b.timezone,
      netPaymentTerm: b.net_payment_term,
      invoiceGracePeriod: b.billing_configuration?.invoice_grace_period,
    });
    ctx.apiKeysChanged?.(o.id); // the organization cached with this process's keys (api/auth.ts), at once
    res.json({ organization: serializeOrganization(o) });
  });

  return r;
}
