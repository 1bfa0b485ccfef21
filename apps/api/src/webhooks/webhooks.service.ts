import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode, newId } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { Database, Repositories, StoredResponse, WebhookFields } from '@pollarix/database';
import { blockedLiteralDestination, generateSecret } from '@pollarix/delivery';
import { DeliveryLifecycle } from '@pollarix/lifecycle';
import { createHash } from 'node:crypto';
import { CreatedWebhookListDto, CreateWebhookDto, SecretDto, UpdateWebhookDto, WebhookListDto } from './dto/webhook.dto';
import { WebhookListCache } from './webhook-list.cache';
import { toWebhookDto } from './webhook.mapper';

/** How long a rotated-out secret keeps signing alongside the new one. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 3_600_000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface CreateResult {
  body: CreatedWebhookListDto;
  /** True when an Idempotency-Key replayed an earlier result. */
  replayed: boolean;
}

@Injectable()
export class WebhooksService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly cache: WebhookListCache,
    private readonly lifecycle: DeliveryLifecycle,
  ) {}

  async list(departmentId: string): Promise<WebhookListDto> {
    const webhooks = await this.cache.list(departmentId, () => this.db.repos.webhooks.listByDepartment(departmentId));
    return { departmentId, webhooks: webhooks.map(toWebhookDto) };
  }

  async get(departmentId: string, webhookId: string): Promise<WebhookListDto> {
    const webhook = await this.db.repos.webhooks.findInDepartment(departmentId, webhookId);
    if (!webhook) throw webhookNotFound(webhookId);
    return { departmentId, webhooks: [toWebhookDto(webhook)] };
  }

  async create(departmentId: string, dto: CreateWebhookDto, idempotencyKey?: string): Promise<CreateResult> {
    const fields = this.toFields(dto);
    if (idempotencyKey === undefined) {
      const body = await this.db.transaction((repos) => this.insert(repos, departmentId, fields));
      await this.cache.changed(departmentId);
      return { body, replayed: false };
    }
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw AppError.field(ErrorCode.BadRequest, ['header', 'Idempotency-Key'], 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    const requestHash = createHash('sha256').update(JSON.stringify(fields)).digest('hex');
    const earlier = await this.db.repos.idempotency.find(departmentId, idempotencyKey);
    if (earlier) return replay(earlier, requestHash);

    const result = await this.db.transaction(async (repos) => {
      // Under the department lock a concurrent twin has either committed (and is replayed) or waits.
      await repos.webhooks.lockDepartment(departmentId);
      const raced = await repos.idempotency.find(departmentId, idempotencyKey);
      if (raced) return replay(raced, requestHash);
      const body = await this.insert(repos, departmentId, fields, true);
      await repos.idempotency.save(departmentId, idempotencyKey, { requestHash, status: 201, body });
      return { body, replayed: false };
    });
    if (!result.replayed) await this.cache.changed(departmentId);
    return result;
  }

  async update(departmentId: string, webhookId: string, dto: UpdateWebhookDto): Promise<WebhookListDto> {
    if (dto.id !== undefined && dto.id !== webhookId) {
      throw AppError.field(ErrorCode.Unprocessable, ['body', 'id'], `Body id ${dto.id} does not match the path's webhook id ${webhookId}`);
    }
    const updated = await this.db.repos.webhooks.update(departmentId, webhookId, this.toFields(dto));
    if (!updated) throw webhookNotFound(webhookId);
    // Deactivated: what was pending is cancelled (recoverable with recover once active again).
    if (!updated.isActive) await this.lifecycle.cancelForWebhook(webhookId);
    await this.cache.changed(departmentId);
    return { departmentId, webhooks: [toWebhookDto(updated)] };
  }

  async delete(departmentId: string, webhookId: string): Promise<void> {
    const deleted = await this.db.transaction(async (repos) => {
      if (!(await repos.webhooks.delete(departmentId, webhookId))) return false;
      await this.lifecycle.cancelForWebhook(webhookId, repos);
      return true;
    });
    if (!deleted) throw webhookNotFound(webhookId);
    await this.cache.changed(departmentId);
  }

  async getSecret(departmentId: string, webhookId: string): Promise<SecretDto> {
    const secrets = await this.db.repos.webhooks.getSigningSecrets(departmentId, webhookId);
    if (!secrets) throw webhookNotFound(webhookId);
    return { secret: secrets.current };
  }

  async rotateSecret(departmentId: string, webhookId: string): Promise<SecretDto> {
    const secret = generateSecret();
    const overlapUntil = new Date(Date.now() + SECRET_ROTATION_OVERLAP_MS);
    if (!(await this.db.repos.webhooks.rotateSecret(departmentId, webhookId, secret, overlapUntil))) {
      throw webhookNotFound(webhookId);
    }
    // Workers cache what they sign with: they must start signing with the new secret at once.
    await this.cache.changed(departmentId);
    return { secret };
  }

  /** Checks that need configuration, after the DTO's own: literal blocked destinations (SPEC §8). */
  assertAllowedDestination(url: string): void {
    if (this.config.deliveryAllowPrivateNetworks) return;
    const reason = blockedLiteralDestination(url);
    if (reason) {
      throw AppError.field(ErrorCode.BlockedDestination, ['body', 'url'], `Destination ${new URL(url).hostname} is not allowed (${reason} address)`);
    }
  }

  private toFields(dto: CreateWebhookDto): WebhookFields {
    this.assertAllowedDestination(dto.url);
    return {
      name: dto.name,
      url: dto.url,
      events: dto.events,
      headers: dto.headers ?? {},
      isActive: dto.isActive ?? true,
    };
  }

  private async insert(repos: Repositories, departmentId: string, fields: WebhookFields, locked = false): Promise<CreatedWebhookListDto> {
    if (!locked) await repos.webhooks.lockDepartment(departmentId);
    const count = await repos.webhooks.countInDepartment(departmentId);
    if (count >= this.config.maxWebhooksPerDepartment) {
      throw new AppError(ErrorCode.PlanLimit, `Department ${departmentId} already has ${count} webhooks, the plan's limit of ${this.config.maxWebhooksPerDepartment}`);
    }
    const secret = generateSecret();
    const webhook = await repos.webhooks.insert(newId('wh'), departmentId, fields, secret);
    return { departmentId, webhooks: [{ ...toWebhookDto(webhook), secret }] };
  }
}

export function webhookNotFound(webhookId: string): AppError {
  return AppError.notFound(`Webhook ${webhookId} not found in this department`);
}

function replay(earlier: StoredResponse, requestHash: string): CreateResult {
  if (earlier.requestHash !== requestHash) {
    throw AppError.field(ErrorCode.Unprocessable, ['header', 'Idempotency-Key'], 'This Idempotency-Key was already used with a different request body');
  }
  return { body: earlier.body as CreatedWebhookListDto, replayed: true };
}
