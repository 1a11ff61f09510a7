// Test clocks (Meterline sandbox extension, issue 11c; README "Test clocks"): create a clock, list and read them,
// advance one. A subscription created with `test_clock_id` lives on its clock (POST /subscriptions); advancing the
// clock moves every workflow on it: period closes, grace periods, payment due dates and dunning follow.
import { Router } from 'express';
import { advanceTestClock, createTestClock, getTestClock, listTestClocks, type TestClockRecord } from '../../db/repositories/test-clocks';
import { orgId } from '../auth';
import type { RouteContext } from '../context';
import { notFound, validationError } from '../errors';
import { iso, paginationMeta, paginationQuery, parseBody } from '../schemas/common';
import { TestClockAdvanceBody, TestClockCreateBody } from '../schemas/test-clocks';
import { announceClockTime } from '../services/test-clock-time';

export function serializeTestClock(c: TestClockRecord) {
  return { lago_id: c.id, name: c.name, frozen_time: iso(c.frozenTime)!, status: 'ready' as const, created_at: iso(c.createdAt)! };
}

export function testClockRoutes(ctx: RouteContext): Router {
  const r = Router();

  r.post('/test_clocks', async (req, res) => {
    const input = parseBody(TestClockCreateBody, req.body).test_clock;
    const frozenTime = input.frozen_time ? new Date(input.frozen_time) : new Date(Math.floor(Date.now() / 1000) * 1000);
    const clock = await createTestClock(ctx.db, orgId(res), { name: input.name ?? null, frozenTime });
    res.json({ test_clock: serializeTestClock(clock) });
  });

  r.get('/test_clocks', async (req, res) => {
    const { page, per_page } = parseBody(paginationQuery, req.query);
    const { clocks, totalCount } = await listTestClocks(ctx.db, orgId(res), page, per_page);
    res.json({ test_clocks: clocks.map(serializeTestClock), meta: paginationMeta(page, per_page, totalCount) });
  });

  r.get('/test_clocks/:lago_id', async (req, res) => {
    const clock = await getTestClock(ctx.db, orgId(res), req.params.lago_id);
    if (!clock) throw notFound('test_clock');
    res.json({ test_clock: serializeTestClock(clock) });
  });

  // Idempotent: advancing to the clock's current time again only re-announces it (a retry after a lost answer).
  r.post('/test_clocks/:lago_id/advance', async (req, res) => {
    const input = parseBody(TestClockAdvanceBody, req.body).test_clock;
    const organizationId = orgId(res);
    if (!(await getTestClock(ctx.db, organizationId, req.params.lago_id))) throw notFound('test_clock');
    const clock = await advanceTestClock(ctx.db, organizationId, req.params.lago_id, new Date(input.frozen_time));
    if (clock === null) throw notFound('test_clock');
    if (clock === 'backwards') throw validationError({ frozen_time: ['cannot_move_backwards'] });
    await announceClockTime(ctx, clock);
    res.json({ test_clock: serializeTestClock(clock) });
  });

  return r;
}
