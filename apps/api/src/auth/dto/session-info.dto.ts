import { ApiProperty } from '@nestjs/swagger';
import { TOKEN_SCOPES, type TokenScope } from '@pollarix/database';

/** What the presented credential may do: the console's first read after sign-in. */
export class SessionInfoDto {
  @ApiProperty({ example: ['dept_xyz789'], description: 'Departments the token reaches; "*" means every department (operator tokens)' })
  departments!: string[];

  @ApiProperty({ enum: TOKEN_SCOPES, isArray: true, example: ['webhooks:read', 'webhooks:write'] })
  scopes!: TokenScope[];

  @ApiProperty({ enum: ['bearer', 'session'], description: 'How this request authenticated' })
  via!: 'bearer' | 'session';
}
