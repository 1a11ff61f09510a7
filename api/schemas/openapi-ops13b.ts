// The OpenAPI part of the ops13b operations (issue 13): alert edits by code, metadata of plans / credit notes /
// wallets, PUT /credit_notes/{lago_id}, fee estimates. Merged into api/schemas/openapi.ts method by method.
import { AlertUpdateBody } from './alerts';
import { BatchEstimateFeesBody, EstimateFeesBody } from './fee-estimates';
import { CreditNoteUpdateBody, MetadataBody } from './object-metadata';
import { AnalyticsQuery } from './analytics';
import { errorAnswers, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';
import type { ResponseName } from './responses';

const errors = errorAnswers(['400', '401', '404', '422']);
const ok = (name: ResponseName) => ({ ...okResponse(name), ...errors });

function metadataPaths(base: string, ref: string, what: string): Record<string, Record<string, unknown>> {
  const params = [pathParam(ref)];
  return {
    [`${base}/{${ref}}/metadata`]: {
      post: { summary: `Replace the ${what}'s metadata`, parameters: params, requestBody: jsonBody('MetadataInput'), responses: ok('MetadataResponse') },
      patch: { summary: `Merge keys into the ${what}'s metadata`, parameters: params, requestBody: jsonBody('MetadataInput'), responses: ok('MetadataResponse') },
      delete: { summary: `Delete all of the ${what}'s metadata (null again)`, parameters: params, responses: ok('MetadataResponse') },
    },
    [`${base}/{${ref}}/metadata/{key}`]: {
      delete: { summary: `Delete one key of the ${what}'s metadata (a missing key: unchanged)`, parameters: [...params, pathParam('key')], responses: ok('MetadataResponse') },
    },
  };
}

function ops13bPaths(): Record<string, Record<string, unknown>> {
  const sub = [pathParam('external_id')];
  const alert = [...sub, pathParam('code')];
  return {
    '/subscriptions/{external_id}/alerts': { delete: { summary: "Delete every alert of the subscription (answers the deleted alerts)", parameters: sub, responses: ok('AlertDeletedListResponse') } },
    '/subscriptions/{external_id}/alerts/{code}': {
      get: { summary: 'Retrieve an alert by its code', parameters: alert, responses: ok('AlertResponse') },
      put: { summary: 'Update an alert (code, name, metric, thresholds; its type is fixed)', parameters: alert, requestBody: jsonBody('AlertUpdateInput'), responses: ok('AlertResponse') },
      delete: { summary: 'Delete an alert (its code can be reused)', parameters: alert, responses: ok('AlertResponse') },
    },
    ...metadataPaths('/plans', 'code', 'plan'),
    ...metadataPaths('/credit_notes', 'lago_id', 'credit note'),
    ...metadataPaths('/wallets', 'lago_id', 'wallet'),
    '/credit_notes/{lago_id}': {
      put: { summary: "Set a refunding credit note's refund_status (and merge metadata)", parameters: [pathParam('lago_id')], requestBody: jsonBody('CreditNoteUpdateInput'), responses: ok('CreditNoteResponse') },
    },
    '/analytics/invoice_collection': {
      get: { summary: 'Finalized invoices per issuing month, currency and payment status (count, Σ total_amount_cents)', parameters: queryParameters(AnalyticsQuery), responses: ok('InvoiceCollectionListResponse') },
    },
    '/events/estimate_fees': { post: { summary: 'Estimate the pay-in-advance fees of a hypothetical event (nothing stored)', requestBody: jsonBody('EventEstimateFeesInput'), responses: ok('EstimatedFeeListResponse') } },
    '/events/estimate_instant_fees': { post: { summary: 'Estimate the instant fees of a hypothetical event (nothing stored)', requestBody: jsonBody('EventEstimateFeesInput'), responses: ok('EstimatedFeeListResponse') } },
    '/events/batch_estimate_instant_fees': {
      post: { summary: 'Estimate the instant fees of hypothetical events, each on its own (nothing stored)', requestBody: jsonBody('EventBatchEstimateFeesInput'), responses: ok('EstimatedFeeListResponse') },
    },
  };
}

export function addOps13bOpenApi(doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }): void {
  for (const [path, methods] of Object.entries(ops13bPaths())) doc.paths[path] = { ...(doc.paths[path] ?? {}), ...methods };
  doc.components.schemas.AlertUpdateInput = schemaOf(AlertUpdateBody);
  doc.components.schemas.MetadataInput = schemaOf(MetadataBody);
  doc.components.schemas.CreditNoteUpdateInput = schemaOf(CreditNoteUpdateBody);
  doc.components.schemas.EventEstimateFeesInput = schemaOf(EstimateFeesBody);
  doc.components.schemas.EventBatchEstimateFeesInput = schemaOf(BatchEstimateFeesBody);
}
