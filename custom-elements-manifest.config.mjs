// custom-elements.json is generated from the element's JSDoc and static properties.
// Internal reactive state (static properties with `state: true`, named `_…`) is not public
// API: the plugin below drops it, since the analyzer lists every static property.
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

export default {
  globs: ['widget/p2p-call.ts', 'widget/events.ts'],
  outdir: '.',
  litelement: true,
  dependencies: false,
  plugins: [dropInternalState()],
};
