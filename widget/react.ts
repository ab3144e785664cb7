/**
 * `p2p-call/react`: `<p2p-call>` as a React component, made with `@lit/react`. Properties are
 * set as properties (so `iceServers` takes an array), and every event is a typed prop:
 * `onStateChange={(e) => e.detail.state}`. Importing it registers the element.
 *
 * ```tsx
 * import { P2PCall } from 'p2p-call/react';
 * <P2PCall room="standup-42" autojoin onStateChange={(e) => console.log(e.detail.state)} />
 * ```
 *
 * React is a peer dependency (18 or 19); `@lit/react` never enters the script-tag bundle.
 */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import './define.js';
import type { P2PCallEvent, P2PEventName } from './events.js';
import { P2P_EVENT_NAMES, eventPropName, type EventPropName } from './framework-types.js';
import { P2PCall as P2PCallElement } from './p2p-call.js';

/** The event props: `onStateChange` → `P2PCallEvent<'p2p-state-change'>`, and so on. */
export type P2PCallReactEvents = { [N in P2PEventName as EventPropName<N>]: EventName<P2PCallEvent<N>> };

const events = Object.fromEntries(P2P_EVENT_NAMES.map((name) => [eventPropName(name), name])) as P2PCallReactEvents;

export const P2PCall = createComponent({
  react: React,
  tagName: 'p2p-call',
  elementClass: P2PCallElement,
  events,
  displayName: 'P2PCall',
});

/** The props of {@link P2PCall}: the element's properties, its events as `on…`, and `ref`. */
export type P2PCallProps = React.ComponentProps<typeof P2PCall>;
