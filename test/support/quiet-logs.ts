// Test runs log nothing unless asked (METERLINE_LOG_LEVEL=info npx jest …): the API's and worker's structured logs
// (config/logger.ts) would otherwise print one line per request of every test.
process.env.METERLINE_LOG_LEVEL ??= 'silent';
