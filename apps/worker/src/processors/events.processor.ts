import { Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@pollarix/config';
import { FanOutJob, JobName, LegacyFanOutJob, QueueName } from '@pollarix/queue';
import { Job } from 'bullmq';
import { FanOutService } from '../delivery/fan-out.service';
import { startWorker } from './worker-setup';

@Processor(QueueName.Events, { autorun: false })
export class EventsProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly fanOut: FanOutService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // Concurrent fan-out jobs are handled as one batch (FanOutService): many at a time make big batches.
    startWorker(this.worker, this.config, this.config.workerConcurrency);
  }

  /** SIGTERM: stop taking jobs and let the active ones finish while PostgreSQL is still connected. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.close();
  }

  async process(job: Job<FanOutJob | LegacyFanOutJob>): Promise<number> {
    switch (job.name) {
      case JobName.FanOut: {
        const eventIds = 'eventIds' in job.data ? job.data.eventIds : [job.data.eventId];
        const counts = await Promise.all(eventIds.map((id) => this.fanOut.fanOut(id)));
        return counts.reduce((sum, n) => sum + n, 0);
      }
      default:
        throw new Error(`No handler for job ${job.name} on queue ${QueueName.Events}`);
    }
  }
}
