// PUT /subscriptions/:external_id/lifetime_usage's body (Lago 1.51's LifetimeUsageInput; api/routes/lifetime-usage.ts).
import { z } from 'zod';
import { safeCents } from './common';

export const LifetimeUsageBody = z.object({
  lifetime_usage: z.object({ external_historical_usage_amount_cents: safeCents }),
});
