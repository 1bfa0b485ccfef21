import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppError, ErrorCode } from '../errors/app-error';

/** What an operator route answers: a status and a body, JSON unless another content type is named. */
export interface OpsAnswer {
  status: number;
  body: string;
  contentType?: string;
}

/** One GET route of an operator server; a rejection is answered 500 in the error format. */
export type OpsRoute = () => Promise<OpsAnswer> | OpsAnswer;

/** The Prometheus text of a registry (prom-client's Registry), as an operator route. */
export function metricsRoute(registry: { metrics(): Promise<string>; readonly contentType: string }): OpsRoute {
  return async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType });
}

const error = (code: ErrorCode, msg: string): OpsAnswer => {
  const failure = new AppError(code, msg);
  return { status: failure.status, body: JSON.stringify(failure.toBody()) };
};

/**
 * A plain HTTP server for operator endpoints on an internal port (the worker's health and metrics,
 * the API's metrics): GET on a fixed set of paths, no auth, no Nest, errors in the API's error format.
 * Port 0 listens on any free port ({@link port} says which).
 */
export class OpsHttpServer {
  private constructor(private readonly server: Server) {}

  /** Listens on port and host; rejects when it cannot (a port in use stops the process at start-up). */
  static async listen(port: number, host: string, routes: Readonly<Record<string, OpsRoute>>): Promise<OpsHttpServer> {
    const server = createServer((req, res) => void answer(routes, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new OpsHttpServer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting; resolves once the answers in flight are done (idle keep-alive connections are closed). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function answer(routes: Readonly<Record<string, OpsRoute>>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const reply = ({ status, body, contentType = 'application/json' }: OpsAnswer) => res.writeHead(status, { 'content-type': contentType }).end(body);
  const path = (req.url ?? '/').split('?')[0];
  const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (req.method !== 'GET' || !route) return void reply(error(ErrorCode.NotFound, `No route for ${req.method} ${path}`));
  try {
    reply(await route());
  } catch (failure) {
    reply(error(ErrorCode.Internal, `GET ${path} failed: ${failure instanceof Error ? failure.message : String(failure)}`));
  }
}
