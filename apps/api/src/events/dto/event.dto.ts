import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EVENT_TYPES, MAX_BATCH_EVENTS } from '@pollarix/events';
import { KeepAsSent, UNPROCESSABLE } from '@pollarix/common';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsDefined, IsObject, IsOptional, IsString } from 'class-validator';

/** Structure only (400); the catalog's schemas judge the values (422) in the publisher. */
export class EventDto {
  @ApiProperty({ enum: EVENT_TYPES, example: 'SURVEY_COMPLETED' })
  @IsDefined({ message: 'type is required' })
  @IsString()
  type!: string;

  @ApiProperty({ example: 'dept_xyz789' })
  @IsDefined({ message: 'departmentId is required' })
  @IsString()
  departmentId!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' } })
  @IsDefined({ message: 'data is required' })
  @IsObject({ message: 'data must be a JSON object' })
  @KeepAsSent()
  data!: Record<string, unknown>;

  @ApiPropertyOptional({ example: 'evt_2Vb7…', description: 'Idempotency: an id published twice is delivered once' })
  @IsOptional()
  @IsString()
  id?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'When it happened; defaults to the time of publishing' })
  @IsOptional()
  @IsString()
  timestamp?: string;
}

export class EventBatchDto {
  @ApiProperty({ type: [EventDto], maxItems: MAX_BATCH_EVENTS })
  @IsDefined({ message: 'events is required' })
  @IsArray()
  @ArrayNotEmpty({ ...UNPROCESSABLE, message: 'events must not be empty' })
  @ArrayMaxSize(MAX_BATCH_EVENTS, { ...UNPROCESSABLE, message: `A batch holds at most ${MAX_BATCH_EVENTS} events` })
  @IsObject({ each: true, message: 'each event must be a JSON object' })
  @KeepAsSent()
  events!: EventDto[];
}

export class PublishedEventDto {
  @ApiProperty({ example: 'evt_2Vb7…' }) id!: string;
  @ApiProperty({ example: 'SURVEY_COMPLETED' }) type!: string;
  @ApiProperty({ format: 'date-time' }) timestamp!: string;
  @ApiProperty({ example: 'dept_xyz789' }) departmentId!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data!: Record<string, unknown>;
}

export class PublishedBatchDto {
  @ApiProperty({ type: [PublishedEventDto] }) events!: PublishedEventDto[];
}
