/**
 * `p2p-call/jsx/react`: `<p2p-call>` in React 19's JSX, used directly (without the wrapper).
 * React 19 sets known properties as properties and attaches `on<event-name>` props as event
 * listeners, so `iceServers={[…]}` and `onp2p-state-change={(e) => e.detail.state}` are typed.
 * Load once, e.g. `import type {} from 'p2p-call/jsx/react'` next to `import 'p2p-call/define'`.
 */
import type { DetailedHTMLProps, HTMLAttributes } from 'react';
import type { P2PCallEventAttributes, P2PCallProperties } from '../framework-types.js';
import type { P2PCall } from '../p2p-call.js';

export type P2PCallJsxProps = DetailedHTMLProps<HTMLAttributes<P2PCall>, P2PCall> & P2PCallProperties & P2PCallEventAttributes;

declare module 'react' {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    interface IntrinsicElements {
      'p2p-call': P2PCallJsxProps;
    }
  }
}
