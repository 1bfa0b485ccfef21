import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { MicroBatcher } from '@pollarix/common';
import { Database } from '@pollarix/database';
import { addDeliverJobs, QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import { WorkerMetrics } from '../ops/worker-metrics';

/**
 * Turns stored events into one pending delivery per subscribed webhook, and queues their first
 * attempts. Fan-out jobs running together are handled as one batch: one statement and one queue
 * call, whatever the number of events. A batch that fails is retried event by event, so one event
 * that breaks the statement fails its own fan-out job only (the sweeper tries it again later).
 */
@Injectable()
export class FanOutService implements OnApplicationShutdown {
  private readonly batcher = new MicroBatcher((eventIds: string[]) => this.fanOutMany(eventIds), {
    maxBatch: 500,
    maxInFlight: 2,
    onItemFailure: (eventId, error) => this.metrics.recordItemFailure('fan_out', `Could not fan out event ${eventId}`, error),
  });

  constructor(
    private readonly db: Database,
    @InjectQueue(QueueName.Deliveries) private readonly deliveries: Queue,
    private readonly metrics: WorkerMetrics,
  ) {}

  /**
   * Idempotent: run twice for one event, it creates no second delivery and queues no second first
   * attempt. Resolves with the number of pending deliveries of the event once they are queued.
   */
  fanOut(eventId: string): Promise<number> {
    return this.batcher.add(eventId);
  }

  onApplicationShutdown(): Promise<void> {
    return this.batcher.drain();
  }

  private async fanOutMany(eventIds: string[]): Promise<number[]> {
    const jobs = await this.db.repos.deliveries.fanOut(eventIds);
    // A job id that already exists is left alone by BullMQ (deterministic ids).
    await addDeliverJobs(this.deliveries, jobs);
    const perEvent = new Map<string, number>();
    for (const job of jobs) perEvent.set(job.eventId, (perEvent.get(job.eventId) ?? 0) + 1);
    return eventIds.map((id) => perEvent.get(id) ?? 0);
  }
}
