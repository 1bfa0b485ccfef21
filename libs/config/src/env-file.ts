import { parse } from 'dotenv';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The variables of the optional `.env` file (in the working directory unless a path is given), `{}`
 * when there is none. Only parsed: process.env is not touched, so variables already in the
 * environment keep winning over the file (loadConfig and `cli dev` both merge it that way).
 *
 * dotenv's parser rather than Node's util.parseEnv: one grammar on every Node major CI runs (Node 20's
 * parseEnv glues a line without `=` onto the next variable's name).
 */
export function readEnvFile(path: string = resolve('.env')): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  return parse(text);
}
