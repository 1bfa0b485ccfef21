import { InjectQueue, Processor } from '@nestjs/bullmq';
import { AppConfig } from '@pollarix/config';
import { addDeliverJobs, DeliverJob, JobName, QueueName } from '@pollarix/queue';
import { DelayedError, Job, Queue } from 'bullmq';
import { DeliveryService } from '../delivery/delivery.service';
import { ConfiguredProcessor } from './configured-processor';

const THROTTLE_DELAY_MS = 250;

/** Thin: one job is one attempt; the service decides, the processor queues what comes next. */
@Processor(QueueName.Deliveries, { autorun: false })
export class DeliveriesProcessor extends ConfiguredProcessor {
  constructor(
    private readonly deliveries: DeliveryService,
    @InjectQueue(QueueName.Deliveries) private readonly queue: Queue,
    config: AppConfig,
  ) {
    super(config);
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
          await addDeliverJobs(this.queue, [
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
