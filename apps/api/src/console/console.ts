import type { NextFunction, Request, Response } from 'express';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';

/** Where the console is served; its built files (`npm run build` → dist/console) answer under it. */
export const CONSOLE_PATH = '/console';

/**
 * Nothing from elsewhere: scripts, styles, images and fetches from this origin only, no inline script,
 * no framing, no <base>, no plugins. Styles set through the CSSOM (Preact's style objects) are allowed.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

interface ConsoleFile {
  body: Buffer;
  type: string;
  cacheControl: string;
}

/** The built console's directory: beside the bundles (dist/apps/api → dist/console), else dist/console under the working directory. */
export function findConsoleDir(candidates = [resolve(__dirname, '..', '..', 'console'), resolve(process.cwd(), 'dist', 'console')]): string | undefined {
  // The manifest is written by the build only, so the console's sources (apps/console) never match.
  return candidates.find((dir) => existsSync(join(dir, '.vite', 'manifest.json')));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name.startsWith('.')) return [];
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** The built files, read once: index.html revalidated every time, the hashed assets cached for a year. */
function loadConsoleFiles(dir: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  for (const path of listFiles(dir)) {
    const name = relative(dir, path).split(sep).join('/');
    const hashed = name.startsWith('assets/');
    files.set(name, {
      body: readFileSync(path),
      type: TYPES[extname(name)] ?? 'application/octet-stream',
      cacheControl: hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  }
  return files;
}

/**
 * Express middleware for CONSOLE_PATH: index.html for /console and /console/ (the console routes in the
 * URL's fragment), the files under it by name; anything else (or everything, when the console was not
 * built) is the API's 404 in its error format.
 */
export function consoleHandler(dir: string | undefined = findConsoleDir()) {
  const files = dir ? loadConsoleFiles(dir) : new Map<string, ConsoleFile>();
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const name = req.path.replace(/^\/+/, '') || 'index.html';
    const file = files.get(name);
    // Unknown names fall through to the API's own 404 (in its error format).
    if (!file) return next();
    res.setHeader('Content-Type', file.type);
    res.setHeader('Cache-Control', file.cacheControl);
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Length', String(file.body.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : file.body);
  };
}
