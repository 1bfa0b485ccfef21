import express from 'express';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_CSP, consoleHandler, findConsoleDir } from './console';

/** The status of a GET sent with its path as written (fetch would resolve `..` before sending). */
function rawStatus(base: string, path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    request(base, { path })
      .on('response', (res) => {
        res.resume();
        resolve(res.statusCode);
      })
      .on('error', reject)
      .end();
  });
}

describe('console static files', () => {
  let root: string;
  let dir: string;
  let base: string;
  let close: () => void;

  beforeAll(async () => {
    // The build inside a folder with a file of its own beside it: what `..` would reach.
    root = mkdtempSync(join(tmpdir(), 'console-'));
    dir = join(root, 'console');
    mkdirSync(dir);
    writeFileSync(join(root, 'package.json'), '{}');
    mkdirSync(join(dir, 'assets'));
    mkdirSync(join(dir, '.vite'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>c</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, '.vite', 'manifest.json'), '{}');
    const app = express();
    app.use('/console', consoleHandler(dir));
    app.use((_req, res) => void res.status(404).json({ status: 404 }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => {
    close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(['/console', '/console/'])('%s is index.html, revalidated every time, under the CSP', async (path) => {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(await res.text()).toContain('<title>c</title>');
  });

  it('hashed assets are cached for a year', async () => {
    const res = await fetch(`${base}/console/assets/index-abc123.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it.each(['/console/nope.js', '/console/.vite/manifest.json', '/console/../package.json', '/console/assets/%2e%2e%2findex.html'])(
    '%s falls through to the 404',
    async (path) => {
      expect(await rawStatus(base, path)).toBe(404);
    },
  );

  it('allows nothing from elsewhere and no inline script', () => {
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
  });

  it('finds a build by its manifest, never the sources', () => {
    expect(findConsoleDir([join(dir, 'missing'), dir])).toBe(dir);
    expect(findConsoleDir([join(__dirname, '..', '..', '..', 'console')])).toBeUndefined();
  });
});
