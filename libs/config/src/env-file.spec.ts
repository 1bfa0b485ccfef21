import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './app-config';
import { readEnvFile } from './env-file';

describe('readEnvFile', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pollarix-env-'));
    file = join(dir, '.env');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty when there is no file', () => {
    expect(readEnvFile(join(dir, 'missing.env'))).toEqual({});
  });

  it('reads assignments, with export, quotes, comments and blank lines', () => {
    writeFileSync(
      file,
      [
        '# local settings',
        '',
        'PORT=8080',
        'export LOG_LEVEL=debug',
        'HOST = 127.0.0.1  # the loopback only',
        'DATA_DIR="/var/lib/pollarix data"',
        "SESSION_TTL='2h'",
        'EMPTY=',
        'not an assignment',
        'REDIS_URL=redis://:p%40ss@cache:6379/0',
      ].join('\r\n'),
    );
    expect(readEnvFile(file)).toEqual({
      PORT: '8080',
      LOG_LEVEL: 'debug',
      HOST: '127.0.0.1',
      DATA_DIR: '/var/lib/pollarix data',
      SESSION_TTL: '2h',
      EMPTY: '',
      REDIS_URL: 'redis://:p%40ss@cache:6379/0',
    });
  });

  it('does not touch process.env', () => {
    writeFileSync(file, 'POLLARIX_ENV_FILE_PROBE=1\n');
    readEnvFile(file);
    expect(process.env.POLLARIX_ENV_FILE_PROBE).toBeUndefined();
  });

  it('feeds loadConfig, where the environment wins over the file', () => {
    writeFileSync(file, 'PORT=8080\nWORKER_CONCURRENCY=7\nSECRETS_ENCRYPTION_KEY=' + 'b'.repeat(64) + '\n');
    const config = loadConfig({ envFile: file, env: { PORT: '9090' } });
    expect(config.port).toBe(9090);
    expect(config.workerConcurrency).toBe(7);
    expect(config.secretsEncryptionKeys).toEqual([Buffer.from('b'.repeat(64), 'hex')]);
  });

  it('lets loadConfig name a bad value that came from the file', () => {
    writeFileSync(file, 'EVENT_RETENTION=forever\n');
    expect(() => loadConfig({ envFile: file, env: { SECRETS_ENCRYPTION_KEY: 'a'.repeat(64) } })).toThrow(/^Invalid configuration: EVENT_RETENTION /);
  });
});
