import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { canAccessDepartment, Principal } from '@pollarix/auth';
import { AppError, ErrorCode, ErrorDetail } from '@pollarix/common';
import { EventIdConflictError, EventPublisher, EventValidationError, MAX_BATCH_EVENTS } from '@pollarix/events';
import type { Request } from 'express';
import { Authenticated } from '../auth/authenticated.decorator';
import { ErrorResponseDto } from '../docs/error-response.dto';
import { ApiMetrics } from '../metrics/api-metrics';
import { EventBatchDto, EventDto, PublishedBatchDto, PublishedEventDto } from './dto/event.dto';

/** The internal producer's HTTP door (SPEC §6): validated, stored, then queued; 202 once durable. */
@ApiTags('internal')
@Controller('internal/events')
export class InternalEventsController {
  constructor(
    private readonly publisher: EventPublisher,
    private readonly metrics: ApiMetrics,
  ) {}

  @Post()
  @HttpCode(202)
  @Authenticated({ scope: 'events:publish' })
  @ApiOperation({ summary: 'Publish one event (a repeated id is accepted once and answered with the first event)' })
  @ApiBody({ type: EventDto })
  @ApiAcceptedResponse({ type: PublishedEventDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  async publish(@Body() body: EventDto, @Req() req: Request & { user: Principal }): Promise<PublishedEventDto> {
    const [event] = await this.publishAll([body], req.user, ['body']);
    return event;
  }

  @Post('batch')
  @HttpCode(202)
  @Authenticated({ scope: 'events:publish' })
  @ApiOperation({ summary: `Publish up to ${MAX_BATCH_EVENTS} events at once (all or none)` })
  @ApiAcceptedResponse({ type: PublishedBatchDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto })
  async publishBatch(@Body() body: EventBatchDto, @Req() req: Request & { user: Principal }): Promise<PublishedBatchDto> {
    return { events: await this.publishAll(body.events, req.user, ['body', 'events']) };
  }

  private async publishAll(events: EventDto[], principal: Principal, loc: (string | number)[]): Promise<PublishedEventDto[]> {
    const batch = loc.length > 1;
    events.forEach((event, index) => {
      if (typeof event.departmentId === 'string' && !canAccessDepartment(principal, event.departmentId)) {
        throw new AppError(ErrorCode.Forbidden, [
          { msg: `This token cannot publish to department ${event.departmentId}`, type: ErrorCode.Forbidden, loc: [...loc, ...(batch ? [index] : []), 'departmentId'] },
        ]);
      }
    });
    try {
      // AppValidationPipe already refused (422) any body with text PostgreSQL cannot store.
      const { events: published, stored } = await this.publisher.publishBatchDetailed(events, { storableChecked: true });
      this.metrics.recordPublished(stored);
      return published;
    } catch (error) {
      if (error instanceof EventValidationError) {
        throw new AppError(
          ErrorCode.Unprocessable,
          error.problems.map((p): ErrorDetail => ({
            msg: p.msg,
            type: ErrorCode.Unprocessable,
            loc: [...loc, ...(batch && p.index !== undefined ? [p.index] : []), ...p.loc],
          })),
        );
      }
      if (error instanceof EventIdConflictError) throw new AppError(ErrorCode.Conflict, error.message);
      throw error;
    }
  }
}
