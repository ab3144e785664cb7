// React 19 with the element used directly in JSX (no wrapper).
import 'p2p-call/define';
import type {} from 'p2p-call/jsx/react';

export const ok = (
  <p2p-call
    room="standup-42"
    autojoin
    iceServers={[{ urls: 'stun:stun.example.com' }]}
    ice-transport-policy="relay"
    className="call"
    onp2p-state-change={(event) => console.log(event.detail.state satisfies string)}
    onp2p-error={(event) => console.log(event.detail.code === 'room-full')}
  />
);
// @ts-expect-error: room is a string
export const badRoom = <p2p-call room={42} />;
// @ts-expect-error: iceServers is an array of RTCIceServer
export const badIce = <p2p-call iceServers="stun:x" />;
// @ts-expect-error: state is read-only, not a prop
export const badState = <p2p-call state="connected" />;
// @ts-expect-error: the detail of p2p-stats has no `state`
export const badDetail = <p2p-call onp2p-stats={(event) => event.detail.state} />;
