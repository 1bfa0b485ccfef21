import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateTime, UNPROCESSABLE } from '@pollarix/common';
import type { DeliveryStatus } from '@pollarix/database';
import { IsOptional, IsString } from 'class-validator';

export class StatsQueryDto {
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Start of the window, floored to its UTC hour; default 24 hours ago, at most 7 days ago, not in the future',
  })
  @IsOptional()
  @IsDateTime({ ...UNPROCESSABLE, message: 'since must be an ISO-8601 date-time' })
  // A repeated parameter arrives as an array: a 422 naming `since`, like any other unusable value (the lower decorator is checked first, so its message is the one shown).
  @IsString({ ...UNPROCESSABLE, message: 'since must be given once' })
  since?: string;
}

/** Deliveries created in the hour, by their status now. */
export class StatsDeliveriesDto implements Record<DeliveryStatus, number> {
  @ApiProperty() succeeded!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() pending!: number;
  @ApiProperty() cancelled!: number;
}

export class StatsLatencyDto {
  @ApiProperty({ description: 'Median attempt duration (nearest rank), ms' }) p50!: number;
  @ApiProperty({ description: '95th percentile attempt duration (nearest rank), ms' }) p95!: number;
}

export class StatsBucketDto {
  @ApiProperty({ format: 'date-time', example: '2026-12-02T04:00:00.000Z' }) start!: string;
  @ApiProperty({ type: StatsDeliveriesDto }) deliveries!: StatsDeliveriesDto;
  @ApiProperty({ description: 'Attempts made in the hour' }) attempts!: number;
  @ApiProperty({ type: StatsLatencyDto, nullable: true, description: 'Of the attempts made in the hour; null when there were none' })
  latencyMs!: StatsLatencyDto | null;
}

export class WebhookStatsDto {
  @ApiProperty() departmentId!: string;
  @ApiProperty() webhookId!: string;
  @ApiProperty({ format: 'date-time', description: 'The requested since, floored to its UTC hour' }) since!: string;
  @ApiProperty({ format: 'date-time', description: 'Now' }) until!: string;
  @ApiProperty({ example: 3600 }) bucketSeconds!: number;
  @ApiProperty({ type: [StatsBucketDto], description: 'Every UTC hour from since to the current one, in order' }) buckets!: StatsBucketDto[];
}
