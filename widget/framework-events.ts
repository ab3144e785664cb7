/**
 * The element's events as framework props: `p2p-state-change` → `onStateChange`. Derived from
 * `P2PEventDetails` (events.ts), so the React wrapper and the JSX typings follow the element:
 * an event added there is a compile error here until it is listed.
 */
import type { P2PEventName } from './events.js';

type Pascal<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Capitalize<Head>}${Pascal<Tail>}` : Capitalize<S>;

/** `p2p-state-change` → `onStateChange`. */
export type EventPropName<N extends P2PEventName> = N extends `p2p-${infer Rest}` ? `on${Pascal<Rest>}` : never;

/** Every event of the element, at run time. */
export const P2P_EVENT_NAMES = [
  'p2p-state-change',
  'p2p-peer-join',
  'p2p-peer-leave',
  'p2p-media-change',
  'p2p-remote-media-change',
  'p2p-message',
  'p2p-stats',
  'p2p-error',
] as const satisfies readonly P2PEventName[];

// Fails to compile when events.ts gains an event that the list above lacks.
type Unlisted = Exclude<P2PEventName, (typeof P2P_EVENT_NAMES)[number]>;
const everyEventListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyEventListed;

export function eventPropName<N extends P2PEventName>(name: N): EventPropName<N> {
  const pascal = name
    .replace(/^p2p-/, '')
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return `on${pascal}` as EventPropName<N>;
}
