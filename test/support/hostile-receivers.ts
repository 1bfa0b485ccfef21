import { createServer as createHttpServer, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createTcpServer, Server as TcpServer, Socket } from 'node:net';

/**
 * Receivers that misbehave the way real endpoints do (issue 10, "Hostile receivers"). All listen on
 * 127.0.0.1 only, record every request they read (with its `webhook-id`), and stop with `close()`.
 */
export interface HostileRequest {
  /** The Standard Webhooks message id: the same on every attempt of one delivery. */
  webhookId: string;
  /** Date.now() when the whole request had been read. */
  at: number;
  bodyBytes: number;
}

export interface HostileReceiver {
  url: string;
  requests: HostileRequest[];
  close(): Promise<void>;
}

/** Bytes PostgreSQL `text` cannot hold: NULs amid other binary (a zip header's first bytes). */
export const NUL_BODY = Buffer.from([0x00, 0x50, 0x4b, 0x03, 0x04, 0x00, 0x14, 0x00, 0x00]);
/** "ok " + 0xff 0xfe (never valid in UTF-8) + " " + a 3-byte sequence cut after 2 bytes (€ without its last byte). */
export const INVALID_UTF8_BODY = Buffer.from([0x6f, 0x6b, 0x20, 0xff, 0xfe, 0x20, 0xe2, 0x82]);
/** 5 MiB: far beyond the 20 KiB the log keeps. */
export const LARGE_BODY_BYTES = 5 * 1024 * 1024;
/** What the raw TCP receiver writes instead of an HTTP response. */
export const GARBAGE = Buffer.from('\x16\x03\x01\x02\x00 SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n\x00\xff', 'latin1');

/** A node:http receiver on 127.0.0.1 that records each request once its body is read, then calls `answer`. */
export async function httpReceiver(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<HostileReceiver> {
  const requests: HostileRequest[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      requests.push({ webhookId: String(req.headers['webhook-id'] ?? ''), at: Date.now(), bodyBytes });
      answer(req, res);
    });
  });
  // A receiver that hangs must not be cut off by node's own request/keep-alive timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A well-behaved receiver: 204 at once. */
export function startHealthyReceiver(): Promise<HostileReceiver> {
  return httpReceiver((_req, res) => res.writeHead(204).end());
}

/** 200 (or `status`) with a fixed binary body. */
export function startBytesReceiver(body: Buffer, status = 200): Promise<HostileReceiver> {
  return httpReceiver((_req, res) => res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body));
}

/** 200 with a 5 MiB body (written in 64 KiB chunks, honouring back-pressure via end()). */
export function startLargeBodyReceiver(bytes = LARGE_BODY_BYTES): Promise<HostileReceiver> {
  const body = Buffer.alloc(bytes, 'a');
  return httpReceiver((_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': bytes }).end(body));
}

/** Never answers: the request is read and the connection left open (until close()). */
export function startHangingReceiver(): Promise<HostileReceiver> {
  return httpReceiver(() => undefined);
}

/** Answers 204 `delayMs` after the request was read (4.9 s: just inside a 5 s attempt timeout). */
export async function startSlowReceiver(delayMs = 4900): Promise<HostileReceiver> {
  const timers = new Set<NodeJS.Timeout>();
  const receiver = await httpReceiver((_req, res) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) res.writeHead(204).end();
    }, delayMs);
    timers.add(timer);
  });
  return {
    ...receiver,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await receiver.close();
    },
  };
}

/** Sends the status line, headers and part of a declared body, then resets the TCP connection (RST). */
export function startResetMidBodyReceiver(): Promise<HostileReceiver> {
  return httpReceiver((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 10_000 });
    res.write('{"received": true, "padding": "', () => {
      // Let the headers and the first bytes leave before the RST (Node >= 20.0: resetAndDestroy).
      const socket = req.socket as Socket & { resetAndDestroy?: () => Socket };
      if (socket.resetAndDestroy) socket.resetAndDestroy();
      else socket.destroy();
    });
  });
}

/**
 * A raw TCP listener that reads the whole HTTP request (headers and content-length body), records it,
 * then writes bytes that are not HTTP and closes the connection.
 */
export async function startGarbageReceiver(garbage: Buffer = GARBAGE): Promise<HostileReceiver> {
  const requests: HostileRequest[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      // One request per connection is enough: the answer makes the client drop the connection.
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.subarray(end + 4 + length);
        requests.push({ webhookId: /\r\nwebhook-id:\s*([^\r]*)/i.exec(head)?.[1]?.trim() ?? '', at: Date.now(), bodyBytes: length });
        socket.end(garbage);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Counts of each webhook-id a receiver saw. */
export function countByWebhookId(requests: { webhookId: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { webhookId } of requests) counts.set(webhookId, (counts.get(webhookId) ?? 0) + 1);
  return counts;
}
