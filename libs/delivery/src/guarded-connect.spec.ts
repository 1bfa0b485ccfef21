import { LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { AddressInfo, createServer, Server } from 'node:net';
import { allowAll, BlockedDestinationError, blockNonPublic, createGuardedConnector, createGuardedLookup, Resolver } from './guarded-connect';

interface LookupOutcome {
  error: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family?: number;
}

function runLookup(resolve: Resolver, all: boolean, policy = blockNonPublic): Promise<LookupOutcome> {
  const lookup = createGuardedLookup(resolve, policy);
  return new Promise((done) => lookup('receiver.test', { all, family: 0 }, (error, address, family) => done({ error, address, family })));
}

const answers =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('createGuardedLookup', () => {
  it('passes public answers through, all of them when Node asks for all', async () => {
    const outcome = await runLookup(answers('93.184.216.34', '2606:4700:4700::1111'), true);
    expect(outcome.error).toBeNull();
    expect(outcome.address).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
  });

  it('answers with the first address and its family when Node asks for one', async () => {
    const outcome = await runLookup(answers('2606:4700:4700::1111', '93.184.216.34'), false);
    expect(outcome).toEqual({ error: null, address: '2606:4700:4700::1111', family: 6 });
  });

  it.each([
    [['127.0.0.1'], '127.0.0.1', 'loopback'],
    [['93.184.216.34', '10.1.2.3'], '10.1.2.3', 'private'],
    [['2606:4700:4700::1111', '::ffff:169.254.169.254'], '::ffff:169.254.169.254', 'metadata'],
    [['64:ff9b::7f00:1'], '64:ff9b::7f00:1', 'loopback'],
    // Connect-time, for names: Teredo and local-use NAT64 whatever they embed, 6to4 around a private address.
    [['2001:0:4136:e378:8000:63bf:3fff:fdd2'], '2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    [['2606:4700:4700::1111', '64:ff9b:1::808:808'], '64:ff9b:1::808:808', 'reserved'],
    [['2002:a00:1::1'], '2002:a00:1::1', 'private'],
  ])('refuses %j because of %s (%s)', async (addresses, address, reason) => {
    for (const all of [true, false]) {
      const { error } = await runLookup(answers(...addresses), all);
      expect(error).toBeInstanceOf(BlockedDestinationError);
      expect(error).toMatchObject({ host: 'receiver.test', address, reason, code: 'ERR_BLOCKED_DESTINATION' });
    }
  });

  it('lets private answers through when the policy allows them', async () => {
    expect(await runLookup(answers('127.0.0.1'), false, allowAll)).toEqual({ error: null, address: '127.0.0.1', family: 4 });
  });

  it('reports an empty answer as ENOTFOUND', async () => {
    const { error } = await runLookup(answers(), true);
    expect(error?.code).toBe('ENOTFOUND');
  });

  it('passes resolver errors through', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('queryA EAI_AGAIN receiver.test'), { code: 'EAI_AGAIN' });
    };
    const { error } = await runLookup(failing, true);
    expect(error?.code).toBe('EAI_AGAIN');
  });

  it('passes the requested family to the resolver', async () => {
    const seen: Array<number | undefined> = [];
    const recording: Resolver = async (_hostname, options) => {
      seen.push(options.family);
      return [{ address: '93.184.216.34', family: 4 }];
    };
    const lookup = createGuardedLookup(recording);
    await new Promise<void>((done) => lookup('receiver.test', { family: 'IPv4' }, () => done()));
    await new Promise<void>((done) => lookup('receiver.test', { family: 6 }, () => done()));
    expect(seen).toEqual([4, 6]);
  });
});

describe('createGuardedConnector', () => {
  let server: Server;
  let connections = 0;
  let port = 0;

  beforeAll(async () => {
    server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  function connect(policy = blockNonPublic, hostname = '127.0.0.1'): Promise<{ error: Error | null }> {
    const connector = createGuardedConnector(policy);
    return new Promise((done) =>
      connector({ hostname, protocol: 'http:', port: String(port) }, (error, socket) => {
        socket?.destroy();
        done({ error });
      }),
    );
  }

  it('refuses an IP-literal destination without opening a connection', async () => {
    const before = connections;
    const { error } = await connect();
    expect(error).toBeInstanceOf(BlockedDestinationError);
    expect(error).toMatchObject({ reason: 'loopback' });
    expect(connections).toBe(before);
  });

  it.each(['2001::1', '64:ff9b:1::7f00:1'])('refuses the literal %s at connect time too', async (hostname) => {
    const { error } = await connect(blockNonPublic, hostname);
    expect(error).toMatchObject({ reason: 'reserved', address: hostname });
  });

  it('connects to an IP literal the policy allows', async () => {
    const { error } = await connect(allowAll);
    expect(error).toBeNull();
  });
});
