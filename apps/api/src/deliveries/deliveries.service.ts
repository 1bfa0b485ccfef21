import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '@pollarix/common';
import { Database, DeliveryCursor, DeliveryEntity, PendingJob, RECOVERABLE_STATUSES, SweepCursor } from '@pollarix/database';
import { toEnvelope } from '@pollarix/events';
import { addDeliverJobs, QueueName, queueRestartedPages } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import { webhookNotFound } from '../webhooks/webhooks.service';
import { DeliveryDetailDto, DeliveryListDto, DeliveryQueryDto, DeliverySummaryDto, RecoverDto, RequeuedDto } from './dto/delivery.dto';

const DEFAULT_LIMIT = 20;
const RECOVER_PAGE = 1_000;

function toSummary(d: DeliveryEntity): DeliverySummaryDto {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
  };
}

function encodeCursor(d: DeliveryEntity): string {
  return Buffer.from(JSON.stringify([d.createdAt.toISOString(), d.id])).toString('base64url');
}

function decodeCursor(cursor: string): DeliveryCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (typeof id !== 'string' || Number.isNaN(createdAt.getTime())) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw AppError.field(ErrorCode.BadRequest, ['query', 'cursor'], 'cursor is not a nextCursor returned by this API');
  }
}

/** The delivery log as customers read and replay it (SPEC §5). */
@Injectable()
export class DeliveriesService {
  constructor(
    private readonly db: Database,
    @InjectQueue(QueueName.Deliveries) private readonly queue: Queue,
  ) {}

  async list(departmentId: string, webhookId: string, query: DeliveryQueryDto): Promise<DeliveryListDto> {
    await this.assertWebhook(departmentId, webhookId);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const rows = await this.db.repos.deliveries.list(
      webhookId,
      {
        status: query.status,
        eventType: query.eventType,
        since: query.since ? new Date(query.since) : undefined,
        until: query.until ? new Date(query.until) : undefined,
      },
      limit + 1,
      query.cursor ? decodeCursor(query.cursor) : undefined,
    );
    const page = rows.slice(0, limit);
    return { departmentId, webhookId, deliveries: page.map(toSummary), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }

  async get(departmentId: string, webhookId: string, deliveryId: string): Promise<DeliveryDetailDto> {
    const delivery = await this.find(departmentId, webhookId, deliveryId);
    const [event, attempts] = await Promise.all([this.db.repos.events.findById(delivery.eventId), this.db.repos.deliveries.attemptsOf(delivery.id)]);
    return {
      ...toSummary(delivery),
      departmentId,
      webhookId,
      payload: event ? { ...toEnvelope(event) } : {},
      attempts: attempts.map((a) => ({
        attempt: a.attempt,
        requestedAt: a.requestedAt.toISOString(),
        durationMs: a.durationMs,
        statusCode: a.statusCode,
        responseBody: a.responseBody,
        responseBodyTruncated: a.responseBodyTruncated,
        responseContentType: a.responseContentType,
        error: a.error,
        errorMessage: a.errorMessage,
      })),
    };
  }

  async redeliver(departmentId: string, webhookId: string, deliveryId: string): Promise<void> {
    const delivery = await this.find(departmentId, webhookId, deliveryId);
    if (delivery.status === 'pending') {
      throw new AppError(ErrorCode.Conflict, `Delivery ${deliveryId} is still pending; it will be attempted again on its own`);
    }
    await this.assertActive(departmentId, webhookId);
    await this.enqueue((await this.db.repos.deliveries.restartChains({ webhookId, ids: [deliveryId] })).jobs);
  }

  async recover(departmentId: string, webhookId: string, dto: RecoverDto): Promise<RequeuedDto> {
    await this.assertActive(departmentId, webhookId);
    const since = new Date(dto.since);
    const until = dto.until ? new Date(dto.until) : undefined;
    if (until && until <= since) throw AppError.field(ErrorCode.Unprocessable, ['body', 'until'], 'until must be after since');
    const requeued = await queueRestartedPages<SweepCursor>(this.queue, (after) =>
      this.db.repos.deliveries.restartChains({ webhookId, statuses: RECOVERABLE_STATUSES, since, until, after }, RECOVER_PAGE),
    );
    return { requeued };
  }

  private enqueue(jobs: PendingJob[]): Promise<void> {
    return addDeliverJobs(this.queue, jobs);
  }

  private async find(departmentId: string, webhookId: string, deliveryId: string): Promise<DeliveryEntity> {
    await this.assertWebhook(departmentId, webhookId);
    const delivery = await this.db.repos.deliveries.findInWebhook(webhookId, deliveryId);
    if (!delivery) throw AppError.notFound(`Delivery ${deliveryId} not found for webhook ${webhookId}`);
    return delivery;
  }

  private async assertWebhook(departmentId: string, webhookId: string): Promise<void> {
    if (!(await this.db.repos.webhooks.findInDepartment(departmentId, webhookId))) throw webhookNotFound(webhookId);
  }

  private async assertActive(departmentId: string, webhookId: string): Promise<void> {
    const webhook = await this.db.repos.webhooks.findInDepartment(departmentId, webhookId);
    if (!webhook) throw webhookNotFound(webhookId);
    if (!webhook.isActive) {
      throw new AppError(
        ErrorCode.Conflict,
        `Webhook ${webhookId} is inactive${webhook.disabledReason ? ` (${webhook.disabledReason})` : ''}; activate it before sending again`,
      );
    }
  }
}
