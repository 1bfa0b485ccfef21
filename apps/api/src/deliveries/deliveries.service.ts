import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '@pollarix/common';
import { Database, DeliveryCursor, DeliveryEntity } from '@pollarix/database';
import { toEnvelope } from '@pollarix/events';
import { DeliveryLifecycle, LifecycleRefusal } from '@pollarix/lifecycle';
import { webhookNotFound } from '../webhooks/webhooks.service';
import { DeliveryDetailDto, DeliveryListDto, DeliveryQueryDto, DeliverySummaryDto, RecoverDto, RequeuedDto } from './dto/delivery.dto';
import { StatsQueryDto, WebhookStatsDto } from './dto/stats.dto';
import { BUCKET_MS, fillBuckets, statsWindow } from './webhook-stats';

const DEFAULT_LIMIT = 20;

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

/** The lifecycle's refusals in the API's words (SPEC §5: 404 for what is not there, 409 for what cannot be sent again now). */
function refusalError(error: unknown): never {
  if (!(error instanceof LifecycleRefusal)) throw error;
  const { webhookId, details } = error;
  switch (error.reason) {
    case 'webhook_not_found':
      throw webhookNotFound(webhookId);
    case 'delivery_not_found':
      throw AppError.notFound(`Delivery ${details.deliveryId} not found for webhook ${webhookId}`);
    case 'delivery_pending':
      throw new AppError(ErrorCode.Conflict, `Delivery ${details.deliveryId} is still pending; it will be attempted again on its own`);
    case 'webhook_inactive':
      throw new AppError(
        ErrorCode.Conflict,
        `Webhook ${webhookId} is inactive${details.disabledReason ? ` (${details.disabledReason})` : ''}; activate it before sending again`,
      );
    case 'empty_window':
      throw AppError.field(ErrorCode.Unprocessable, ['body', 'until'], 'until must be after since');
  }
}

/** The delivery log as customers read and replay it (SPEC §5). */
@Injectable()
export class DeliveriesService {
  constructor(
    private readonly db: Database,
    private readonly lifecycle: DeliveryLifecycle,
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

  async stats(departmentId: string, webhookId: string, query: StatsQueryDto): Promise<WebhookStatsDto> {
    const window = statsWindow(query.since, new Date());
    await this.assertWebhook(departmentId, webhookId);
    const rows = await this.db.repos.deliveries.hourlyStats(webhookId, window.since, window.until);
    return {
      departmentId,
      webhookId,
      since: window.since.toISOString(),
      until: window.until.toISOString(),
      bucketSeconds: BUCKET_MS / 1000,
      buckets: fillBuckets(window, rows.deliveries, rows.attempts),
    };
  }

  async redeliver(departmentId: string, webhookId: string, deliveryId: string): Promise<void> {
    await this.lifecycle.redeliver(departmentId, webhookId, deliveryId).catch(refusalError);
  }

  async recover(departmentId: string, webhookId: string, dto: RecoverDto): Promise<RequeuedDto> {
    const request = { departmentId, webhookId, since: new Date(dto.since), until: dto.until ? new Date(dto.until) : undefined };
    return { requeued: await this.lifecycle.recover(request).catch(refusalError) };
  }

  private async find(departmentId: string, webhookId: string, deliveryId: string): Promise<DeliveryEntity> {
    await this.assertWebhook(departmentId, webhookId);
    const delivery = await this.db.repos.deliveries.findInWebhook(webhookId, deliveryId);
    if (!delivery) refusalError(new LifecycleRefusal('delivery_not_found', webhookId, { deliveryId }));
    return delivery;
  }

  private async assertWebhook(departmentId: string, webhookId: string): Promise<void> {
    if (!(await this.db.repos.webhooks.findInDepartment(departmentId, webhookId))) throw webhookNotFound(webhookId);
  }
}
