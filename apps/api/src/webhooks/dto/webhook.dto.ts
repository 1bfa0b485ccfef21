import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { KeepAsSent, UNPROCESSABLE } from '@pollarix/common';
import { RESERVED_HEADER_NAMES, RESERVED_HEADER_PREFIXES } from '@pollarix/delivery';
import { SUBSCRIBABLE_EVENT_TYPES } from '@pollarix/events';
import { ArrayNotEmpty, ArrayUnique, IsArray, IsBoolean, IsDefined, IsIn, IsObject, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import {
  AcceptableHeaders,
  EVENT_TYPES_MESSAGE,
  HeaderValuesAreStrings,
  IsAbsoluteUrl,
  IsHttpUrl,
  MAX_HEADERS,
  MAX_NAME_LENGTH,
  MAX_URL_LENGTH,
  NotBlank,
} from './validators';

const HEADERS_DESCRIPTION = `Custom HTTP headers sent with every delivery (at most ${MAX_HEADERS}; values up to 4096 characters; not ${[
  ...RESERVED_HEADER_NAMES,
  ...RESERVED_HEADER_PREFIXES.map((prefix) => `${prefix}*`),
].join(', ')}, in any case). Encrypted at rest.`;

/** A destination URL: absolute (else 400), http(s) and at most 2048 characters (else 422). */
function UrlField(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ example: 'https://your-server.com/webhooks/pollarix', maxLength: MAX_URL_LENGTH }),
    IsDefined({ message: 'url is required' }),
    IsString(),
    IsAbsoluteUrl(),
    IsHttpUrl(),
    MaxLength(MAX_URL_LENGTH, { ...UNPROCESSABLE, message: `url must be at most ${MAX_URL_LENGTH} characters` }),
  );
}

function HeadersField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'object',
      additionalProperties: { type: 'string' },
      example: { Authorization: 'Bearer your-secret-token' },
      description: HEADERS_DESCRIPTION,
    }),
    IsOptional(),
    IsObject({ message: 'headers must be an object of header names to string values' }),
    HeaderValuesAreStrings(),
    AcceptableHeaders(),
    KeepAsSent(),
  );
}

/** Body of POST …/webhook/ and POST …/webhook/add. */
export class CreateWebhookDto {
  @ApiProperty({ example: 'CRM Sync', minLength: 1, maxLength: MAX_NAME_LENGTH })
  @IsDefined({ message: 'name is required' })
  @IsString()
  @MinLength(1, { ...UNPROCESSABLE, message: 'name must not be empty' })
  @MaxLength(MAX_NAME_LENGTH, { ...UNPROCESSABLE, message: `name must be at most ${MAX_NAME_LENGTH} characters` })
  @NotBlank()
  name!: string;

  @UrlField()
  url!: string;

  @ApiProperty({ enum: SUBSCRIBABLE_EVENT_TYPES, isArray: true, example: ['SURVEY_COMPLETED'] })
  @IsDefined({ message: 'events is required' })
  @IsArray()
  @IsString({ each: true })
  @ArrayNotEmpty({ ...UNPROCESSABLE, message: 'events must not be empty' })
  @ArrayUnique({ ...UNPROCESSABLE, message: 'events must not contain duplicates' })
  @IsIn(SUBSCRIBABLE_EVENT_TYPES, { each: true, ...UNPROCESSABLE, message: EVENT_TYPES_MESSAGE })
  events!: string[];

  @HeadersField()
  headers?: Record<string, string> | null;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean | null;
}

/** Body of PUT …/webhook/{webhookId}: a full replace; `id`, when given, must equal the path's. */
export class UpdateWebhookDto extends CreateWebhookDto {
  @ApiPropertyOptional({ example: 'wh_abc123' })
  @IsOptional()
  @IsString()
  id?: string;
}

/** Body of POST …/webhook/test-send. */
export class TestSendDto {
  @UrlField()
  url!: string;

  @HeadersField()
  headers?: Record<string, string> | null;

  @ApiPropertyOptional({ example: 'wh_abc123', description: "Sign with this webhook's secret and send its custom headers" })
  @IsOptional()
  @IsString()
  webhookId?: string;
}

/** A webhook's `headersError` when its stored headers no longer decrypt (an operator removed their key too early). */
export const HEADERS_UNREADABLE = 'The custom headers were encrypted with a key this service no longer has: deliveries fail until a PUT sets the headers again';

export class WebhookDto {
  @ApiProperty({ example: 'wh_abc123' }) id!: string;
  @ApiProperty({ example: 'CRM Sync' }) name!: string;
  @ApiProperty({ example: 'https://your-server.com/webhooks/pollarix' }) url!: string;
  @ApiProperty({ enum: SUBSCRIBABLE_EVENT_TYPES, isArray: true }) events!: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) headers!: Record<string, string>;
  @ApiProperty() isActive!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why the service disabled it (gone, failing), else null' })
  disabledReason!: string | null;
  @ApiPropertyOptional({
    example: HEADERS_UNREADABLE,
    description:
      'Present only when the stored custom headers cannot be decrypted (`headers` is then empty): deliveries fail as `undecryptable` until a PUT sets the headers again',
  })
  headersError?: string;
}

export class CreatedWebhookDto extends WebhookDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'Signing secret; shown in this response only' })
  secret!: string;
}

export class WebhookListDto {
  @ApiProperty({ example: 'dept_xyz789' }) departmentId!: string;
  @ApiProperty({ type: [WebhookDto] }) webhooks!: WebhookDto[];
}

export class CreatedWebhookListDto {
  @ApiProperty({ example: 'dept_xyz789' }) departmentId!: string;
  @ApiProperty({ type: [CreatedWebhookDto] }) webhooks!: CreatedWebhookDto[];
}

export class SecretDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }) secret!: string;
}

export class TestSendResultDto {
  @ApiProperty({ example: true }) delivered!: boolean;
  @ApiProperty({ example: 204 }) statusCode!: number;
  @ApiProperty({ example: 12 }) durationMs!: number;
}
