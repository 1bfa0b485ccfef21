import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * The benchmark's webhook receiver on 127.0.0.1: answers 204 and counts, per path (one path per
 * phase), requests, distinct `webhook-id`s and the time the target number of distinct ids was reached.
 * With `latency`, it parses each body and records now − data.sentAt (epoch ms) for first receipts.
 * With `delayMs`, it answers that long after the request arrived (a slow endpoint: setTimeout, no CPU);
 * arrivals are counted when they arrive.
 */
export interface Sink {
  path: string;
  target: number;
  requests: number;
  ids: Set<string>;
  /** performance.now() of the request that made `ids.size` reach `target`. */
  doneAt: number | null;
  latencies: number[];
  /** data.sentAt (epoch ms) of each entry of `latencies`, in the same order. */
  sentAts: number[];
  badBodies: number;
}

export interface Receiver {
  url: string;
  sink(path: string, target: number, options?: { latency?: boolean; delayMs?: number }): Sink;
  close(): Promise<void>;
}

const nowEpochMs = () => performance.timeOrigin + performance.now();

export async function startBenchReceiver(): Promise<Receiver> {
  const sinks = new Map<string, { sink: Sink; latency: boolean; delayMs: number }>();
  let unknown = 0;

  const record = (entry: { sink: Sink; latency: boolean; delayMs: number }, req: IncomingMessage, body: Buffer | null, at: number) => {
    const { sink } = entry;
    sink.requests += 1;
    const id = req.headers['webhook-id'];
    const key = typeof id === 'string' ? id : `(no webhook-id #${sink.requests})`;
    if (sink.ids.has(key)) return;
    sink.ids.add(key);
    if (sink.ids.size === sink.target) sink.doneAt = at;
    if (entry.latency && body) {
      try {
        const sentAt = (JSON.parse(body.toString('utf8')) as { data?: { sentAt?: unknown } }).data?.sentAt;
        if (typeof sentAt === 'number') {
          sink.latencies.push(nowEpochMs() - sentAt);
          sink.sentAts.push(sentAt);
        } else sink.badBodies += 1;
      } catch {
        sink.badBodies += 1;
      }
    }
  };

  const server: Server = createServer((req, res) => {
    const entry = sinks.get((req.url ?? '/').split('?')[0]);
    if (!entry) {
      unknown += 1;
      req.resume();
      res.writeHead(404).end();
      return;
    }
    const answer = () => {
      if (entry.delayMs > 0) setTimeout(() => res.writeHead(204).end(), entry.delayMs);
      else res.writeHead(204).end();
    };
    if (!entry.latency) {
      req.resume();
      req.on('end', () => {
        record(entry, req, null, performance.now());
        answer();
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      record(entry, req, Buffer.concat(chunks), performance.now());
      answer();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    sink(path, target, options = {}) {
      const sink: Sink = { path, target, requests: 0, ids: new Set(), doneAt: null, latencies: [], sentAts: [], badBodies: 0 };
      sinks.set(path, { sink, latency: options.latency ?? false, delayMs: options.delayMs ?? 0 });
      return sink;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (unknown > 0) console.error(`receiver: ${unknown} request(s) to unknown paths`);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
