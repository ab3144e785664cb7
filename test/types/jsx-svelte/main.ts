// Svelte 5: what svelte-check checks `<p2p-call …>` markup against, checked here without it.
import type { SvelteHTMLElements } from 'svelte/elements';
import type {} from 'p2p-call/jsx/svelte';

type Attributes = SvelteHTMLElements['p2p-call'];

export const ok: Attributes = {
  room: 'standup-42',
  autojoin: true,
  class: 'call',
  iceServers: [{ urls: 'stun:stun.example.com' }],
  'onp2p-state-change': (event) => console.log(event.detail.state),
  'onp2p-error': (event) => console.log(event.detail.code === 'room-full'),
};
// @ts-expect-error: room is a string
export const badRoom: Attributes = { room: 42 };
// @ts-expect-error: the detail of p2p-message has no `state`
export const badDetail: Attributes = { 'onp2p-message': (event) => event.detail.state };
