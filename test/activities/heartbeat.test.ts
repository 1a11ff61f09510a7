// Activities heartbeat while they run, so the workflows' 10 s heartbeatTimeout detects a crashed worker quickly.
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { withHeartbeats } from '../../activities/heartbeat';
import { ACTIVITY_OPTIONS } from '../../workflows/activity-options';

describe('activity heartbeats', () => {
  it('a wrapped activity heartbeats at start and every interval while it runs, and returns its result', async () => {
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const wrapped = withHeartbeats({ slow: async (ms: number) => new Promise<string>((r) => setTimeout(() => r(`slept ${ms}`), ms)) }, 20);
    await expect(env.run(wrapped.slow, 200)).resolves.toBe('slept 200');
    expect(beats).toBeGreaterThanOrEqual(3);
  });

  it('every worker activity is wrapped (called in an activity context, it heartbeats before doing anything)', async () => {
    const activities = createActivities({ db: null as never });
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    // db is null: the activity body fails, but only after the wrapper's first heartbeat.
    await expect(env.run(activities.loadBillingRules, { organizationId: 'o', subscriptionId: 's' } as never)).rejects.toBeDefined();
    expect(beats).toBeGreaterThanOrEqual(1);
  });

  it('the workflows give activities a heartbeat timeout of at most 10 s (a crash costs seconds, not the 1-minute timeout)', () => {
    expect(ACTIVITY_OPTIONS.heartbeatTimeout).toBe('10 seconds');
  });
});
