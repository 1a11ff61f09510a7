// Environment, parsed once with a schema; a bad value fails at boot with a clear message.
import path from 'node:path';
import { z } from 'zod';

const ROOT = path.resolve(__dirname, '..');

const EnvSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z.string().min(3).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  METERLINE_DATA_DIR: z.string().min(1).default(path.join(ROOT, '.data')),
  METERLINE_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  METERLINE_TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  METERLINE_TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  /** Events older than this are refused (422 timestamp: too_old); older usage goes through /events/import. */
  METERLINE_EVENT_MAX_AGE_DAYS: z.coerce.number().int().min(1).default(90),
  /** host:port where a worker serves the Temporal SDK's Prometheus metrics (workflow/activity failures, ...). */
  METERLINE_WORKER_METRICS_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'host:port').optional(),
  /** Check customers' VAT numbers against the EU's VIES service (needs its network; off by default). */
  METERLINE_VIES_CHECK: z.enum(['true', 'false']).default('false'),
  /** Another Stripe API base (stripe-mock, a test fake), e.g. http://127.0.0.1:12111; default Stripe's own. */
  METERLINE_STRIPE_API_BASE: z.string().url().optional(),
});

export type Env = z.infer<typeof EnvSchema>;

export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export interface Config {
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  apiPort: number;
  eventMaxAgeDays: number;
  workerMetricsAddress?: string;
  viesCheck: boolean;
  stripeApiBase?: string;
}

/** The configuration of a standalone API or worker process: both services must be given. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = parseEnv(source);
  const missing = [!env.DATABASE_URL && 'DATABASE_URL', !env.TEMPORAL_ADDRESS && 'TEMPORAL_ADDRESS'].filter(Boolean);
  if (missing.length > 0) {
    throw new Error(`Missing ${missing.join(' and ')}: set them, or run \`npm start\` to use the embedded defaults`);
  }
  return {
    databaseUrl: env.DATABASE_URL!,
    temporalAddress: env.TEMPORAL_ADDRESS!,
    temporalNamespace: env.TEMPORAL_NAMESPACE,
    apiPort: env.PORT,
    eventMaxAgeDays: env.METERLINE_EVENT_MAX_AGE_DAYS,
    workerMetricsAddress: env.METERLINE_WORKER_METRICS_ADDRESS,
    viesCheck: env.METERLINE_VIES_CHECK === 'true',
    stripeApiBase: env.METERLINE_STRIPE_API_BASE,
  };
}
