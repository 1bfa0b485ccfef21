import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import { QueueName } from '@pollarix/queue';
import { ADMIN_QUEUES_PATH } from '../metrics/route-label';
import { requireAdmin } from './admin-auth.middleware';

/**
 * bull-board at /admin/queues for operator tokens (`admin` over every department, `*`): the deliveries
 * and events queues (the API's producer connections), read-only — jobs can be inspected, not retried, removed or promoted from here; the
 * delivery log and POST …/recover are the supported ways to act on deliveries.
 */
@Module({
  imports: [
    BullBoardModule.forRoot({
      route: ADMIN_QUEUES_PATH,
      adapter: ExpressAdapter,
      middleware: requireAdmin,
      boardOptions: { uiConfig: { boardTitle: 'Pollarix queues' } },
    }),
    BullBoardModule.forFeature(
      { name: QueueName.Deliveries, adapter: BullMQAdapter, options: { readOnlyMode: true } },
      { name: QueueName.Events, adapter: BullMQAdapter, options: { readOnlyMode: true } },
    ),
  ],
})
export class AdminModule {}
