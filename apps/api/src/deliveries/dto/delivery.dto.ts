import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateTime, UNPROCESSABLE } from '@pollarix/common';
import { DELIVERY_STATUSES, DeliveryStatus } from '@pollarix/database';
import { Type } from 'class-transformer';
import { IsDefined, IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

export class DeliveryQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, { ...UNPROCESSABLE, message: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
  status?: DeliveryStatus;

  @ApiPropertyOptional({ example: 'SURVEY_COMPLETED' })
  @IsOptional()
  @IsString()
  eventType?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Created at or after' })
  @IsOptional()
  @IsDateTime({ message: 'since must be an ISO-8601 date-time' })
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Created before' })
  @IsOptional()
  @IsDateTime({ message: 'until must be an ISO-8601 date-time' })
  until?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1, UNPROCESSABLE)
  @Max(100, UNPROCESSABLE)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  cursor?: string;
}

export class RecoverDto {
  @ApiProperty({ format: 'date-time' })
  @IsDefined({ message: 'since is required' })
  @IsDateTime({ message: 'since must be an ISO-8601 date-time' })
  since!: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsDateTime({ message: 'until must be an ISO-8601 date-time' })
  until?: string;
}

export class DeliverySummaryDto {
  @ApiProperty({ example: 'msg_2Vb7…', description: 'Also the webhook-id header of every attempt' }) id!: string;
  @ApiProperty() eventId!: string;
  @ApiProperty() eventType!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status!: DeliveryStatus;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: Number, nullable: true }) lastStatusCode!: number | null;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastAttemptAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) nextAttemptAt!: string | null;
}

export class DeliveryListDto {
  @ApiProperty() departmentId!: string;
  @ApiProperty() webhookId!: string;
  @ApiProperty({ type: [DeliverySummaryDto] }) deliveries!: DeliverySummaryDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class AttemptDto {
  @ApiProperty() attempt!: number;
  @ApiProperty({ format: 'date-time' }) requestedAt!: string;
  @ApiProperty() durationMs!: number;
  @ApiProperty({ type: Number, nullable: true }) statusCode!: number | null;
  @ApiProperty({
    description:
      'First 20 KiB of the response as readable text: invalid UTF-8 replaced by U+FFFD, NUL and other control characters escaped (binary bodies are shown, not kept byte for byte)',
  })
  responseBody!: string;
  @ApiProperty() responseBodyTruncated!: boolean;
  @ApiProperty({ type: String, nullable: true, description: "The response's Content-Type header" }) responseContentType!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'timeout | dns | connection_refused | connection_reset | tls | invalid_response | blocked_destination | http_status | undecryptable | …',
  })
  error!: string | null;
  @ApiProperty({ type: String, nullable: true }) errorMessage!: string | null;
}

/** One delivery with its payload and every attempt (`attempts` is the list here, not a count). */
export class DeliveryDetailDto {
  @ApiProperty() id!: string;
  @ApiProperty() departmentId!: string;
  @ApiProperty() webhookId!: string;
  @ApiProperty() eventId!: string;
  @ApiProperty() eventType!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status!: DeliveryStatus;
  @ApiProperty({ type: Number, nullable: true }) lastStatusCode!: number | null;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastAttemptAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) nextAttemptAt!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The envelope sent' }) payload!: Record<string, unknown>;
  @ApiProperty({ type: [AttemptDto] }) attempts!: AttemptDto[];
}

export class RequeuedDto {
  @ApiProperty() requeued!: number;
}
