import { z } from 'zod';

/** POST /api_keys (Meterline extension): an optional display name. */
export const ApiKeyCreateBody = z.object({
  api_key: z.object({ name: z.string().min(1).max(255).optional().default('default') }).optional().default({ name: 'default' }),
});
