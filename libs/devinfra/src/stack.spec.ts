import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candidatePorts, readStack, recordStack, STACK_PORT_RANGES, stackSlot } from './stack';
import { relocatedDataDir } from './postgres-placement';

describe('one stack per clone', () => {
  it('derives stable ports in their ranges from the data folder path, different for two clones', () => {
    const a = candidatePorts('postgres', '/srv/one/.data');
    expect(candidatePorts('postgres', '/srv/one/.data')).toEqual(a);
    expect(a[0]).toBe(STACK_PORT_RANGES.postgres + stackSlot('/srv/one/.data'));
    expect(candidatePorts('redis', '/srv/one/.data')[0]).toBe(STACK_PORT_RANGES.redis + stackSlot('/srv/one/.data'));
    for (const port of [...a, ...candidatePorts('redis', '/srv/one/.data')]) {
      expect(port % 1000).toBeLessThan(STACK_PORT_RANGES.size);
      expect([25, 63]).toContain(Math.floor(port / 1000));
      expect(port < 32768 || port > 60999).toBe(true); // outside the ephemeral ports outgoing connections take
    }
    expect(new Set(a).size).toBe(a.length);
    expect(candidatePorts('postgres', '/srv/two/.data')[0]).not.toBe(a[0]);
  });

  it('records the ports it used in stack.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-'));
    try {
      expect(readStack(dir)).toEqual({});
      recordStack(dir, 'postgres', { port: 54001, dataDir: '/x' });
      recordStack(dir, 'redis', { port: 63001, dataDir: '/y' });
      expect(readStack(dir)).toEqual({ postgres: { port: 54001, dataDir: '/x' }, redis: { port: 63001, dataDir: '/y' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('moves a data folder the postgres user cannot reach to a folder named after its parent', () => {
    expect(relocatedDataDir('/root/a/.data/postgres')).toMatch(/\/pollarix-[0-9a-f]{12}\/postgres$/);
    expect(relocatedDataDir('/root/a/.data/postgres')).not.toBe(relocatedDataDir('/root/b/.data/postgres'));
  });
});
