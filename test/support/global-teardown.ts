import { stopAll } from './global-setup';

/** Stops the servers global-setup.ts started (and only those), and deletes their data. */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__POLLARIX_TEST_INFRA__;
  if (!state) return;
  await stopAll(state);
  globalThis.__POLLARIX_TEST_INFRA__ = undefined;
}
