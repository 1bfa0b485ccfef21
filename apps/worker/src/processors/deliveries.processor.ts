import { Processor } from '@nestjs/bullmq';
import { AppConfig } from '@pollarix/config';
import { DeliverJob, JobName, QueueName } from '@pollarix/queue';
import { DelayedError, Job } from 'bullmq';
import { DeliveryService } from '../delivery/delivery.service';
import { throttleDelay } from '../delivery/in-flight';
import { ConfiguredProcessor } from './configured-processor';

/** Thin: one job is one attempt; the service (through the delivery lifecycle) decides and queues what comes next. */
@Processor(QueueName.Deliveries, { autorun: false })
export class DeliveriesProcessor extends ConfiguredProcessor {
  constructor(
    private readonly deliveries: DeliveryService,
    config: AppConfig,
  ) {
    super(config);
  }

  async process(job: Job<DeliverJob, string, JobName>, token?: string): Promise<string> {
    switch (job.name) {
      case JobName.Deliver: {
        const result = await this.retryWhileDatabaseUnavailable(job, token, () => this.deliveries.attempt(job.data));
        if (result.kind === 'throttled') {
          // Back to the queue without counting an attempt, waiting longer each time it finds no slot.
          await job.moveToDelayed(Date.now() + throttleDelay(job.attemptsStarted - 1), token);
          throw new DelayedError();
        }
        return result.kind;
      }
      default:
        throw new Error(`No handler for job ${job.name} on queue ${QueueName.Deliveries}`);
    }
  }
}
