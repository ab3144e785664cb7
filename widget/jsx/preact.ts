/**
 * `p2p-call/jsx/preact`: `<p2p-call>` in Preact's JSX. Preact sets properties the element has
 * and attaches `on<event-name>` props as listeners for the exact event name.
 * Load once: `import type {} from 'p2p-call/jsx/preact'`.
 */
import type { HTMLAttributes } from 'preact';
import type { P2PCallEventAttributes, P2PCallProperties } from '../framework-types.js';
import type { P2PCall } from '../p2p-call.js';

export type P2PCallPreactProps = Omit<HTMLAttributes<P2PCall>, keyof P2PCallProperties> & P2PCallProperties & P2PCallEventAttributes;

declare module 'preact' {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    interface IntrinsicElements {
      'p2p-call': P2PCallPreactProps;
    }
  }
}
