/**
 * The documentation stands on its own: README.md and docs/*.md name no document that is not in
 * the repository (design notes kept elsewhere), and every relative link leads to a file that
 * exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

describe('the docs stand on their own', () => {
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), 'utf8');
    test(`${page}: names no document outside the repository`, () => {
      for (const outside of ['EMBED.md', 'PROTOCOL.md', 'STYLE.md', 'LAB-NOTES.md', '../shared', 'shared/']) {
        if (existsSync(join(ROOT, outside))) continue;
        assert.ok(!text.includes(outside), `${page} mentions ${outside}, which is not in the repository`);
      }
    });
    test(`${page}: relative links lead to files that exist`, () => {
      const links = [...text.matchAll(/\]\(((?![a-z]+:|#)[^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1] as string);
      for (const link of links) assert.ok(existsSync(resolve(dirname(join(ROOT, page)), link)), `${page} → ${link}`);
    });
  }
});
