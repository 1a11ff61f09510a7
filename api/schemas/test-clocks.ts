// Test clocks (Meterline sandbox extension; Lago has none): POST /test_clocks and POST /test_clocks/:id/advance.
import { z } from 'zod';
import { isoDateTime } from './common';

export const TestClockCreateBody = z.object({
  test_clock: z.object({
    name: z.string().max(255).nullable().optional(),
    /** The clock's starting time (ISO instant); now when absent. */
    frozen_time: isoDateTime.optional(),
  }),
});

export const TestClockAdvanceBody = z.object({
  test_clock: z.object({
    /** The clock's new time: not earlier than its current time. */
    frozen_time: isoDateTime,
  }),
});
