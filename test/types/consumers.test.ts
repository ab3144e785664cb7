/**
 * The package's types as consumers meet them: each project under test/types/ imports
 * `p2p-call` by name (resolved through package.json "exports" to dist/*.d.ts, so run
 * `npm run build` first) and is type-checked with its own tsconfig. Its `@ts-expect-error`
 * lines are the negative checks: a misspelt event name or error code that compiled would
 * leave an unused directive, which is an error.
 *
 * The projects are checked in this process with one compiler host whose parsed files are
 * shared, so lib.dom.d.ts and the package's declarations are parsed once, not once per project.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // test/types/ → the repository
const PROJECTS = readdirSync(join(ROOT, 'test/types'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((dir) => readdirSync(join(ROOT, 'test/types', dir.name)).filter((name) => /^tsconfig.*\.json$/.test(name)).map((name) => `test/types/${dir.name}/${name}`));

/** Parsed source files by name and language version, shared by every project's host. */
const parsed = new Map<string, ts.SourceFile | undefined>();

function check(project: string): string {
  const configPath = join(ROOT, project);
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')) });
  assert.ok(config, `${project} parses`);
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    // The projects' own files are not shared (they are small, and only theirs).
    if (fileName.includes('/test/types/')) return getSourceFile(fileName, languageVersion, onError, shouldCreate);
    const key = `${fileName}\0${JSON.stringify(languageVersion)}`;
    if (!parsed.has(key)) parsed.set(key, getSourceFile(fileName, languageVersion, onError, shouldCreate));
    return parsed.get(key);
  };
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' });
}

describe('consumer projects type-check against the built declarations', () => {
  test('the package is built and there are consumer projects to check', () => {
    assert.ok(existsSync(join(ROOT, 'dist/sdk/index.d.ts')) && existsSync(join(ROOT, 'dist/widget/jsx/vue.d.ts')), 'run npm run build first');
    assert.ok(PROJECTS.length >= 7, PROJECTS.join(', '));
  });

  for (const project of PROJECTS) {
    test(project, () => assert.equal(check(project), '', project));
  }
});
