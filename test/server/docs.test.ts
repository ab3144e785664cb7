/**
 * docs/widget.md cannot drift from the element: its reference block must be exactly what
 * scripts/widget-docs.mjs generates from custom-elements.json (built by `npm run build`, which
 * runs before this suite). The fix when this fails is `npm run docs:widget`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/widget-docs.mjs');
const DOC = join(ROOT, 'docs/widget.md');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('docs/widget.md', () => {
  test('its generated reference matches custom-elements.json (else: npm run docs:widget)', async () => {
    const result = await run('--check');
    assert.equal(result.code, 0, `widget-docs --check failed:\n${result.stderr}${result.stdout}`);
  });

  test('--check catches a stale block and says how to fix it, without writing', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-call-docs-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const stale = (await readFile(DOC, 'utf8')).replace('| `room` | `room` |', '| `room` | `roomName` |');
    const copy = join(dir, 'widget.md');
    await writeFile(copy, stale);
    const result = await run('--check', '--doc', copy);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /out of date/);
    assert.match(result.stderr, /npm run docs:widget/);
    assert.equal(await readFile(copy, 'utf8'), stale);
  });

  test('a document without the markers is refused', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-call-docs-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const copy = join(dir, 'widget.md');
    await writeFile(copy, '# No markers here\n');
    const result = await run('--doc', copy);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /generated:start/);
  });
});
