import { ensureRedisServerBinary, freePort, isListening, waitFor } from '@pollarix/devinfra';
import IORedis from 'ioredis';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Throw-away redis-server processes on 127.0.0.1 for topology tests: plain servers, Sentinels and a
 * Cluster, all under one temporary directory, each stopped by its pid in stopAll().
 */
export class RedisProcesses {
  readonly dir = mkdtempSync(join(tmpdir(), 'pollarix-redis-'));
  private readonly children: { child: ChildProcess; exited: Promise<void> }[] = [];

  constructor() {
    ensureRedisServerBinary();
  }

  /** A redis-server on a free port with these extra arguments (e.g. `--appendonly no`); its port. */
  async server(args: string[] = []): Promise<number> {
    const port = await freePort();
    await this.spawn(['--port', String(port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no', ...args], port);
    return port;
  }

  /** A Sentinel watching the master on `masterPort` as `mymaster` (quorum 1); its port, once it knows the master. */
  async sentinel(masterPort: number, masterName = 'mymaster'): Promise<number> {
    const port = await freePort();
    const config = join(this.dir, `sentinel-${port}.conf`);
    // Sentinel rewrites its own config file, so it needs one of its own.
    writeFileSync(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${masterName} 5000`,
        '',
      ].join('\n'),
    );
    await this.spawn([config, '--sentinel'], port);
    await withClient(port, (client) =>
      waitFor(
        async () => {
          const address = (await client.call('SENTINEL', 'get-master-addr-by-name', masterName).catch(() => null)) as string[] | null;
          return address?.[1] === String(masterPort);
        },
        15_000,
        `Sentinel on ${port} to know ${masterName}`,
      ),
    );
    return port;
  }

  /** `size` masters (no replicas) joined into a Cluster whose state is ok on every node; their ports. */
  async cluster(size = 3, args: string[] = []): Promise<number[]> {
    const ports: number[] = [];
    for (let i = 0; i < size; i++) {
      // cluster-port: a bus port of our choosing, not port + 10000 (which may be taken or out of range).
      const busPort = await freePort();
      ports.push(
        await this.server([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${busPort}.conf`,
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '5000',
          ...args,
        ]),
      );
    }
    await new Promise<void>((resolve, reject) =>
      execFile(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: 30_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`redis-cli --cluster create failed: ${error.message}\n${stdout}${stderr}`)) : resolve()),
      ),
    );
    for (const port of ports) {
      await withClient(port, (client) =>
        waitFor(async () => /cluster_state:ok/.test(String(await client.call('CLUSTER', 'INFO').catch(() => ''))), 20_000, `cluster_state:ok on ${port}`),
      );
    }
    return ports;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.children.map(async ({ child, exited }) => {
        if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
        process.kill(child.pid, 'SIGTERM');
        const killer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async spawn(args: string[], port: number): Promise<void> {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.children.push({ child, exited });
    await waitFor(async () => child.exitCode !== null || (await isListening(port)), 15_000, `redis-server on ${port}`);
    if (child.exitCode !== null) throw new Error(`redis-server ${args.join(' ')} exited with ${child.exitCode}:\n${output}`);
  }
}

async function withClient<T>(port: number, work: (client: IORedis) => Promise<T>): Promise<T> {
  const client = new IORedis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await work(client);
  } finally {
    client.disconnect();
  }
}
