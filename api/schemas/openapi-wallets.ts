// The OpenAPI part for wallets and wallet transactions (issue 12), merged into api/schemas/openapi.ts. Response
// bodies are the closed schemas of api/schemas/responses.ts (WalletResponse, …).
import { errorAnswers, idempotencyKeyHeader, jsonBody, okResponse, pathParam, queryParameters, schemaOf } from './openapi-helpers';
import { WalletCreateBody, WalletListQuery, WalletTransactionCreateBody, WalletTransactionListQuery, WalletUpdateBody } from './wallets';

const errors = errorAnswers(['400', '401', '404', '422'], '`customer_not_found`, `wallet_not_found`, `wallet_transaction_not_found`');
const ok = (name: string) => ({ ...okResponse(name), ...errors });
const lagoIdParam = pathParam('lago_id');
const body = jsonBody;

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
