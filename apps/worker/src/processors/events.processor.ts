import { Processor } from '@nestjs/bullmq';
import { AppConfig } from '@pollarix/config';
import { FanOutJob, JobName, LegacyFanOutJob, QueueName } from '@pollarix/queue';
import { Job } from 'bullmq';
import { FanOutService } from '../delivery/fan-out.service';
import { ConfiguredProcessor } from './configured-processor';

/** Concurrent fan-out jobs are handled as one batch (FanOutService): many at a time make big batches. */
@Processor(QueueName.Events, { autorun: false })
export class EventsProcessor extends ConfiguredProcessor {
  constructor(
    private readonly fanOut: FanOutService,
    config: AppConfig,
  ) {
    super(config);
  }

  async process(job: Job<FanOutJob | LegacyFanOutJob, number, JobName>, token?: string): Promise<number> {
    switch (job.name) {
      case JobName.FanOut: {
        const eventIds = 'eventIds' in job.data ? job.data.eventIds : [job.data.eventId];
        const counts = await this.retryWhileDatabaseUnavailable(job, token, () => Promise.all(eventIds.map((id) => this.fanOut.fanOut(id))));
        return counts.reduce((sum, n) => sum + n, 0);
      }
      default:
        throw new Error(`No handler for job ${job.name} on queue ${QueueName.Events}`);
    }
  }
}
