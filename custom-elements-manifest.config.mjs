// custom-elements.json is generated from the element's JSDoc and static properties, then made
// precise for tools that read it (IDEs, Storybook, framework wrappers):
// - internal reactive state (static properties with `state: true`, named `_…`) is dropped;
// - module paths point at the shipped `dist/**/*.js`, not at the TypeScript sources;
// - every event's type is its detail, expanded by the TypeScript checker from events.ts's
//   `P2PEventDetails`, so it follows the element's types instead of being written twice;
// - every CSS custom property gets the `@property` syntax of its default value.
// scripts/editor-data.mjs then derives VS Code's and JetBrains' data from this file.
import ts from 'typescript';

const dropInternalState = () => ({
  name: 'drop-internal-state',
  packageLinkPhase({ customElementsManifest }) {
    for (const module of customElementsManifest.modules) {
      for (const declaration of module.declarations ?? []) {
        declaration.attributes = declaration.attributes?.filter((a) => !a.name.startsWith('_'));
        declaration.members = declaration.members?.filter((m) => !m.name.startsWith('_') && m.privacy !== 'private');
      }
    }
  },
});

/**
 * `widget/p2p-call.ts` (or `/widget/p2p-call.js`, as the analyzer writes a resolved import) →
 * `dist/widget/p2p-call.js`: what the package ships and exports.
 */
const shippedPath = (path) => {
  const source = /^\/?((?:widget|sdk|server)\/.+)\.(?:ts|js)$/.exec(path);
  return source === null ? path : `dist/${source[1]}.js`;
};

const pointAtShippedModules = () => ({
  name: 'point-at-shipped-modules',
  packageLinkPhase({ customElementsManifest }) {
    for (const module of customElementsManifest.modules) {
      for (const declaration of module.declarations ?? []) {
        // The analyzer takes a global base class for a local one.
        if (declaration.superclass?.name === 'CustomEvent') declaration.superclass = { name: 'CustomEvent', package: 'global:' };
      }
    }
    const visit = (value) => {
      if (Array.isArray(value)) return value.forEach(visit);
      if (value === null || typeof value !== 'object') return;
      for (const [key, child] of Object.entries(value)) {
        if ((key === 'path' || key === 'module') && typeof child === 'string') value[key] = shippedPath(child);
        else visit(child);
      }
    };
    visit(customElementsManifest.modules);
  },
});

/** One type-checked program over the element's sources, shared by the plugins below. */
let program;
function checked() {
  if (program === undefined) {
    const configFile = ts.readConfigFile('tsconfig.json', ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, '.');
    program = ts.createProgram(['widget/events.ts', 'widget/p2p-call.ts'], { ...options, noEmit: true });
  }
  return { checker: program.getTypeChecker(), source: (file) => program.getSourceFile(file) };
}

/**
 * The element's property types with named unions of literals written out
 * (`RTCIceTransportPolicy` → `'all' | 'relay'`), so editors can offer the values.
 */
function literalPropertyTypes() {
  const { checker, source } = checked();
  const file = source('widget/p2p-call.ts');
  const element = file?.statements.find((s) => ts.isClassDeclaration(s) && s.name?.text === 'P2PCall');
  if (element === undefined) return new Map();
  const types = new Map();
  for (const property of checker.getTypeAtLocation(element).getProperties()) {
    const type = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(property, element));
    if (type.isUnion() && type.types.every((t) => t.isStringLiteral())) {
      types.set(property.name, type.types.map((t) => `'${t.value}'`).join(' | '));
    }
  }
  return types;
}

const expandLiteralTypes = () => ({
  name: 'expand-literal-types',
  packageLinkPhase({ customElementsManifest }) {
    const types = literalPropertyTypes();
    for (const module of customElementsManifest.modules) {
      for (const declaration of module.declarations ?? []) {
        for (const item of [...(declaration.attributes ?? []), ...(declaration.members ?? [])]) {
          const expanded = types.get(item.fieldName ?? item.name);
          if (expanded === undefined || item.type === undefined || (item.kind !== undefined && item.kind !== 'field')) continue;
          item.type = { text: /\|\s*undefined$/.test(item.type.text) ? `${expanded} | undefined` : expanded };
        }
      }
    }
  },
});

/** The detail types of `P2PEventDetails`, written out one level deep (named unions expanded). */
function eventDetailTypes() {
  const { checker, source: sourceOf } = checked();
  const source = sourceOf('widget/events.ts');
  const details = source?.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === 'P2PEventDetails');
  if (details === undefined) throw new Error('custom-elements-manifest: widget/events.ts has no P2PEventDetails');
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;
  const write = (type, depth) => {
    if (type.isUnion() && type.types.every((t) => t.isLiteral() || t.flags & ts.TypeFlags.BooleanLiteral)) {
      return checker.typeToString(type, undefined, flags | ts.TypeFormatFlags.InTypeAlias);
    }
    if (type.isUnion()) return type.types.map((t) => write(t, depth)).join(' | ');
    const properties = type.getProperties();
    if (depth > 0 && type.flags & ts.TypeFlags.Object && properties.length > 0 && !type.getCallSignatures().length) {
      const fields = properties.map((p) => {
        const optional = p.flags & ts.SymbolFlags.Optional ? '?' : '';
        const declared = checker.getTypeOfSymbolAtLocation(p, details);
        return `${p.name}${optional}: ${write(optional ? checker.getNonNullableType(declared) : declared, depth - 1)}`;
      });
      return `{ ${fields.join('; ')} }`;
    }
    return checker.typeToString(type, undefined, flags);
  };
  const detailsType = checker.getTypeAtLocation(details);
  return new Map(detailsType.getProperties().map((p) => [p.name, write(checker.getTypeOfSymbolAtLocation(p, details), 1)]));
}

const typeEventDetails = () => ({
  name: 'type-event-details',
  packageLinkPhase({ customElementsManifest }) {
    const details = eventDetailTypes();
    for (const module of customElementsManifest.modules) {
      for (const declaration of module.declarations ?? []) {
        for (const event of declaration.events ?? []) {
          const detail = details.get(event.name);
          if (detail === undefined) throw new Error(`custom-elements-manifest: event ${event.name} is not in P2PEventDetails`);
          event.type = { text: `CustomEvent<${detail}>` };
        }
      }
    }
  },
});

/** The `@property` syntax of a custom property, read from its default value. */
function cssSyntax(value = '') {
  if (/^(#[0-9a-f]{3,8}|(rgb|hsl|oklch|oklab|color)a?\(.*\))$/i.test(value.trim())) return '<color>';
  if (/^-?\d*\.?\d+(px|rem|em|vh|vw|ch)$/.test(value.trim())) return '<length>';
  if (/^-?\d*\.?\d+%$/.test(value.trim())) return '<percentage>';
  if (/^-?\d*\.?\d+m?s$/.test(value.trim())) return '<time>';
  if (/^-?\d*\.?\d+$/.test(value.trim())) return '<number>';
  return '*';
}

const cssPropertySyntax = () => ({
  name: 'css-property-syntax',
  packageLinkPhase({ customElementsManifest }) {
    for (const module of customElementsManifest.modules) {
      for (const declaration of module.declarations ?? []) {
        for (const property of declaration.cssProperties ?? []) property.syntax ??= cssSyntax(property.default);
      }
    }
  },
});

export default {
  globs: ['widget/p2p-call.ts', 'widget/events.ts', 'widget/define.ts'],
  outdir: '.',
  litelement: true,
  dependencies: false,
  plugins: [dropInternalState(), typeEventDetails(), expandLiteralTypes(), cssPropertySyntax(), pointAtShippedModules()],
};
