// The OpenAPI part for Lago's everyday API (issue 13: api/routes/catalog-edits.ts, api/routes/everyday-reads.ts),
// merged into api/schemas/openapi.ts method by method (several of its paths already hold other methods).
import { paginationQuery } from './common';
import { errorAnswers, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';
import { BillableMetricUpdateBody, CustomerListQuery, EventListQuery, FeeListQuery, FeeUpdateBody, PlanUpdateBody, ProjectedUsageQuery } from './everyday';
import { PlanChargeBody, PlanChargeDeleteBody, PlanChargeFilterBody, PlanChargeFilterDeleteBody } from './plan-charges';
import type { ResponseName } from './responses';
import { SubscriptionListQuery } from './subscriptions';

const errors = errorAnswers(['400', '401', '404', '422']);
const ok = (name: ResponseName) => ({ ...okResponse(name), ...errors });
const body = jsonBody;
const optionalBody = (name: string) => ({ ...jsonBody(name), required: false });

function everydayPaths(): Record<string, Record<string, unknown>> {
  const code = [pathParam('code')];
  const customer = [pathParam('external_customer_id')];
  const chargeParams = [...code, pathParam('charge_code')];
  const filterParams = [...chargeParams, pathParam('filter_id')];
  return {
    '/billable_metrics/{code}': {
      put: {
        summary: 'Update a billable metric (code, aggregation, field and recurring fixed while a charge uses it; filters may only grow)',
        parameters: code,
        requestBody: body('BillableMetricUpdateInput'),
        responses: ok('BillableMetricResponse'),
      },
      delete: { summary: 'Delete a billable metric no charge or alert uses (its code can be reused)', parameters: code, responses: ok('BillableMetricResponse') },
    },
    '/plans': { get: { summary: 'List plans', parameters: queryParameters(paginationQuery), responses: ok('PlanListResponse') } },
    '/plans/{code}': {
      put: {
        summary: "Update a plan: amount, charges (by id: kept, new, removed) and the rest apply to its subscriptions' open periods; code, interval, currency and pay_in_advance fixed while it has live subscriptions",
        parameters: code,
        requestBody: body('PlanUpdateInput'),
        responses: ok('PlanResponse'),
      },
      delete: { summary: 'Delete a plan: its live subscriptions are terminated (their period so far invoiced), its code freed', parameters: code, responses: ok('PlanResponse') },
    },
    '/plans/{code}/charges': {
      get: { summary: "List a plan's charges", parameters: [...code, ...queryParameters(paginationQuery)], responses: ok('ChargeListResponse') },
      post: { summary: 'Add a charge to a plan (validated as in POST /plans; applies to live subscriptions from their open period)', parameters: code, requestBody: body('ChargeCreateInput'), responses: ok('ChargeResponse') },
    },
    '/plans/{code}/charges/{charge_code}': {
      get: { summary: 'Retrieve a charge by its code', parameters: chargeParams, responses: ok('ChargeResponse') },
      put: { summary: "Update a charge (its billable metric is fixed); applies to live subscriptions' open periods", parameters: chargeParams, requestBody: body('ChargeUpdateInput'), responses: ok('ChargeResponse') },
      delete: { summary: "Remove a charge: live subscriptions' open periods no longer bill it", parameters: chargeParams, requestBody: optionalBody('ChargeDeleteInput'), responses: ok('ChargeResponse') },
    },
    '/plans/{code}/charges/{charge_code}/filters': {
      get: { summary: "List a charge's filters", parameters: [...chargeParams, ...queryParameters(paginationQuery)], responses: ok('ChargeFilterListResponse') },
      post: { summary: 'Add a filter to a charge', parameters: chargeParams, requestBody: body('ChargeFilterCreateInput'), responses: ok('ChargeFilterResponse') },
    },
    '/plans/{code}/charges/{charge_code}/filters/{filter_id}': {
      get: { summary: 'Retrieve a charge filter', parameters: filterParams, responses: ok('ChargeFilterResponse') },
      put: { summary: 'Update a charge filter (it keeps its lago_id)', parameters: filterParams, requestBody: body('ChargeFilterUpdateInput'), responses: ok('ChargeFilterResponse') },
      delete: { summary: 'Remove a charge filter', parameters: filterParams, requestBody: optionalBody('ChargeFilterDeleteInput'), responses: ok('ChargeFilterResponse') },
    },
    '/customers': { get: { summary: 'List customers', parameters: queryParameters(CustomerListQuery), responses: ok('CustomerListResponse') } },
    '/customers/{external_customer_id}': {
      delete: { summary: 'Delete a customer: its live subscriptions are terminated, its external_id freed', parameters: customer, responses: ok('CustomerResponse') },
    },
    '/customers/{external_customer_id}/projected_usage': {
      get: {
        summary: 'Current usage of the open period extrapolated to its end (count/sum metrics; others as they are)',
        parameters: [...customer, ...queryParameters(ProjectedUsageQuery)],
        responses: ok('CustomerProjectedUsageResponse'),
      },
    },
    '/customers/{external_customer_id}/subscriptions': {
      get: {
        summary: "The customer's subscriptions (every status unless status[] narrows them)",
        parameters: [...customer, ...queryParameters(SubscriptionListQuery), { name: 'status[]', in: 'query', required: false, schema: { type: 'array', items: { type: 'string', enum: ['active', 'pending', 'terminated'] } } }],
        responses: ok('SubscriptionListResponse'),
      },
    },
    '/events': { get: { summary: 'List stored events, newest first', parameters: queryParameters(EventListQuery), responses: ok('StoredEventListResponse') } },
    '/fees': { get: { summary: 'List fees (as on their invoices, and the fees on no invoice), newest first', parameters: queryParameters(FeeListQuery), responses: ok('FeeListResponse') } },
    '/fees/{lago_id}': {
      get: { summary: 'Retrieve a fee (an invoiced fee as on its invoice, or a fee on no invoice)', parameters: [pathParam('lago_id')], responses: ok('FeeResponse') },
      put: {
        summary: "Set the payment_status of a fee on no invoice (a pay-in-advance charge's fee with invoiceable false); 405 invoiced_fee for an invoiced fee",
        parameters: [pathParam('lago_id')],
        requestBody: body('FeeUpdateInput'),
        responses: { ...ok('FeeResponse'), ...errorAnswers(['405']) },
      },
    },
  };
}

/** Adds the everyday paths (method by method) and their request bodies to the document. */
export function addEverydayOpenApi(doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }): void {
  for (const [path, methods] of Object.entries(everydayPaths())) doc.paths[path] = { ...(doc.paths[path] ?? {}), ...methods };
  doc.components.schemas.BillableMetricUpdateInput = schemaOf(BillableMetricUpdateBody);
  doc.components.schemas.PlanUpdateInput = schemaOf(PlanUpdateBody);
  doc.components.schemas.FeeUpdateInput = schemaOf(FeeUpdateBody);
  doc.components.schemas.ChargeCreateInput = schemaOf(PlanChargeBody);
  doc.components.schemas.ChargeUpdateInput = schemaOf(PlanChargeBody);
  doc.components.schemas.ChargeDeleteInput = schemaOf(PlanChargeDeleteBody);
  doc.components.schemas.ChargeFilterCreateInput = schemaOf(PlanChargeFilterBody);
  doc.components.schemas.ChargeFilterUpdateInput = schemaOf(PlanChargeFilterBody);
  doc.components.schemas.ChargeFilterDeleteInput = schemaOf(PlanChargeFilterDeleteBody);
}
