// Lago's metadata bodies (MetadataInput of the Lago OpenAPI 1.51): `{metadata: {key: value}}`, keys 1–100
// characters, values strings of at most 255 characters or null. Meterline also caps an object at 50 keys
// (checked after a merge too: api/routes/object-metadata.ts), so metadata stays a small label set.
import { z } from 'zod';

export const MAX_METADATA_KEYS = 50;

export const MetadataValues = z.record(
  z.string().min(1, 'value_is_mandatory').max(100, 'value_is_too_long'),
  z.string().max(255, 'value_is_too_long').nullable(),
);

export const MetadataBody = z.object({ metadata: MetadataValues.refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, 'too_many_keys') });

/** PUT /credit_notes/:lago_id (Lago's CreditNoteUpdateInput). */
export const CreditNoteUpdateBody = z.object({
  credit_note: z.object({
    refund_status: z.enum(['pending', 'succeeded', 'failed']),
    metadata: MetadataValues.refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, 'too_many_keys').optional(),
  }),
});
