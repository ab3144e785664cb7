// A browser app using the SDK and the element: event names and payloads are checked.
import { Call, type CallErrorCode, type CallState } from 'p2p-call';
import 'p2p-call/define';

const call = new Call({ server: 'wss://calls.example.com/ws', room: 'standup-42' });
const video = document.createElement('video');
call.on('remote-stream', (stream) => (video.srcObject = stream));
call.on('state', ({ state, previous }) => console.log(state satisfies CallState, previous satisfies CallState));
call.on('error', (error) => {
  if (error.code === 'room-full') console.log(error.fatal);
  // @ts-expect-error: a misspelt error code does not compile
  if (error.code === 'room-ful') console.log(error.fatal);
});
// @ts-expect-error: a misspelt event name does not compile
call.on('remote-steam', () => undefined);
// @ts-expect-error: the payload of `remote-stream` is a MediaStream, not a string
call.on('remote-stream', (stream: string) => console.log(stream));
// @ts-expect-error: `emit` is the call's own business
call.emit('state', { state: 'idle', previous: 'idle' });

const element = document.createElement('p2p-call');
element.room = 'standup-42';
element.addEventListener('p2p-state-change', (event) => console.log(event.detail.state, event.detail.previous));
element.addEventListener('p2p-error', (event) => {
  const code: CallErrorCode = event.detail.code;
  switch (code) {
    case 'media-denied':
    case 'room-full':
      break;
    // @ts-expect-error: not a code
    case 'room-ful':
      break;
  }
  console.log(event.detail.fatal satisfies boolean);
});
// @ts-expect-error: the union is closed: an arbitrary string is not a known code
const notACode: CallErrorCode = 'anything';
console.log(notACode);
