import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { EVENT_CATALOG } from '@pollarix/events';

class EventTypeDto {
  @ApiProperty({ example: 'SURVEY_COMPLETED' }) type!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ description: 'Webhooks may subscribe to it' }) subscribable!: boolean;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "JSON Schema of the event's data" })
  schema!: Record<string, unknown>;
}

class EventTypesDto {
  @ApiProperty({ type: [EventTypeDto] }) types!: EventTypeDto[];
}

@ApiTags('events')
@Controller('events')
export class EventsController {
  @Get('types')
  @ApiOperation({ summary: "The event catalog with the JSON schema of each type's data (no auth)" })
  @ApiOkResponse({ type: EventTypesDto })
  types(): EventTypesDto {
    return { types: EVENT_CATALOG.map((entry) => ({ ...entry, schema: entry.schema })) };
  }
}
