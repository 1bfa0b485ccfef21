import { infoField, unsafeSettings } from './redis-settings';

describe('unsafeSettings', () => {
  it('accepts noeviction with AOF on', () => {
    expect(unsafeSettings({ node: 'n', appendonly: 'yes', maxmemoryPolicy: 'noeviction' })).toEqual([]);
  });

  it('names an evicting policy and AOF off', () => {
    const problems = unsafeSettings({ node: 'n', appendonly: 'no', maxmemoryPolicy: 'allkeys-lru' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^maxmemory-policy is allkeys-lru \(must be noeviction/);
    expect(problems[1]).toMatch(/^appendonly is no/);
  });

  it('says nothing about what it could not read', () => {
    expect(unsafeSettings({ node: 'n' })).toEqual([]);
    expect(unsafeSettings({ node: 'n', maxmemoryPolicy: 'volatile-ttl' })).toHaveLength(1);
  });
});

describe('infoField', () => {
  const info = '# Persistence\r\nloading:0\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\n# Memory\r\nmaxmemory_policy:allkeys-lru\r\n';

  it('reads a field of an INFO reply', () => {
    expect(infoField(info, 'aof_enabled')).toBe('1');
    expect(infoField(info, 'maxmemory_policy')).toBe('allkeys-lru');
  });

  it('does not mistake a longer field for the one asked', () => {
    expect(infoField(info, 'aof_rewrite')).toBeUndefined();
    expect(infoField('', 'aof_enabled')).toBeUndefined();
  });
});
