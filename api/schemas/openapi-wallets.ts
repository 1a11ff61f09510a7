// The OpenAPI part for wallets and wallet transactions (issue 12), merged into api/schemas/openapi.ts. Response
// bodies are the closed schemas of api/schemas/responses.ts (WalletResponse, …).
import { z } from 'zod';
import { WalletCreateBody, WalletListQuery, WalletTransactionCreateBody, WalletTransactionListQuery, WalletUpdateBody } from './wallets';

function schemaOf(s: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorRef = { content: { 'application/json': { schema: ref('Error') } } };
const errors = {
  '400': { description: 'Malformed JSON', ...errorRef },
  '401': { description: 'Missing or invalid API key', ...errorRef },
  '404': { description: 'Not found (`customer_not_found`, `wallet_not_found`, `wallet_transaction_not_found`)', ...errorRef },
  '422': { description: 'Validation errors (`error_details: {field: [codes]}`)', ...errorRef },
};
const ok = (name: string) => ({ '200': { description: 'OK (Lago envelope)', content: { 'application/json': { schema: ref(name) } } }, ...errors });
const lagoIdParam = { name: 'lago_id', in: 'path', required: true, schema: { type: 'string' } };
const idempotencyKeyHeader = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } };
const body = (name: string) => ({ required: true, content: { 'application/json': { schema: ref(name) } } });

function queryParameters(query: z.ZodObject) {
  const json = schemaOf(query) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: (json.required ?? []).includes(name), schema }));
}

export function walletOpenApiPaths(): Record<string, unknown> {
  return {
    '/wallets': {
      post: { summary: 'Create a wallet (with its first paid / granted credits and recurring rule)', parameters: [idempotencyKeyHeader], requestBody: body('WalletCreateInput'), responses: ok('WalletResponse') },
      get: { summary: 'List wallets (filter external_customer_id)', parameters: queryParameters(WalletListQuery), responses: ok('WalletListResponse') },
    },
    '/wallets/{lago_id}': {
      get: { summary: 'Retrieve a wallet (its ongoing balance confirmed from Postgres)', parameters: [lagoIdParam], responses: ok('WalletResponse') },
      put: { summary: 'Update a wallet', parameters: [lagoIdParam], requestBody: body('WalletUpdateInput'), responses: ok('WalletResponse') },
      delete: { summary: 'Terminate a wallet (its remaining credits are voided)', parameters: [lagoIdParam], responses: ok('WalletResponse') },
    },
    '/wallet_transactions': {
      post: { summary: 'Top up (paid, granted) or void credits', parameters: [idempotencyKeyHeader], requestBody: body('WalletTransactionCreateInput'), responses: ok('WalletTransactionsResponse') },
    },
    '/wallet_transactions/{lago_id}': { get: { summary: 'Retrieve a wallet transaction', parameters: [lagoIdParam], responses: ok('WalletTransactionResponse') } },
    '/wallets/{lago_id}/wallet_transactions': {
      get: { summary: "List a wallet's transactions, newest first", parameters: [lagoIdParam, ...queryParameters(WalletTransactionListQuery)], responses: ok('WalletTransactionListResponse') },
    },
  };
}

export function walletOpenApiSchemas(): Record<string, unknown> {
  return {
    WalletCreateInput: schemaOf(WalletCreateBody),
    WalletUpdateInput: schemaOf(WalletUpdateBody),
    WalletTransactionCreateInput: schemaOf(WalletTransactionCreateBody),
  };
}
