import { expect } from '@open-wc/testing';
import { sendMouse } from '@web/test-runner-commands';
import { cleanUp, connectedPair, framesDecoded, makeCall, nextEvent, startServer, stateReached, uniqueRoom, until } from './call-helpers.js';

afterEach(cleanUp);

/** Runs `action` inside a real user gesture (a trusted click), as getDisplayMedia requires. */
async function withUserGesture(action: () => Promise<void>): Promise<void> {
  const button = document.createElement('button');
  button.textContent = 'gesture';
  button.style.cssText = 'position:fixed;left:0;top:0;width:80px;height:40px;z-index:9';
  document.body.append(button);
  const done = new Promise<void>((resolve, reject) => {
    button.addEventListener('click', () => action().then(resolve, reject), { once: true });
  });
  await sendMouse({ type: 'click', position: [20, 20] });
  await done;
  button.remove();
}

describe('Call media controls', () => {
  it('turns the camera off (stopped, not disabled) and on again without renegotiating; the other side sees it', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const pc = (a as unknown as { session: { pc: RTCPeerConnection } }).session.pc;
    let renegotiations = 0;
    pc.addEventListener('signalingstatechange', () => renegotiations++);
    const camera = a.localStream!.getVideoTracks()[0]!;

    const off = nextEvent(b, 'remote-media-change', (m) => !m.camera);
    await a.setCamera(false);
    expect(camera.readyState).to.equal('ended');
    expect(a.mediaState.camera).to.equal(false);
    await off;

    const on = nextEvent(b, 'remote-media-change', (m) => m.camera);
    await a.setCamera(true);
    await on;
    const newCamera = a.localStream!.getVideoTracks()[0]!;
    expect(newCamera.readyState).to.equal('live');
    await framesDecoded(b.remoteStream!);
    expect(renegotiations).to.equal(0);
  });

  it('mutes and unmutes the microphone, and the remote side sees the mute state', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const muted = nextEvent(b, 'remote-media-change', (m) => !m.microphone);
    await a.setMicrophone(false);
    expect(a.localStream!.getAudioTracks()[0]!.enabled).to.equal(false);
    await muted;
    const unmuted = nextEvent(b, 'remote-media-change', (m) => m.microphone);
    await a.setMicrophone(true);
    await unmuted;
  });

  it('switches the camera and the microphone to other devices in place; the other side keeps decoding', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const kind of ['video', 'audio'] as const) {
      const tracks = () => (kind === 'video' ? a.localStream!.getVideoTracks() : a.localStream!.getAudioTracks());
      const before = tracks()[0]!;
      // Another real device than the one in use ("default" is an alias of one of them). Of
      // Chromium's fake cameras, fake_device_1 is a Y16 depth camera whose frames WebRTC does
      // not send; fake_device_2 is an MJPEG one, like most USB webcams.
      const other = devices.find((d) => d.kind === `${kind}input` && d.deviceId !== 'default' && d.deviceId !== before.getSettings().deviceId
        && (kind === 'audio' || d.label === 'fake_device_2'));
      expect(other, `another ${kind} device (test/chromium-args.mjs asks for three cameras)`).to.exist;
      await a.useDevice(kind, other!.deviceId);
      const after = tracks()[0]!;
      expect(after.getSettings().deviceId, `${kind} now from the chosen device`).to.equal(other!.deviceId);
      expect(before.readyState).to.equal('ended');
    }
    await framesDecoded(b.remoteStream!);
  });

  it('shares the screen and goes back to the camera when sharing ends from the browser', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const sharing = nextEvent(b, 'remote-media-change', (m) => m.screen);
    await withUserGesture(() => a.setScreenShare(true));
    expect(a.mediaState.screen).to.equal(true);
    await sharing;
    const screenTrack = a.localStream!.getVideoTracks()[0]!;
    await framesDecoded(b.remoteStream!);

    // The browser's own "Stop sharing" ends the track, which fires `ended`.
    const back = nextEvent(b, 'remote-media-change', (m) => !m.screen && m.camera);
    screenTrack.stop();
    screenTrack.dispatchEvent(new Event('ended'));
    await back;
    expect(a.mediaState).to.deep.equal({ microphone: true, camera: true, screen: false });
    await framesDecoded(b.remoteStream!);
  });

  it('runs an audio-only call: no camera is opened, audio flows', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room, { media: { audioOnly: true } });
    const b = makeCall(server, room, { media: { audioOnly: true } });
    await a.join();
    await b.join();
    await Promise.all([stateReached(a, 'connected'), stateReached(b, 'connected')]);
    expect(a.localStream!.getVideoTracks()).to.have.length(0);
    await until(() => b.remoteStream!.getAudioTracks().some((t) => t.readyState === 'live'), 'remote audio');
  });

  it('carries display names and chat; refuses an over-long message', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const a = makeCall(server, room, { displayName: 'Ada' });
    const b = makeCall(server, room, { displayName: 'Bo' });
    const named = nextEvent(b, 'remote-media-change', (m) => m.displayName === 'Ada');
    await a.join();
    await b.join();
    await named;
    const message = nextEvent(a, 'message');
    b.sendMessage('<b>hi</b>');
    expect(await message).to.deep.equal({ from: b.peerId, text: '<b>hi</b>' });
    expect(() => a.sendMessage('x'.repeat(4001))).to.throw().with.property('code', 'message-too-long');
  });

  it('emits stats while connected, with the selected candidate type', async () => {
    const server = await startServer();
    const { a } = await connectedPair(server, { statsIntervalMs: 200 });
    const stats = await nextEvent(a, 'stats', (s) => s.rttMs !== null && s.inboundKbps > 0);
    expect(stats.candidateType).to.equal('host');
    expect(['good', 'fair', 'poor']).to.include(stats.quality);
    expect(stats.packetLoss).to.be.within(0, 1);
  });

  it('falls back to the default camera when the one in use goes away (unplugged)', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const camera = a.localStream!.getVideoTracks()[0]!;
    // What the browser does on unplug: the track ends on its own.
    camera.stop();
    camera.dispatchEvent(new Event('ended'));
    await until(() => {
      const now = a.localStream!.getVideoTracks()[0];
      return now !== undefined && now !== camera && now.readyState === 'live';
    }, 'a new camera track');
    expect(a.mediaState.camera).to.equal(true);
    await framesDecoded(b.remoteStream!);
  });
});
