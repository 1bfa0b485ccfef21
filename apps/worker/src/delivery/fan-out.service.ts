import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { newId } from '@pollarix/common';
import { Database, PendingJob } from '@pollarix/database';
import { addDeliverJobs, QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';

/** Turns a stored event into one pending delivery per subscribed webhook, and queues their first attempts. */
@Injectable()
export class FanOutService {
  constructor(
    private readonly db: Database,
    @InjectQueue(QueueName.Deliveries) private readonly deliveries: Queue,
  ) {}

  /** Idempotent: run twice for one event, it creates no second delivery and queues no second first attempt. */
  async fanOut(eventId: string): Promise<number> {
    const jobs = await this.db.transaction(async (repos) => {
      const event = await repos.events.findById(eventId);
      if (!event) return [];
      // Subscribers as of publish time: webhooks created later do not receive it.
      const webhookIds = await repos.webhooks.findSubscribedIds(event.departmentId, event.type, event.createdAt);
      const pending = await repos.deliveries.createForEvent(event, webhookIds, () => newId('msg'));
      await repos.events.markFannedOut(event.id);
      return pending;
    });
    await this.enqueue(jobs);
    return jobs.length;
  }

  /** Queues attempts; a job id that already exists is left alone by BullMQ (deterministic ids). */
  enqueue(jobs: PendingJob[]): Promise<void> {
    return addDeliverJobs(this.deliveries, jobs.map((job) => ({ deliveryId: job.id, attempt: job.nextAttempt, at: job.nextAttemptAt })));
  }
}
