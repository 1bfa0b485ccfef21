import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Where the local PostgreSQL's binaries and data live, and as whom it runs.
 *
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user (created when
 * missing). That user must be able to enter every folder on the way to the binaries and to the data
 * folder, which it cannot in a clone under a folder only its owner enters (`/root`, `mktemp -d`). Then
 * the binaries are copied once to a shared cache (`/var/tmp/pollarix-embedded-postgres/<version>`) and
 * the data folder moves to `/var/tmp/pollarix-<hash of the wanted folder's parent>/<name>`, owned by
 * `postgres`. As any other user, PostgreSQL runs as that user, who owns the clone: nothing moves.
 */
export interface PostgresPlacement {
  /** Folder holding bin/initdb and bin/postgres. */
  nativeDir: string;
  /** The data folder PostgreSQL uses (`wanted`, or its stand-in under the shared temporary folder). */
  dataDir: string;
  /** The data folder asked for. */
  wanted: string;
  /** The OS user and group PostgreSQL runs as, when it is not the current user (root only). */
  owner?: { name: string; uid: number; gid: number };
  /** Why the binaries or the data moved, for the one line that says where they are. */
  moved?: string;
}

/** A placement that cannot work: one line saying why and what to do. */
export class PostgresPlacementError extends Error {}

const POSTGRES_USER = 'postgres';

/** The shared folder that every user can enter (sticky /var/tmp where there is one). */
export function sharedTempDir(): string {
  return existsSync('/var/tmp') ? '/var/tmp' : tmpdir();
}

export function pathHash(path: string): string {
  return createHash('sha256').update(resolve(path)).digest('hex').slice(0, 12);
}

/** Where a data folder goes when the postgres user cannot reach `wanted`. */
export function relocatedDataDir(wanted: string): string {
  return join(sharedTempDir(), `pollarix-${pathHash(dirname(resolve(wanted)))}`, basename(wanted));
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function idOf(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function ensurePostgresUser(): { name: string; uid: number; gid: number } {
  let ids = idOf(POSTGRES_USER);
  if (!ids) {
    spawnSync('groupadd', ['-f', POSTGRES_USER], { stdio: 'ignore' });
    spawnSync('useradd', ['-g', POSTGRES_USER, '-M', '-s', '/usr/sbin/nologin', POSTGRES_USER], { stdio: 'ignore' });
    ids = idOf(POSTGRES_USER);
  }
  if (!ids) {
    throw new PostgresPlacementError(
      'PostgreSQL cannot run as root and there is no `postgres` user to run it as (useradd failed): ' +
        'create one (`useradd postgres`), run npm start as a non-root user, or set DATABASE_URL to an existing PostgreSQL.',
    );
  }
  return { name: POSTGRES_USER, ...ids };
}

/** Whether `user` can do `test <flag> path` (every folder on the way included), checked as that user. */
export function userCan(user: { uid: number; gid: number }, flag: '-x' | '-r' | '-w', path: string): boolean {
  const result = spawnSync('/bin/sh', ['-c', 'test "$1" "$2"', 'sh', flag, path], { uid: user.uid, gid: user.gid, cwd: '/', stdio: 'ignore' });
  return result.status === 0;
}

/** The first folder on the way to `path` that `user` cannot enter (for the message), or undefined. */
export function firstBlockedFolder(user: { uid: number; gid: number }, path: string): string | undefined {
  const parts = resolve(path).split('/').filter(Boolean);
  let current = '';
  for (const part of parts.slice(0, -1)) {
    current += `/${part}`;
    if (!userCan(user, '-x', current)) return current;
  }
  return undefined;
}

/**
 * A folder root made in a place every user can write to (/var/tmp) is used only if it is still root's:
 * a real folder (no link), owned by root; then made 0755 (writable by root alone). Otherwise another
 * local user could have put their own binaries or data there first. The sticky /var/tmp keeps anyone
 * else from swapping a folder root owns.
 */
function assertTrustedFolder(path: string): void {
  const stat = lstatSync(path);
  if (!stat.isDirectory() || stat.uid !== 0) {
    throw new PostgresPlacementError(
      `${path} exists but is not a folder that only root can change (${stat.isSymbolicLink() ? 'a symbolic link' : `owner uid ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}`}): ` +
        'remove it (its contents are not trusted) and start again, or set DATABASE_URL to an existing PostgreSQL.',
    );
  }
  chmodSync(path, 0o755);
}

/** Copies the native folder (bin, lib, share) into the shared cache once; returns the copy. */
function cachedNativeDir(nativeDir: string, version: string): string {
  const cacheRoot = join(sharedTempDir(), 'pollarix-embedded-postgres');
  const target = join(cacheRoot, version);
  mkdirSync(cacheRoot, { recursive: true, mode: 0o755 });
  assertTrustedFolder(cacheRoot);
  if (existsSync(join(target, 'bin', 'postgres'))) {
    // A copy that anyone but root could have changed is not run.
    for (const folder of [target, join(target, 'bin'), join(target, 'lib')]) {
      const stat = lstatSync(folder);
      if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
        throw new PostgresPlacementError(
          `${folder} is not a folder that only root can change: remove ${target} and start again, or set DATABASE_URL to an existing PostgreSQL.`,
        );
      }
    }
    return target;
  }
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  chmodSync(partial, 0o755);
  try {
    renameSync(partial, target);
  } catch (error) {
    // Another process copied it first.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(join(target, 'bin', 'postgres'))) throw error;
  }
  return target;
}

function packageVersion(nativeDir: string): string {
  try {
    return (JSON.parse(readFileSync(join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Decides where PostgreSQL's binaries and data go for a data folder `wanted` (see PostgresPlacement).
 * `nativeDir` is the embedded-postgres platform package's native folder.
 */
export function placePostgres(nativeDir: string, wanted: string): PostgresPlacement {
  wanted = resolve(wanted);
  if (!isRoot()) return { nativeDir, dataDir: wanted, wanted };

  const owner = ensurePostgresUser();
  const reasons: string[] = [];
  let binaries = nativeDir;
  if (!userCan(owner, '-x', join(nativeDir, 'bin', 'postgres'))) {
    const blocked = firstBlockedFolder(owner, join(nativeDir, 'bin', 'postgres'));
    binaries = cachedNativeDir(nativeDir, packageVersion(nativeDir));
    reasons.push(`binaries copied to ${binaries}${blocked ? ` (the postgres user cannot enter ${blocked})` : ''}`);
    if (!userCan(owner, '-x', join(binaries, 'bin', 'postgres'))) {
      throw new PostgresPlacementError(
        `PostgreSQL runs as the \`postgres\` user, which can run neither ${join(nativeDir, 'bin', 'postgres')} nor its copy in ${binaries}: ` +
          'clone the project into a folder other users can enter, run npm start as a non-root user, or set DATABASE_URL to an existing PostgreSQL.',
      );
    }
  }

  let dataDir = wanted;
  const parent = dirname(wanted);
  mkdirSync(parent, { recursive: true });
  const reachable = existsSync(parent) && userCan(owner, '-x', parent);
  if (!reachable) {
    const blocked = firstBlockedFolder(owner, wanted);
    dataDir = relocatedDataDir(wanted);
    const folder = dirname(dataDir);
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    assertTrustedFolder(folder);
    if (!userCan(owner, '-x', folder)) {
      throw new PostgresPlacementError(
        `PostgreSQL runs as the \`postgres\` user, which can enter neither ${blocked ?? parent} (for ${wanted}) nor ${folder}: ` +
          'clone the project into a folder other users can enter, run npm start as a non-root user, or set DATABASE_URL to an existing PostgreSQL.',
      );
    }
    reasons.push(`data in ${dataDir} instead of ${wanted}${blocked ? ` (the postgres user cannot enter ${blocked})` : ''}`);
  }
  return { nativeDir: binaries, dataDir, wanted, owner, moved: reasons.length ? reasons.join('; ') : undefined };
}
