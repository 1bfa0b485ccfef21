import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { Authenticated } from '../auth/authenticated.decorator';
import { ErrorResponseDto } from '../docs/error-response.dto';
import { DeliveriesService } from './deliveries.service';
import { DeliveryDetailDto, DeliveryListDto, DeliveryQueryDto, RecoverDto, RequeuedDto } from './dto/delivery.dto';
import { StatsQueryDto, WebhookStatsDto } from './dto/stats.dto';

@ApiTags('deliveries')
@ApiNotFoundResponse({ description: 'No such webhook or delivery in this department', type: ErrorResponseDto })
@Controller('department/:departmentId/webhook/:webhookId')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get('deliveries')
  @Authenticated({ scope: 'webhooks:read' })
  @ApiOperation({ summary: 'The delivery log of a webhook, newest first, with filters and cursor pagination' })
  @ApiOkResponse({ type: DeliveryListDto })
  list(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string, @Query() query: DeliveryQueryDto): Promise<DeliveryListDto> {
    return this.deliveries.list(departmentId, webhookId, query);
  }

  @Get('deliveries/:deliveryId')
  @Authenticated({ scope: 'webhooks:read' })
  @ApiOperation({ summary: 'One delivery with its payload and every attempt' })
  @ApiOkResponse({ type: DeliveryDetailDto })
  get(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string, @Param('deliveryId') deliveryId: string): Promise<DeliveryDetailDto> {
    return this.deliveries.get(departmentId, webhookId, deliveryId);
  }

  @Post('deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @Authenticated({ scope: 'webhooks:write' })
  @ApiOperation({ summary: 'Send a finished delivery again: a new attempt chain, same webhook-id' })
  @ApiAcceptedResponse()
  @ApiConflictResponse({ description: 'Still pending, or the webhook is inactive', type: ErrorResponseDto })
  async redeliver(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string, @Param('deliveryId') deliveryId: string): Promise<void> {
    await this.deliveries.redeliver(departmentId, webhookId, deliveryId);
  }

  @Get('stats')
  @Authenticated({ scope: 'webhooks:read' })
  @ApiOperation({ summary: "A webhook's last hours: deliveries by outcome and attempt latency (p50, p95) per UTC hour" })
  @ApiOkResponse({ type: WebhookStatsDto })
  @ApiUnprocessableEntityResponse({ description: 'since is not a date-time, in the future, or more than 7 days ago', type: ErrorResponseDto })
  stats(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string, @Query() query: StatsQueryDto): Promise<WebhookStatsDto> {
    return this.deliveries.stats(departmentId, webhookId, query);
  }

  @Post('recover')
  @HttpCode(202)
  @Authenticated({ scope: 'webhooks:write' })
  @ApiOperation({ summary: "Re-queue the webhook's failed and cancelled deliveries created in [since, until)" })
  @ApiAcceptedResponse({ type: RequeuedDto })
  recover(@Param('departmentId') departmentId: string, @Param('webhookId') webhookId: string, @Body() dto: RecoverDto): Promise<RequeuedDto> {
    return this.deliveries.recover(departmentId, webhookId, dto);
  }
}
