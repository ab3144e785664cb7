/**
 * `p2p-call/jsx/svelte`: `<p2p-call>` in Svelte 5 markup checked by svelte-check: its
 * properties as attributes and its events as `onp2p-state-change={…}` handlers.
 * Load once, e.g. in `src/app.d.ts`: `import type {} from 'p2p-call/jsx/svelte'`.
 */
import type { HTMLAttributes } from 'svelte/elements';
import type { P2PCallEventAttributes, P2PCallProperties } from '../framework-types.js';
import type { P2PCall } from '../p2p-call.js';

export type P2PCallSvelteAttributes = Omit<HTMLAttributes<P2PCall>, keyof P2PCallProperties> & P2PCallProperties & P2PCallEventAttributes;

declare module 'svelte/elements' {
  interface SvelteHTMLElements {
    'p2p-call': P2PCallSvelteAttributes;
  }
}
