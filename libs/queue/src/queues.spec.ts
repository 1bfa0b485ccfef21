import { FAN_OUT_JOB_EVENTS, fanOutJobId, fanOutJobs, JobName } from './queues';

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
