import { Logger } from '@nestjs/common';
import { AttemptReport, unscrapedWorkerMetrics } from './worker-metrics';

describe('WorkerMetrics log lines', () => {
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  const report = (overrides: Partial<AttemptReport> = {}): AttemptReport => ({
    deliveryId: 'msg_1',
    webhookId: 'wh_1',
    departmentId: 'dept_1',
    attempt: 1,
    statusCode: null,
    durationMs: 3,
    error: 'blocked_destination',
    status: 'pending',
    outcome: 'retry',
    ...overrides,
  });

  it("puts a blocked destination's address and reason on the attempt line, for operators", () => {
    unscrapedWorkerMetrics().recordAttempt(report({ blockedAddress: '127.0.0.1', blockedReason: 'loopback' }));
    expect(log).toHaveBeenCalledWith(
      expect.objectContaining({ msg: 'delivery attempt', error: 'blocked_destination', blockedAddress: '127.0.0.1', blockedReason: 'loopback' }),
    );
  });

  it('leaves the fields out of other attempts', () => {
    unscrapedWorkerMetrics().recordAttempt(report({ error: 'timeout', blockedAddress: undefined, blockedReason: undefined }));
    expect(log.mock.calls[0][0]).not.toHaveProperty('blockedAddress');
  });

  it('says once per webhook which stored headers are left out, by name only', () => {
    const metrics = unscrapedWorkerMetrics();
    metrics.noticeDroppedHeaders('dept_1', 'wh_1', ['Expect']);
    metrics.noticeDroppedHeaders('dept_1', 'wh_1', ['Expect']);
    metrics.noticeDroppedHeaders('dept_2', 'wh_2', ['Upgrade', 'TE']);
    expect(warn.mock.calls.map(([line]) => line)).toEqual([
      { msg: 'stored custom headers left out: they cannot be sent', departmentId: 'dept_1', webhookId: 'wh_1', droppedHeaders: ['Expect'] },
      { msg: 'stored custom headers left out: they cannot be sent', departmentId: 'dept_2', webhookId: 'wh_2', droppedHeaders: ['Upgrade', 'TE'] },
    ]);
  });
});
