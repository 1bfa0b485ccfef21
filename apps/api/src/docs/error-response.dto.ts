import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ErrorDetailDto {
  @ApiProperty({ example: 'Invalid URL format' })
  msg!: string;

  @ApiProperty({
    example: 'validation_error',
    description:
      'validation_error (400), value_error or blocked_destination (422), unauthorized, forbidden, csrf_failed, plan_limit, not_found, payload_too_large, unsupported_media_type, rate_limited, delivery_failed, internal_error',
  })
  type!: string;

  @ApiPropertyOptional({ example: ['body', 'url'], type: [String], description: 'Where the problem is, when a field is at fault' })
  loc?: (string | number)[];
}

/** The one error format of every route (the reference's). */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  status!: number;

  @ApiProperty({ type: [ErrorDetailDto] })
  detail!: ErrorDetailDto[];
}
