// Request schemas of the FX operator API (api/routes/fx-rates.ts); also the OpenAPI source.
import { z } from 'zod';

export const FxSettingsBody = z.object({ fx_settings: z.object({ invoicing_enabled: z.boolean() }) });

export const ManualFxRateBody = z.object({
  fx_rate: z.object({
    base_currency: z.string(),
    quote_currency: z.string(),
    date: z.string(),
    rate: z.string(),
    note: z.string().max(500).nullable().optional(),
  }),
});

export const FxRateResolveQuery = z.object({ base_currency: z.string(), quote_currency: z.string(), date: z.string() });
