import { ENVIRONMENT_VARIABLES } from '@pollarix/config';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

describe('README', () => {
  it('opens with what it is, then exactly npm start and npm test', () => {
    const firstScreen = readme.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toMatch(/^# Pollarix Webhooks/);
    const commands = [...firstScreen.matchAll(/^npm (\w+)/gm)].map((m) => m[1]);
    expect(commands).toEqual(['start', 'test']);
  });

  it('documents exactly the variables of the config schema', () => {
    const section = readme.split('## Configuration')[1].split('\n## ')[0];
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...ENVIRONMENT_VARIABLES].sort());
  });
});
