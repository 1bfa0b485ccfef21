import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { SERVICE_VERSION } from '@pollarix/common';
import { ErrorResponseDto } from './error-response.dto';

/** OpenAPI from the DTOs: Swagger UI at /docs, the document at /docs-json. */
export function setupSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Pollarix Webhooks API')
    .setDescription(
      'Manage the webhooks of a department. Every error uses one format: {"status": 400, "detail": [{"msg", "type", "loc"?}]}. ' +
        'Authenticate with a bearer token (plx_…) or a session cookie opened with POST /auth/session; cookie sessions send X-CSRF-Token on unsafe methods.',
    )
    .setVersion(SERVICE_VERSION)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API token (plx_…)' }, 'bearer')
    .addCookieAuth('pollarix_session', { type: 'apiKey', in: 'cookie', name: 'pollarix_session' }, 'session')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ErrorResponseDto] });
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
