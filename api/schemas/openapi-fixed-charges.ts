// The OpenAPI part for Lago's fixed charges (fixed13, issues 11 + 13: api/routes/fixed-charges.ts), merged into
// api/schemas/openapi.ts path by path.
import { z } from 'zod';
import { paginationQuery } from './common';
import { errorAnswers, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';
import type { ResponseName } from './responses';

const errors = errorAnswers(['400', '401', '404', '422']);
const ok = (name: ResponseName) => ({ ...okResponse(name), ...errors });

const FixedChargeWrite = z.object({ fixed_charge: z.record(z.string(), z.unknown()) });
const FixedChargeUnits = z.object({ fixed_charge: z.object({ units: z.union([z.number(), z.string()]), apply_units_immediately: z.boolean().optional() }) });

export function addFixedChargesOpenApi(doc: { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }): void {
  const plan = [pathParam('code')];
  const planFixed = [...plan, pathParam('fixed_charge_code')];
  const sub = [pathParam('external_id')];
  const subFixed = [...sub, pathParam('fixed_charge_code')];
  const paths: Record<string, Record<string, unknown>> = {
    '/plans/{code}/fixed_charges': {
      post: { summary: 'Add a fixed charge (an add-on billed every period for its units) to a plan', parameters: plan, requestBody: jsonBody('FixedChargeCreateInput'), responses: ok('FixedChargeResponse') },
      get: { summary: "List a plan's fixed charges", parameters: [...plan, ...queryParameters(paginationQuery)], responses: ok('FixedChargeListResponse') },
    },
    '/plans/{code}/fixed_charges/{fixed_charge_code}': {
      get: { summary: 'Retrieve a fixed charge by its code', parameters: planFixed, responses: ok('FixedChargeResponse') },
      put: { summary: 'Update a fixed charge (its add-on and code are fixed); applies to periods not yet invoiced', parameters: planFixed, requestBody: jsonBody('FixedChargeUpdateInput'), responses: ok('FixedChargeResponse') },
      delete: { summary: 'Remove a fixed charge from a plan', parameters: planFixed, responses: ok('FixedChargeResponse') },
    },
    '/subscriptions/{external_id}/fixed_charges': {
      get: { summary: "A subscription's fixed charges, units as in force now for it", parameters: [...sub, ...queryParameters(paginationQuery)], responses: ok('FixedChargeListResponse') },
    },
    '/subscriptions/{external_id}/fixed_charges/{fixed_charge_code}': {
      get: { summary: "One of a subscription's fixed charges, units as in force now for it", parameters: subFixed, responses: ok('FixedChargeResponse') },
      put: { summary: 'Override the units for this subscription: now (apply_units_immediately) or from its next billing period', parameters: subFixed, requestBody: jsonBody('SubscriptionFixedChargeOverride'), responses: ok('FixedChargeResponse') },
    },
  };
  for (const [path, methods] of Object.entries(paths)) doc.paths[path] = { ...(doc.paths[path] ?? {}), ...methods };
  doc.components.schemas.FixedChargeCreateInput = schemaOf(FixedChargeWrite);
  doc.components.schemas.FixedChargeUpdateInput = schemaOf(FixedChargeWrite);
  doc.components.schemas.SubscriptionFixedChargeOverride = schemaOf(FixedChargeUnits);
}
