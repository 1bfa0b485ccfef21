import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsString } from 'class-validator';

export class CreateSessionDto {
  @ApiProperty({ example: 'plx_…', description: 'An API token; the session acts with its departments and scopes' })
  @IsDefined({ message: 'token is required' })
  @IsString()
  token!: string;
}
