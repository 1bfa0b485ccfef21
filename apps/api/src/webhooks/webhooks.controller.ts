import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated } from '../auth/authenticated.decorator';
import { ErrorResponseDto } from '../docs/error-response.dto';
import { TestSendLimiter } from '../rate-limit/test-send.limiter';
import { CreatedWebhookListDto, CreateWebhookDto, SecretDto, TestSendDto, TestSendResultDto, UpdateWebhookDto, WebhookListDto } from './dto/webhook.dto';
import { TestSendService } from './test-send.service';
import { WebhooksService } from './webhooks.service';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'Retrying a create with the same key within 24 h returns the first result instead of creating again',
};

@ApiTags('webhooks')
@ApiBadRequestResponse({ description: 'Malformed request', type: ErrorResponseDto })
@ApiNotFoundResponse({ description: 'No such webhook in this department', type: ErrorResponseDto })
@ApiTooManyRequestsResponse({ description: 'Rate limit', type: ErrorResponseDto })
@Controller('department/:departmentId/webhook')
export class WebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly testSends: TestSendService,
    private readonly testSendLimiter: TestSendLimiter,
  ) {}

  @Get()
  @Authenticated({ scope: 'webhooks:read' })
  @ApiOperation({ summary: 'List all webhooks of a department (oldest first)' })
  @ApiOkResponse({ type: WebhookListDto })
  list(@Param('departmentId') departmentId: string): Promise<WebhookListDto> {
    return this.webhooks.list(departmentId);
  }

  /** The reference's two create routes (`/` and `/add`) have one body and one behaviour. */
  @Post(['', 'add'])
  @HttpCode(201)
  @Authenticated({ scope: 'webhooks:write' })
  @ApiOperation({ summary: 'Create (or add) a webhook; the response carries its signing secret, shown only here' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiCreatedResponse({ type: CreatedWebhookListDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  async create(
    @Param('departmentId') departmentId: string,
    @Body() dto: CreateWebhookDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CreatedWebhookListDto> {
    const { body, replayed } = await this.webhooks.create(departmentId, dto, idempotencyKey);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return body;
  }

  @Post('test-send')
  @HttpCode(200)
  @Authenticated({ scope: 'webhooks:write' })
  @ApiOperation({ summary: 'Send a signed WEBHOOK_TEST event to a URL now (10 per minute per department)' })
  @ApiOkResponse({ type: TestSendResultDto })
  @ApiBadGatewayResponse({ description: 'The receiver did not answer 2xx (type delivery_failed)', type: ErrorResponseDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  async testSend(@Param('departmentId') departmentId: string, @Body() dto: TestSendDto): Promise<TestSendResultDto> {
    await this.testSendLimiter.consume(departmentId);
    return this.testSends.send(departmentId, dto);
  }

  @Get(':webhookId')
  @Authenticated({ scope: 'webhooks:read' })
  @ApiOperation({ summary: 'Get one webhook' })
  @ApiOkResponse({ type: WebhookListDto })
  get(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string): Promise<WebhookListDto> {
    return this.webhooks.get(departmentId, webhookId);
  }

  @Put(':webhookId')
  @Authenticated({ scope: 'webhooks:write' })
  @ApiOperation({ summary: 'Replace a webhook (headers omitted → {}, isActive omitted → true)' })
  @ApiOkResponse({ type: WebhookListDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  update(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string, @Body() dto: UpdateWebhookDto): Promise<WebhookListDto> {
    return this.webhooks.update(departmentId, webhookId, dto);
  }

  @Delete(':webhookId')
  @HttpCode(204)
  @Authenticated({ scope: 'webhooks:write' })
  @ApiOperation({ summary: 'Delete a webhook; its pending deliveries are cancelled' })
  @ApiNoContentResponse()
  delete(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string): Promise<void> {
    return this.webhooks.delete(departmentId, webhookId);
  }

  @Get(':webhookId/secret')
  @Authenticated({ scope: 'webhooks:write' })
  @ApiOperation({ summary: "The webhook's current signing secret" })
  @ApiOkResponse({ type: SecretDto })
  secret(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string): Promise<SecretDto> {
    return this.webhooks.getSecret(departmentId, webhookId);
  }

  @Post(':webhookId/secret/rotate')
  @HttpCode(200)
  @Authenticated({ scope: 'webhooks:write' })
  @ApiOperation({ summary: 'Rotate the signing secret; the old one keeps signing alongside for 24 h' })
  @ApiOkResponse({ type: SecretDto })
  rotate(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string): Promise<SecretDto> {
    return this.webhooks.rotateSecret(departmentId, webhookId);
  }
}
