/**
 * The element's public surface as frameworks see it, derived from the element's own types so
 * that the React wrapper and the JSX typings follow it:
 * - its settable properties (public, writable, not methods, not LitElement's own);
 * - its events (`P2PEventDetails` in events.ts) as props: `p2p-state-change` → `onStateChange`
 *   for the React wrapper; an event added there is a compile error here until it is listed.
 */
import type { LitElement } from 'lit';
import type { P2PCallEvent, P2PEventName } from './events.js';
import type { P2PCall } from './p2p-call.js';

type IfEquals<X, Y, A, B> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? A : B;
/** Keys of T that can be assigned: not `readonly`, not getter-only. */
type WritableKeys<T> = { [K in keyof T]-?: IfEquals<{ [Q in K]: T[K] }, { -readonly [Q in K]: T[K] }, K, never> }[keyof T];
type MethodKeys<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];

/** The properties a framework can set on `<p2p-call>`: `room`, `server`, `iceServers`, `autojoin`… */
export type P2PCallProperties = Partial<Pick<P2PCall, Exclude<WritableKeys<P2PCall>, MethodKeys<P2PCall> | keyof LitElement>>>;

/** Listener props named as React 19, Preact and Svelte 5 attach custom events: `onp2p-state-change`. */
export type P2PCallEventAttributes = { [N in P2PEventName as `on${N}`]?: (event: P2PCallEvent<N>) => void };

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
  'p2p-speaking',
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
