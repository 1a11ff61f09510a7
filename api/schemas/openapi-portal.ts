// The OpenAPI part for the customer portal link and analytics (issue 13), merged into api/schemas/openapi.ts.
// Response bodies are the closed schemas of api/schemas/responses.ts.
import { errorAnswers, okResponse, queryParameters } from './openapi-helpers';
import { AnalyticsCustomerQuery, AnalyticsQuery } from './analytics';

const ok = (name: string) => ({ ...okResponse(name), ...errorAnswers(['401', '404', '422'], '`customer_not_found`') });

export function portalOpenApiPaths(): Record<string, unknown> {
  return {
    '/customers/{external_customer_id}/portal_url': {
      get: {
        summary: "A signed link to the customer's portal page (valid 1 hour; Lago getCustomerPortalUrl)",
        parameters: [{ name: 'external_customer_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: ok('CustomerPortalUrlResponse'),
      },
    },
    '/analytics/gross_revenue': {
      get: { summary: 'Gross revenue per currency and month (finalized invoices, Lago findAllGrossRevenues)', parameters: queryParameters(AnalyticsCustomerQuery), responses: ok('GrossRevenuesResponse') },
    },
    '/analytics/invoiced_usage': {
      get: { summary: 'Invoiced usage-based fees per currency, month and metric (Lago findAllInvoicedUsages)', parameters: queryParameters(AnalyticsQuery), responses: ok('InvoicedUsagesResponse') },
    },
    '/analytics/mrr': {
      get: { summary: 'Monthly recurring revenue from subscription fees per currency and month (Lago findAllMrrs)', parameters: queryParameters(AnalyticsQuery), responses: ok('MrrsResponse') },
    },
    '/analytics/overdue_balance': {
      get: { summary: 'Amounts still due on overdue invoices per currency and due month (Lago findAllOverdueBalances)', parameters: queryParameters(AnalyticsCustomerQuery), responses: ok('OverdueBalancesResponse') },
    },
  };
}
