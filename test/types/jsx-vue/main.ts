// Vue: what vue-tsc checks a template's `<p2p-call …>` against, checked here without it.
import type { GlobalComponents } from 'vue';
import type {} from 'p2p-call/jsx/vue';

type Props = InstanceType<GlobalComponents['p2p-call']>['$props'];

export const ok: Props = {
  room: 'standup-42',
  autojoin: true,
  iceServers: [{ urls: 'stun:stun.example.com' }],
  onP2pStateChange: (event) => console.log(event.detail.state, event.detail.previous),
  onP2pError: (event) => console.log(event.detail.code === 'room-full'),
};
// @ts-expect-error: room is a string
export const badRoom: Props = { room: 42 };
// @ts-expect-error: no such event
export const badEvent: Props = { onP2pStateChnage: () => undefined };
// @ts-expect-error: the detail of p2p-message has no `state`
export const badDetail: Props = { onP2pMessage: (event) => event.detail.state };
