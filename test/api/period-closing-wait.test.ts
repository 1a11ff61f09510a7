// The API's wait for a period close (api/services/period-closing-wait.ts): a termination or plan change refused with
// the retryable period_closing is sent again until accepted, within a bound; other refusals are answered at once.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { sendWhilePeriodCloses } from '../../api/services/period-closing-wait';

const refusal = (type: string) => new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message: type, type, nonRetryable: false }));

test('sent again while the workflow answers period_closing, then the answer of the accepted update', async () => {
  let calls = 0;
  const out = await sendWhilePeriodCloses(async () => {
    calls += 1;
    if (calls < 3) throw refusal('period_closing');
    return 'terminated';
  });
  expect(out).toBe('terminated');
  expect(calls).toBe(3);
});

test('another refusal is answered at once, not retried', async () => {
  let calls = 0;
  const err = await sendWhilePeriodCloses(async () => {
    calls += 1;
    throw refusal('invalid_terminated_at');
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(calls).toBe(1);
});

test('a close that stays blocked: the period_closing refusal is answered once the wait is over', async () => {
  let calls = 0;
  const err = await sendWhilePeriodCloses(async () => {
    calls += 1;
    throw refusal('period_closing');
  }, 500).catch((e: unknown) => e);
  expect((err as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'period_closing' });
  expect(calls).toBeGreaterThan(1);
});
