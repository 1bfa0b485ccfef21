import { Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { DeliverJob, JobName, QueueName } from '@pollarix/queue';
import { DelayedError, Job } from 'bullmq';
import { DeliveryService } from '../delivery/delivery.service';
import { FanOutService } from '../delivery/fan-out.service';
import { startWorker } from './worker-setup';

const THROTTLE_DELAY_MS = 250;

/** Thin: one job is one attempt; the service decides, the processor queues what comes next. */
@Processor(QueueName.Deliveries, { autorun: false })
export class DeliveriesProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly deliveries: DeliveryService,
    private readonly queueing: FanOutService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    startWorker(this.worker, this.config, this.config.workerConcurrency);
  }

  /** SIGTERM: stop taking jobs and let the active ones finish while PostgreSQL is still connected. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.close();
  }

  async process(job: Job<DeliverJob>, token?: string): Promise<string> {
    switch (job.name) {
      case JobName.Deliver: {
        const result = await this.deliveries.attempt(job.data);
        if (result.kind === 'throttled') {
          // Give the slot back without counting an attempt; jitter spreads the retries.
          await job.moveToDelayed(Date.now() + THROTTLE_DELAY_MS * (1 + Math.random()), token);
          throw new DelayedError();
        }
        if (result.kind === 'attempted' && result.next) {
          await this.queueing.enqueue([
            { id: job.data.deliveryId, nextAttempt: result.next.attempt, nextAttemptAt: new Date(Date.now() + result.next.delayMs) },
          ]);
        }
        return result.kind;
      }
      default:
        throw new Error(`No handler for job ${job.name} on queue ${QueueName.Deliveries}`);
    }
  }
}
