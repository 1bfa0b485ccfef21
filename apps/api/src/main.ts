import 'reflect-metadata';
import { ConfigError, loadConfig } from '@pollarix/config';
import { createApiApp, logListening } from './app';

async function main(): Promise<void> {
  const config = loadConfig({ requireConnections: true });
  const app = await createApiApp(config);
  // SIGTERM closes the app (in-flight requests, pools) and exits 0.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(config.port, config.host);
  logListening(app, config, `http://${config.host}:${config.port}`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`API failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
