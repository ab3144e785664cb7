// A React app using `p2p-call/react`: type-checked by test/types/consumers.test.ts and rendered in
// Chromium with React 18 and 19 by test/react/react.test.ts (which passes the parameters below).
import { useRef, useState, version } from 'react';
import { createRoot } from 'react-dom/client';
import { P2PCall, type P2PCallProps } from 'p2p-call/react';
import type { P2PCall as P2PCallElement, P2PCallState } from 'p2p-call/widget';

interface Report {
  react: string;
  states: P2PCallState[];
  peers: string[];
  left: string[];
  errors: string[];
}

declare global {
  interface Window {
    params: { server: string; room: string; name: string };
    report: Report;
    unmount(): void;
  }
}

const report: Report = { react: version, states: [], peers: [], left: [], errors: [] };
window.report = report;

function App() {
  const ref = useRef<P2PCallElement>(null);
  const [iceServers] = useState<RTCIceServer[]>([]);
  const { server, room, name } = window.params;
  return (
    <P2PCall
      ref={ref}
      server={server}
      room={room}
      displayName={name}
      iceServers={iceServers}
      autojoin
      onStateChange={(event) => report.states.push(event.detail.state)}
      onPeerJoin={(event) => report.peers.push(event.detail.displayName ?? event.detail.peerId)}
      onPeerLeave={(event) => report.left.push(event.detail.reason)}
      onError={(event) => report.errors.push(event.detail.code)}
    />
  );
}

// Checked by the compiler only: a misspelt event prop or a wrong payload does not compile.
export const typos: P2PCallProps[] = [
  // @ts-expect-error: no such event prop
  { onStateChnage: () => undefined },
  // @ts-expect-error: detail.state is a P2PCallState, not a number
  { onStateChange: (event) => event.detail.state satisfies number },
  // @ts-expect-error: room is a string
  { room: 42 },
];

const root = createRoot(document.getElementById('root') as HTMLElement);
root.render(<App />);
window.unmount = () => root.unmount();
