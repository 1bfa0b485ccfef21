import { within } from '@pollarix/common';
import { LocalService } from '@pollarix/devinfra';
import { ChildProcess, spawn } from 'node:child_process';
import { errorMessage } from '../cli-error';
import { Say } from '../infra/local-services';

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<void>;
}

/**
 * What `dev` runs: the local servers it adopted and the app processes it spawned. Stopping is one
 * ordered, idempotent sequence: SIGTERM the apps (SIGKILL after the grace period), then stop the servers
 * this process started, newest first. A reused server (pid unknown) belongs to someone else and stays up.
 */
export class DevProcesses {
  private readonly services: { name: string; service: LocalService }[] = [];
  private readonly children: Child[] = [];
  private stopping?: Promise<number>;
  private resolveStopped!: (code: number) => void;
  /** Resolves with the exit code once everything has stopped. */
  readonly stopped = new Promise<number>((resolve) => (this.resolveStopped = resolve));

  constructor(
    private readonly say: Say,
    private readonly graceMs: number,
  ) {}

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  adopt(name: string, service: LocalService): LocalService {
    this.services.push({ name, service });
    return service;
  }

  spawn(name: string, script: string, env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): void {
    const child = spawn(process.execPath, [...nodeFlags, script], { env, stdio: 'inherit' });
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.isStopping) {
          this.say(`${name} exited unexpectedly (${signal ?? `exit code ${code}`}): stopping everything`);
          void this.stop(1);
        }
        resolve();
      });
      child.once('error', (error) => {
        this.say(`${name} could not be started: ${error.message}`);
        void this.stop(1);
        resolve();
      });
    });
    this.children.push({ name, process: child, exited });
  }

  stop(code: number): Promise<number> {
    if (!this.stopping) {
      this.stopping = this.shutdown(code);
      // shutdown() handles each step's failure; should it still reject, `stopped` must settle all the same.
      void this.stopping.then(this.resolveStopped, (error: unknown) => {
        this.say(`stopping failed: ${errorMessage(error)}`);
        this.resolveStopped(1);
      });
    }
    return this.stopping;
  }

  private async shutdown(code: number): Promise<number> {
    await Promise.all(this.children.map((child) => this.terminate(child)));
    for (const { name, service } of [...this.services].reverse()) {
      if (service.pid === undefined) continue;
      this.say(`Stopping ${name} (pid ${service.pid})…`);
      try {
        await service.stop();
      } catch (error) {
        this.say(`could not stop ${name}: ${errorMessage(error)}`);
        code ||= 1;
      }
    }
    return code;
  }

  private async terminate({ name, process: child, exited }: Child): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    child.kill('SIGTERM');
    const timedOut = await within(
      exited.then(() => false),
      this.graceMs,
      true,
    );
    if (timedOut) {
      this.say(`${name} did not stop within ${this.graceMs} ms: killing it`);
      child.kill('SIGKILL');
      await exited;
    }
  }
}
