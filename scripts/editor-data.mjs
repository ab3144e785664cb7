/**
 * Editor data generated from custom-elements.json (run by `npm run build` after `cem analyze`):
 * - dist/vscode.html-custom-data.json: VS Code's HTML custom data (tag, attributes with their
 *   values, a link to the docs), for `"html.customData"` in a project's settings;
 * - dist/web-types.json: JetBrains web-types (element, attributes, properties, events, CSS
 *   properties and parts), found by WebStorm through package.json's "web-types" field.
 * Both are derived, so they cannot drift from the manifest (test/server/package.test.ts checks).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DOCS = 'https://github.com/p2p-call/p2p-call/blob/main/docs/widget.md';

/** `'all' | 'relay'` → ['all', 'relay']; undefined when the type is not a union of literals. */
function literalValues(typeText = '') {
  const parts = typeText.split('|').map((part) => part.trim()).filter((part) => part !== 'undefined');
  if (parts.length === 0 || !parts.every((part) => /^'[^']*'$|^"[^"]*"$/.test(part))) return undefined;
  return parts.map((part) => part.slice(1, -1));
}

const isBoolean = (typeText = '') => typeText.replace(/\s*\|\s*undefined/, '') === 'boolean';

export function elementsOf(manifest) {
  return manifest.modules.flatMap((module) => (module.declarations ?? []).filter((d) => d.customElement && d.tagName).map((d) => ({ module, declaration: d })));
}

export function vscodeData(manifest) {
  return {
    $schema: 'https://raw.githubusercontent.com/microsoft/vscode-html-languageservice/main/docs/customData.schema.json',
    version: 1.1,
    tags: elementsOf(manifest).map(({ declaration: d }) => ({
      name: d.tagName,
      description: [d.summary, d.description].filter(Boolean).join('\n\n'),
      attributes: (d.attributes ?? []).map((a) => {
        const values = literalValues(a.type?.text);
        return {
          name: a.name,
          description: [a.description, a.default === undefined ? '' : `Default: ${a.default}`].filter(Boolean).join('\n\n'),
          ...(isBoolean(a.type?.text) ? { valueSet: 'v' } : {}),
          ...(values ? { values: values.map((name) => ({ name })) } : {}),
        };
      }),
      references: [{ name: 'Documentation', url: DOCS }],
    })),
  };
}

export function webTypes(manifest, pkg) {
  return {
    $schema: 'https://json.schemastore.org/web-types',
    name: pkg.name,
    version: pkg.version,
    'description-markup': 'markdown',
    'js-types-syntax': 'typescript',
    contributions: {
      html: {
        elements: elementsOf(manifest).map(({ declaration: d }) => ({
          name: d.tagName,
          description: [d.summary, d.description].filter(Boolean).join('\n\n'),
          'doc-url': DOCS,
          source: { module: `${pkg.name}/widget`, symbol: d.name },
          attributes: (d.attributes ?? []).map((a) => ({
            name: a.name,
            description: a.description,
            ...(a.default === undefined ? {} : { default: a.default }),
            value: isBoolean(a.type?.text) ? { type: 'boolean', required: false } : { type: a.type?.text ?? 'string', required: false },
          })),
          js: {
            properties: (d.members ?? []).filter((m) => m.kind === 'field' && !m.static).map((m) => ({
              name: m.name,
              description: m.description,
              type: m.type?.text,
              ...(m.readonly ? { 'read-only': true } : {}),
            })),
            events: (d.events ?? []).map((e) => ({ name: e.name, description: e.description, type: e.type?.text })),
          },
          css: {
            properties: (d.cssProperties ?? []).map((p) => ({ name: p.name, description: p.description, ...(p.default ? { default: p.default } : {}) })),
            parts: (d.cssParts ?? []).map((p) => ({ name: p.name, description: p.description })),
          },
        })),
      },
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const manifest = JSON.parse(await readFile(join(ROOT, 'custom-elements.json'), 'utf8'));
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  await writeFile(join(ROOT, 'dist/vscode.html-custom-data.json'), `${JSON.stringify(vscodeData(manifest), null, 2)}\n`);
  await writeFile(join(ROOT, 'dist/web-types.json'), `${JSON.stringify(webTypes(manifest, pkg), null, 2)}\n`);
  console.log('editor data: dist/vscode.html-custom-data.json, dist/web-types.json');
}
