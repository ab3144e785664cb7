import { expect } from '@open-wc/testing';
import { CallError } from '../../sdk/index.js';
import { cleanUp, framesDecoded, inboundAudioPackets, makeCall, startServer, stateReached, uniqueRoom, nextEvent, until } from './call-helpers.js';

afterEach(cleanUp);

describe('Call between two peers', () => {
  it('connects, decodes remote video on both sides and has live remote audio', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room);
    const b = makeCall(server, room);
    await a.join();
    expect(a.state).to.equal('waiting');
    await b.join();
    await Promise.all([stateReached(a, 'connected'), stateReached(b, 'connected')]);
    await Promise.all([framesDecoded(a.remoteStream!), framesDecoded(b.remoteStream!)]);
    const remoteAudio = a.remoteStream!.getAudioTracks()[0]!;
    expect(remoteAudio.readyState).to.equal('live');
    await until(async () => (await inboundAudioPackets(a)) > 0, 'audio packets arrive');
  });

  it('tells the other side at once when one hangs up, and releases the devices', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room);
    const b = makeCall(server, room);
    await a.join();
    await b.join();
    await stateReached(b, 'connected');
    const tracks = a.localStream!.getTracks();
    const left = nextEvent(b, 'peer-leave');
    a.hangup();
    expect(a.state).to.equal('ended');
    expect(tracks.every((t) => t.readyState === 'ended')).to.equal(true);
    expect((await left).reason).to.equal('hangup');
    await stateReached(b, 'waiting');
    a.hangup(); // a second hangup is a no-op
    expect(a.state).to.equal('ended');
  });

  it('refuses a third joiner with room-full', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    await makeCall(server, room).join();
    await makeCall(server, room).join();
    const third = makeCall(server, room, { media: { audio: false, video: false } });
    const error = await third.join().then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(CallError);
    expect((error as CallError).code).to.equal('room-full');
    expect(third.state).to.equal('error');
  });

  it('connects again when one peer leaves and another joins the same room', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room);
    const b = makeCall(server, room);
    await a.join();
    await b.join();
    await stateReached(a, 'connected');
    b.hangup();
    await stateReached(a, 'waiting');
    const c = makeCall(server, room);
    const joined = nextEvent(a, 'peer-join');
    await c.join();
    expect((await joined).peerId).to.equal(c.peerId);
    await Promise.all([stateReached(a, 'connected'), stateReached(c, 'connected')]);
    await Promise.all([framesDecoded(a.remoteStream!), framesDecoded(c.remoteStream!)]);
  });

  it('connects whichever side joined first, for many come-and-go rounds', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const stay = makeCall(server, room, { media: { audio: true, video: false } });
    await stay.join();
    for (let round = 0; round < 3; round++) {
      const visitor = makeCall(server, room, { media: { audio: true, video: false } });
      await visitor.join();
      await Promise.all([stateReached(stay, 'connected'), stateReached(visitor, 'connected')]);
      visitor.hangup();
      await stateReached(stay, 'waiting');
    }
  });
});
