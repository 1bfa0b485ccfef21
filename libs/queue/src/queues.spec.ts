import { deliverJob, deliverJobId, FAN_OUT_JOB_EVENTS, fanOutJobId, fanOutJobs, JobName } from './queues';

describe('fanOutJobs', () => {
  it('puts at most FAN_OUT_JOB_EVENTS events in a job, in order, none twice', () => {
    const ids = Array.from({ length: FAN_OUT_JOB_EVENTS * 2 + 1 }, (_, i) => `evt_${i}`);
    const jobs = fanOutJobs(ids);
    expect(jobs.map((j) => j.data.eventIds.length)).toEqual([FAN_OUT_JOB_EVENTS, FAN_OUT_JOB_EVENTS, 1]);
    expect(jobs.flatMap((j) => j.data.eventIds)).toEqual(ids);
    expect(jobs.every((j) => j.name === JobName.FanOut)).toBe(true);
    expect(fanOutJobs([])).toEqual([]);
  });

  it('gives the same events the same job id, and other events another', () => {
    expect(fanOutJobId(['evt_a'])).toBe('fan-evt_a');
    expect(fanOutJobId(['evt_a', 'evt_b'])).toBe(fanOutJobId(['evt_a', 'evt_b']));
    expect(fanOutJobId(['evt_a', 'evt_b'])).not.toBe(fanOutJobId(['evt_a', 'evt_c']));
    expect(fanOutJobId(['evt_a', 'evt_b'])).not.toBe(fanOutJobId(['evt_a']));
    expect(fanOutJobs(['evt_a', 'evt_b'])[0].opts.jobId).toBe(fanOutJobId(['evt_a', 'evt_b']));
  });
});

describe('deliverJob', () => {
  const scheduled = { id: 'msg_1', nextAttempt: 2, chain: 0, webhookId: 'wh_1', departmentId: 'dept_1' };

  it('keeps the first chain under <delivery>-<attempt> (jobs queued before chains were counted)', () => {
    expect(deliverJob(scheduled).opts.jobId).toBe('msg_1-2');
    expect(deliverJobId('msg_1', 2)).toBe('msg_1-2');
  });

  it('gives a restarted chain job ids that no earlier chain used, for the same attempt number', () => {
    const ids = [0, 1, 2].map((chain) => deliverJob({ ...scheduled, chain }).opts.jobId);
    expect(new Set(ids).size).toBe(3);
    expect(deliverJob({ ...scheduled, chain: 1 }).data).toEqual({ deliveryId: 'msg_1', attempt: 2, chain: 1, webhookId: 'wh_1', departmentId: 'dept_1' });
  });

  it('delays a job until its due time, never negatively', () => {
    const now = 1_000_000;
    expect(deliverJob({ ...scheduled, nextAttemptAt: new Date(now + 5000) }, now).opts.delay).toBe(5000);
    expect(deliverJob({ ...scheduled, nextAttemptAt: new Date(now - 5000) }, now).opts.delay).toBe(0);
  });
});
