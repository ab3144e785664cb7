#!/usr/bin/env node
// The reference part of docs/widget.md, generated from custom-elements.json (which `npm run
// build` generates from the element's JSDoc and static properties). Only the text between
// `<!-- generated:start -->` and `<!-- generated:end -->` is written; the prose around it is
// hand-written and left alone.
//
//   node scripts/widget-docs.mjs            rewrite the generated block (npm run docs:widget)
//   node scripts/widget-docs.mjs --check    exit 1 if the block differs from what would be written
//   --manifest <file>, --doc <file>         other paths (the tests use them)
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const START = '<!-- generated:start -->';
const END = '<!-- generated:end -->';
const TAG = 'p2p-call';

const { values } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    manifest: { type: 'string', default: resolve(ROOT, 'custom-elements.json') },
    doc: { type: 'string', default: resolve(ROOT, 'docs/widget.md') },
  },
});
const manifestPath = resolve(values.manifest);
const docPath = resolve(values.doc);
const show = (path) => relative(process.cwd(), path) || path;

function fail(message) {
  console.error(`widget-docs: ${message}`);
  process.exit(1);
}

// -------------------------------------------------------------------------------------------
// Manifest

let manifest;
try {
  manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
} catch (error) {
  fail(`cannot read ${show(manifestPath)} (${error.code ?? error.message}); run "npm run build" first`);
}
const element = (manifest.modules ?? [])
  .flatMap((module) => module.declarations ?? [])
  .find((declaration) => declaration.customElement && declaration.tagName === TAG);
if (!element) fail(`${show(manifestPath)} declares no <${TAG}> element`);

// -------------------------------------------------------------------------------------------
// Markdown

/** One table cell: on one line, with `|` escaped (GFM also honours `\|` inside code spans). */
const cell = (text) => (text ?? '').replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim() || '—';
const code = (text) => (text ? `\`${text}\`` : '');

function table(headers, rows) {
  if (rows.length === 0) return '_None._\n';
  const line = (cells) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(headers), `|${headers.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}

const members = element.members ?? [];
const attributes = element.attributes ?? [];
const fieldsWithAttribute = new Set(attributes.map((a) => a.fieldName).filter(Boolean));
const methods = members.filter((m) => m.kind === 'method' && m.privacy !== 'private' && m.privacy !== 'protected' && !m.static);
/** Static methods are called on the class: `P2PCall.addLanguage(…)`. */
const staticMethods = members.filter((m) => m.kind === 'method' && m.privacy !== 'private' && m.privacy !== 'protected' && m.static);
const plainProperties = members.filter((m) => m.kind === 'field' && m.privacy !== 'private' && m.privacy !== 'protected'
  && !m.static && !fieldsWithAttribute.has(m.name));

function signature(method) {
  const params = (method.parameters ?? [])
    .map((p) => `${p.rest ? '...' : ''}${p.name}${p.optional ? '?' : ''}${p.type?.text ? `: ${p.type.text}` : ''}`)
    .join(', ');
  return `${method.name}(${params}): ${method.return?.type?.text ?? 'void'}`;
}

function generate() {
  const out = [];
  out.push(`_Generated from \`custom-elements.json\` by \`scripts/widget-docs.mjs\`: edit the JSDoc in`
    + ` \`widget/p2p-call.ts\` and run \`npm run docs:widget\`, not this block._`);
  out.push('');
  if (element.summary) out.push(`\`<${TAG}>\` (class \`${element.name}\`): ${element.summary}`, '');

  out.push('### Attributes and properties', '');
  out.push(table(
    ['attribute', 'property', 'type', 'default', 'description'],
    attributes.map((a) => {
      const field = members.find((m) => m.name === a.fieldName);
      return [code(a.name), code(a.fieldName), code(a.type?.text ?? field?.type?.text), code(a.default ?? field?.default), a.description ?? field?.description];
    }),
  ));

  if (plainProperties.length > 0) {
    out.push('### Properties without an attribute', '');
    out.push(table(
      ['property', 'type', 'description'],
      plainProperties.map((p) => [code(p.name) + (p.readonly ? ' (read-only)' : ''), code(p.type?.text), p.description]),
    ));
  }

  out.push('### Methods', '');
  out.push(table(['method', 'signature', 'description'], [
    ...methods.map((m) => [code(m.name), code(signature(m)), m.description]),
    ...staticMethods.map((m) => [code(`${element.name}.${m.name}`) + ' (static)', code(`${element.name}.${signature(m)}`), m.description]),
  ]));

  out.push('### Events', '');
  out.push(table(['event', 'detail'], (element.events ?? []).map((e) => [code(e.name), e.description])));

  if ((element.slots ?? []).length > 0) {
    out.push('### Slots', '');
    out.push(table(['slot', 'description'], element.slots.map((slot) => [slot.name ? code(slot.name) : '(default)', slot.description])));
  }

  out.push('### CSS parts', '');
  out.push(table(['part', 'description'], (element.cssParts ?? []).map((p) => [code(p.name), p.description])));

  out.push('### CSS custom properties', '');
  out.push(table(
    ['property', 'default', 'description'],
    (element.cssProperties ?? []).map((p) => [code(p.name), code(p.default), p.description]),
  ));

  return out.join('\n').trimEnd();
}

// -------------------------------------------------------------------------------------------
// docs/widget.md

let doc;
try {
  doc = readFileSync(docPath, 'utf8');
} catch (error) {
  fail(`cannot read ${show(docPath)} (${error.code ?? error.message})`);
}
const start = doc.indexOf(START);
const end = doc.indexOf(END);
if (start === -1 || end === -1 || end < start || doc.indexOf(START, start + 1) !== -1 || doc.indexOf(END, end + 1) !== -1) {
  fail(`${show(docPath)} must contain "${START}" followed by "${END}", once each`);
}
const current = doc.slice(start + START.length, end);
const wanted = `\n${generate()}\n`;

if (values.check) {
  if (current.replace(/\r\n/g, '\n') === wanted) {
    console.log(`widget-docs: ${show(docPath)} matches ${show(manifestPath)}`);
    process.exit(0);
  }
  const have = current.replace(/\r\n/g, '\n').split('\n');
  const want = wanted.split('\n');
  let line = 0;
  while (line < Math.max(have.length, want.length) && have[line] === want[line]) line++;
  const docLine = doc.slice(0, start).split('\n').length + line - 1;
  fail([
    `the generated block of ${show(docPath)} is out of date with ${show(manifestPath)}.`,
    `First difference at ${show(docPath)}:${docLine}:`,
    `  in the file:  ${have[line] ?? '(end of block)'}`,
    `  would write:  ${want[line] ?? '(end of block)'}`,
    'Run "npm run docs:widget" and commit docs/widget.md.',
  ].join('\n'));
}

if (current === wanted) {
  console.log(`widget-docs: ${show(docPath)} is up to date`);
} else {
  writeFileSync(docPath, doc.slice(0, start + START.length) + wanted + doc.slice(end));
  console.log(`widget-docs: wrote the generated block of ${show(docPath)}`);
}
