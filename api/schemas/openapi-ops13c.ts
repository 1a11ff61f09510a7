// The OpenAPI part of the ops13c operations (issue 13): the subscription's effective charges and their overrides,
// lifetime usage, lose_dispute. Merged into api/schemas/openapi.ts method by method.
import { LifetimeUsageBody } from './lifetime-usage';
import { errorAnswers, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';
import {
  SubscriptionChargeFilterCreateBody,
  SubscriptionChargeFilterUpdateBody,
  SubscriptionChargeListQuery,
  SubscriptionChargeOverrideBody,
  SubscriptionStatusQuery,
} from './subscription-charges';

const errors = errorAnswers(['400', '401', '404', '405', '422'], '`subscription_not_found`, `charge_not_found`, `charge_filter_not_found`, `invoice_not_found`, `not_disputable`');
const ok = (name: string) => ({ ...okResponse(name), ...errors });

function paths(): Record<string, Record<string, unknown>> {
  const sub = [pathParam('external_id')];
  const status = queryParameters(SubscriptionStatusQuery);
  const list = queryParameters(SubscriptionChargeListQuery);
  const charge = [...sub, pathParam('charge_code')];
  const filter = [...charge, pathParam('filter_id')];
  return {
    '/subscriptions/{external_id}/charges': {
      get: { summary: "The subscription's effective charges (its override's, else its plan's)", parameters: [...sub, ...list], responses: ok('ChargeListResponse') },
    },
    '/subscriptions/{external_id}/charges/{charge_code}': {
      get: { summary: 'One effective charge of the subscription', parameters: [...charge, ...status], responses: ok('ChargeResponse') },
      put: { summary: 'Override one charge for this subscription (a plan override: priced at once)', parameters: [...charge, ...status], requestBody: jsonBody('SubscriptionChargeOverrideInput'), responses: ok('ChargeResponse') },
    },
    '/subscriptions/{external_id}/charges/{charge_code}/filters': {
      get: { summary: "The effective charge's filters", parameters: [...charge, ...list], responses: ok('ChargeFilterListResponse') },
      post: { summary: "Add a filter to the subscription's charge (an override)", parameters: [...charge, ...status], requestBody: jsonBody('SubscriptionChargeFilterCreateInput'), responses: ok('ChargeFilterResponse') },
    },
    '/subscriptions/{external_id}/charges/{charge_code}/filters/{filter_id}': {
      get: { summary: 'One filter of the effective charge', parameters: [...filter, ...status], responses: ok('ChargeFilterResponse') },
      put: { summary: "Change a filter of the subscription's charge (an override)", parameters: [...filter, ...status], requestBody: jsonBody('SubscriptionChargeFilterUpdateInput'), responses: ok('ChargeFilterResponse') },
      delete: { summary: "Remove a filter from the subscription's charge (an override)", parameters: [...filter, ...status], responses: ok('ChargeFilterResponse') },
    },
    '/subscriptions/{external_id}/lifetime_usage': {
      get: { summary: 'Lifetime usage: historical (reported), invoiced and current usage amounts, thresholds progress', parameters: sub, responses: ok('LifetimeUsageResponse') },
      put: { summary: 'Set external_historical_usage_amount_cents', parameters: sub, requestBody: jsonBody('LifetimeUsageInput'), responses: ok('LifetimeUsageResponse') },
    },
    '/invoices/{lago_id}/lose_dispute': {
      post: { summary: "Mark a finalized invoice's payment dispute lost (collection stops)", parameters: [pathParam('lago_id')], responses: ok('InvoiceResponse') },
    },
  };
}

export function addOps13cOpenApi(doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }): void {
  for (const [path, methods] of Object.entries(paths())) doc.paths[path] = { ...(doc.paths[path] ?? {}), ...methods };
  doc.components.schemas.SubscriptionChargeOverrideInput = schemaOf(SubscriptionChargeOverrideBody);
  doc.components.schemas.SubscriptionChargeFilterCreateInput = schemaOf(SubscriptionChargeFilterCreateBody);
  doc.components.schemas.SubscriptionChargeFilterUpdateInput = schemaOf(SubscriptionChargeFilterUpdateBody);
  doc.components.schemas.LifetimeUsageInput = schemaOf(LifetimeUsageBody);
}
