// The same from the main entry, with `skipLibCheck: true` (tsc --init's default): the Call's
// DOM types in the package's .d.ts files are not checked, and the signaling client's own types
// need none.
import WebSocket from 'ws';
import { SignalingClient } from 'p2p-call';

const client = new SignalingClient({ url: 'ws://127.0.0.1:8080/ws', room: 'standup-42', WebSocket, storage: null });
client.on('peer-joined', ({ peerId }) => console.log(peerId.toUpperCase()));
// @ts-expect-error: no such event
client.on('peer-joind', () => undefined);
client.close();
