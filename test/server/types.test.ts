/**
 * The package's types as consumers meet them: each project under test/types/ imports
 * `p2p-call` by name (resolved through package.json "exports" to dist/*.d.ts) and is
 * type-checked with its own tsconfig. Its `@ts-expect-error` lines are the negative checks:
 * a misspelt event name or error code that compiled would make tsc fail on the unused directive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const PROJECTS = readdirSync(join(ROOT, 'test/types'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((dir) => readdirSync(join(ROOT, 'test/types', dir.name)).filter((name) => /^tsconfig.*\.json$/.test(name)).map((name) => `test/types/${dir.name}/${name}`));

function tsc(...args: string[]) {
  return spawnSync(process.execPath, [TSC, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
}

describe('consumer projects type-check against the built declarations', () => {
  before(() => {
    const build = tsc('-p', 'tsconfig.build.json');
    assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
  });

  test('there are consumer projects to check', () => assert.ok(PROJECTS.length >= 3, PROJECTS.join(', ')));

  for (const project of PROJECTS) {
    test(project, () => {
      const result = tsc('-p', project);
      assert.equal(result.status, 0, `${project}:\n${result.stdout}${result.stderr}`);
    });
  }
});
