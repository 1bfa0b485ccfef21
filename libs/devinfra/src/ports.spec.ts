import { createServer, Server } from 'node:net';
import { FREE_PORT_RANGE, freePort } from './ports';

describe('freePort', () => {
  it('picks from a range below the ephemeral ports that outgoing connections take', async () => {
    expect(FREE_PORT_RANGE.last).toBeLessThan(32768);
    expect(FREE_PORT_RANGE.last).toBeLessThan(25000); // below npm start's stack ranges too
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(FREE_PORT_RANGE.first);
      expect(port).toBeLessThanOrEqual(FREE_PORT_RANGE.last);
    }
  });

  it('skips a port something listens on', async () => {
    const held = await freePort();
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(held, '127.0.0.1', resolve));
    try {
      const size = FREE_PORT_RANGE.last - FREE_PORT_RANGE.first + 1;
      let calls = 0;
      // The first pick lands on the held port; the later ones are random.
      const port = await freePort(() => (calls++ === 0 ? (held - FREE_PORT_RANGE.first + 0.5) / size : Math.random()));
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(port).not.toBe(held);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
