// A Node program with no DOM lib: the signaling client compiles against `ws` without a cast.
import WebSocket from 'ws';
import { SignalingClient, type SignalingEvents } from 'p2p-call/signaling';

const client = new SignalingClient({ url: 'ws://127.0.0.1:8080/ws', room: 'standup-42', WebSocket, storage: null });
client.on('joined', ({ message, resumed }) => console.log(message.peerId, resumed));
client.on('signal', ({ from, data }) => console.log(from, Object.keys(data)));
client.on('error', (error) => console.log(error.code, error.fatal));
// @ts-expect-error: no such event
client.on('joind', () => undefined);
// @ts-expect-error: the payload of `state` is not a string
client.on('state', (state: string) => console.log(state));
const names: (keyof SignalingEvents)[] = ['state', 'joined'];
console.log(names);
client.close();
