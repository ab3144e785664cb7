import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { sendKeys, sendMouse } from '@web/test-runner-commands';
import '../../widget/define.js';
import { P2PCall, type P2PCallEvent, type P2PCallState } from '../../widget/index.js';
import { cleanUp, startServer, uniqueRoom, until, type TestServer } from '../sdk/call-helpers.js';

const elements: P2PCall[] = [];
afterEach(async () => {
  for (const el of elements.splice(0)) {
    el.hangup();
    el.remove();
  }
  await cleanUp();
});

async function element(template: ReturnType<typeof html>): Promise<P2PCall> {
  const el = await fixture<P2PCall>(template);
  elements.push(el);
  return el;
}

/** Resolves when the element reaches `state`; rejects if it lands in `error` instead. */
async function stateOf(el: P2PCall, state: P2PCallState): Promise<void> {
  while (el.state !== state) {
    const event = await oneEvent(el, 'p2p-state-change');
    if (event.detail.state === 'error' && state !== 'error') throw new Error(`error state while waiting for ${state}`);
  }
}

function shadow(el: P2PCall): ShadowRoot {
  return el.shadowRoot!;
}

function button(el: P2PCall, label: RegExp): HTMLButtonElement {
  const found = [...shadow(el).querySelectorAll('button')].find((b) => label.test(b.getAttribute('aria-label') ?? b.textContent ?? ''));
  if (!found) throw new Error(`no button labelled ${label}`);
  return found;
}

/** The lobby's self-preview stream, once it is open. */
async function previewStream(el: P2PCall): Promise<MediaStream> {
  let stream: MediaStream | undefined;
  await until(() => {
    const video = shadow(el).querySelector<HTMLVideoElement>('video[part="local-video"]');
    stream = video?.srcObject instanceof MediaStream ? video.srcObject : undefined;
    return stream !== undefined && stream.getTracks().length > 0;
  }, 'self-preview');
  return stream!;
}

const live = (tracks: MediaStreamTrack[]) => tracks.filter((t) => t.readyState === 'live');

const liveRegion = (el: P2PCall) => shadow(el).querySelector('[aria-live="polite"]')!.textContent!.trim();

async function connectedPair(server: TestServer) {
  const room = uniqueRoom();
  const a = await element(html`<p2p-call room=${room} server=${server.wsUrl} autojoin display-name="Ada"></p2p-call>`);
  await stateOf(a, 'waiting');
  const b = await element(html`<p2p-call room=${room} server=${server.wsUrl} autojoin display-name="Bo"></p2p-call>`);
  await Promise.all([stateOf(a, 'connected'), stateOf(b, 'connected')]);
  return { a, b, room };
}

describe('<p2p-call> states', () => {
  it('is idle and says so without a room', async () => {
    const el = await element(html`<p2p-call></p2p-call>`);
    expect(el.state).to.equal('idle');
    expect(shadow(el).textContent).to.contain('No room');
    await expect(el).shadowDom.to.be.accessible();
  });

  it('opens the lobby with a self-preview, device pickers, a level meter and a join button', async () => {
    const el = await element(html`<p2p-call room="lobby-test"></p2p-call>`);
    expect(el.state).to.equal('preview');
    await until(() => shadow(el).querySelectorAll('select').length >= 2, 'device pickers');
    const video = shadow(el).querySelector<HTMLVideoElement>('video[part="local-video"]')!;
    await until(() => video.srcObject instanceof MediaStream, 'self-preview');
    expect(shadow(el).querySelector('meter')).to.exist;
    expect(shadow(el).querySelector('[part~="join-button"]')).to.exist;
    await expect(el).shadowDom.to.be.accessible();
  });

  it('camera-off: the lobby opens no camera, says so, and turning camera-off off restarts the preview with one', async () => {
    const el = await element(html`<p2p-call room=${uniqueRoom()} camera-off></p2p-call>`);
    const stream = await previewStream(el);
    expect(live(stream.getVideoTracks()), 'a live camera track in the lobby').to.have.length(0);
    expect(shadow(el).querySelector('[part="lobby"]')!.textContent).to.contain('Camera off');
    el.cameraOff = false;
    await until(async () => live((await previewStream(el)).getVideoTracks()).length === 1, 'camera in the preview');
    expect(live(stream.getTracks()), 'the old preview is released').to.have.length(0);
    el.cameraOff = true;
    await until(async () => (await previewStream(el)).getVideoTracks().length === 0, 'camera off again');
  });

  it('audio-only: the lobby asks for no camera', async () => {
    const asked: MediaStreamConstraints[] = [];
    const devices = navigator.mediaDevices as MediaDevices & { getUserMedia: MediaDevices['getUserMedia'] };
    const real = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (constraints?: MediaStreamConstraints) => {
      asked.push(constraints ?? {});
      return real(constraints);
    };
    try {
      const el = await element(html`<p2p-call room=${uniqueRoom()} audio-only></p2p-call>`);
      await until(() => shadow(el).querySelectorAll('select').length >= 1, 'lobby with a microphone picker');
      expect(asked).to.have.length(1);
      expect(asked[0]!.video).to.equal(false);
    } finally {
      delete (devices as Partial<MediaDevices>).getUserMedia;
    }
  });

  it('applies the speaker chosen in the lobby to the call\'s remote audio', async function () {
    const speakers = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audiooutput' && d.deviceId !== '');
    if (speakers.length === 0 || !('setSinkId' in HTMLMediaElement.prototype)) this.skip();
    const server = await startServer();
    const el = await element(html`<p2p-call room=${uniqueRoom()} server=${server.wsUrl}></p2p-call>`);
    await previewStream(el);
    await until(() => shadow(el).querySelectorAll('select').length >= 3, 'device pickers incl. speaker');
    const select = [...shadow(el).querySelectorAll('select')].at(-1)!;
    const chosen = speakers.at(-1)!.deviceId;
    select.value = chosen;
    select.dispatchEvent(new Event('change'));
    await el.join();
    await el.updateComplete;
    const remote = shadow(el).querySelector<HTMLVideoElement & { sinkId: string }>('video[part="remote-video"]')!;
    await until(() => remote.sinkId === chosen, `remote sinkId ${remote.sinkId}`); // setSinkId is async
  });

  it('hangup() from a p2p-state-change listener for joining cancels the join and releases the preview', async () => {
    const server = await startServer();
    const el = await element(html`<p2p-call room=${uniqueRoom()} server=${server.wsUrl}></p2p-call>`);
    const tracks = (await previewStream(el)).getTracks();
    el.addEventListener('p2p-state-change', (e) => {
      if (e.detail.state === 'joining') el.hangup();
    });
    const error = await el.join().then(() => undefined, (e: { code: string }) => e);
    expect(error).to.have.property('code', 'not-joined');
    expect(el.state).to.equal('ended');
    expect(live(tracks), 'preview tracks still live').to.have.length(0);
  });

  it('joins from the lobby without a second camera prompt: the preview stream is the call stream', async () => {
    const server = await startServer();
    const el = await element(html`<p2p-call room=${uniqueRoom()} server=${server.wsUrl}></p2p-call>`);
    const video = shadow(el).querySelector<HTMLVideoElement>('video[part="local-video"]')!;
    await until(() => video.srcObject instanceof MediaStream, 'self-preview');
    const previewTrack = (video.srcObject as MediaStream).getVideoTracks()[0]!;
    (shadow(el).querySelector('[part~="join-button"]') as HTMLButtonElement).click();
    await stateOf(el, 'waiting');
    await el.updateComplete;
    const callVideo = shadow(el).querySelector<HTMLVideoElement>('video[part="local-video"]')!;
    expect((callVideo.srcObject as MediaStream).getVideoTracks()[0]).to.equal(previewTrack);
    expect(previewTrack.readyState).to.equal('live');
  });

  it('waits with a copy-link button, connects two elements, shows the remote video and name', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    await until(() => shadow(a).querySelector('.remote-label')?.textContent?.includes('Bo') ?? false, 'remote name');
    const remote = shadow(a).querySelector<HTMLVideoElement>('video[part="remote-video"]')!;
    expect(remote.srcObject).to.be.instanceOf(MediaStream);
    expect(remote.playsInline).to.equal(true);
    await until(() => remote.readyState >= 2, 'remote video has frames');
    await expect(a).shadowDom.to.be.accessible();
    expect(b.state).to.equal('connected');
  });

  it('ends on hangup with a rejoin button, and the other side goes back to waiting with p2p-peer-leave', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const left = oneEvent(b, 'p2p-peer-leave');
    button(a, /leave call/i).click();
    expect(a.state).to.equal('ended');
    expect((await left).detail.reason).to.equal('hangup');
    await stateOf(b, 'waiting');
    await b.updateComplete;
    expect(shadow(b).querySelector('[part="status"]')!.textContent).to.contain('The other person left.');
    expect(liveRegion(b)).to.contain('The other person left.');
    await a.updateComplete;
    expect(button(a, /rejoin/i)).to.exist;
    await expect(a).shadowDom.to.be.accessible();
    button(a, /rejoin/i).click();
    await Promise.all([stateOf(a, 'connected'), stateOf(b, 'connected')]);
    b.hangup();
    await stateOf(a, 'waiting');
    await a.updateComplete;
    expect(shadow(a).querySelector('[part="status"]')!.textContent, 'after a rejoin').to.contain('The other person left.');
  });

  it('shows a human error with p2p-error for a fatal error (room full), and a retry that works once a seat is free', async () => {
    const server = await startServer();
    const { a, room } = await connectedPair(server);
    const third = await element(html`<p2p-call room=${room} server=${server.wsUrl}></p2p-call>`);
    const errored = oneEvent(third, 'p2p-error');
    const rejected = await third.join().then(() => undefined, (e: { code: string }) => e);
    expect(rejected).to.have.property('code', 'room-full');
    const event = await errored;
    expect(event.detail).to.include({ code: 'room-full', fatal: true });
    await third.updateComplete;
    expect(shadow(third).querySelector('[role="alert"]')!.textContent).to.contain('already has two people');
    expect(liveRegion(third), 'announced twice (alert panel and live region)').to.not.contain('already has two people');
    await expect(third).shadowDom.to.be.accessible();
    // One of the two leaves: "Try again" now takes the free seat.
    a.hangup();
    button(third, /try again/i).click();
    await stateOf(third, 'connected');
  });

  it('retries after server-unreachable from the error panel', async () => {
    const el = await element(html`<p2p-call room="r1" server="ws://127.0.0.1:9/ws" autojoin></p2p-call>`);
    await stateOf(el, 'error');
    await el.updateComplete;
    expect(shadow(el).textContent).to.contain('Cannot reach the call server');
    expect(button(el, /try again/i)).to.exist;
  });
});

describe('<p2p-call> attributes, properties and events', () => {
  it('reflects attributes to properties and back', async () => {
    const el = await element(html`<p2p-call room="a" muted camera-off audio-only display-name="Ada" ice-transport-policy="relay"
      ice-servers='[{"urls":"stun:stun.example.com"}]'></p2p-call>`);
    expect(el.room).to.equal('a');
    expect(el.muted).to.equal(true);
    expect(el.cameraOff).to.equal(true);
    expect(el.audioOnly).to.equal(true);
    expect(el.displayName).to.equal('Ada');
    expect(el.iceTransportPolicy).to.equal('relay');
    expect(el.iceServers).to.deep.equal([{ urls: 'stun:stun.example.com' }]);
    el.muted = false;
    el.room = 'b';
    await el.updateComplete;
    expect(el.hasAttribute('muted')).to.equal(false);
    expect(el.getAttribute('room')).to.equal('b');
  });

  it('fires p2p-state-change with state and previous', async () => {
    const server = await startServer();
    const el = document.createElement('p2p-call');
    elements.push(el);
    el.room = uniqueRoom();
    el.server = server.wsUrl;
    el.autojoin = true;
    const seen: Array<[string, string]> = [];
    el.addEventListener('p2p-state-change', (e: P2PCallEvent<'p2p-state-change'>) => seen.push([e.detail.previous, e.detail.state]));
    document.body.append(el);
    await stateOf(el, 'waiting');
    expect(seen).to.deep.equal([['idle', 'joining'], ['joining', 'waiting']]);
  });

  it('applies muted and camera-off live, emitting p2p-media-change; the other side gets p2p-remote-media-change', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const local = oneEvent(a, 'p2p-media-change');
    const remote = new Promise<P2PCallEvent<'p2p-remote-media-change'>>((resolve) => {
      b.addEventListener('p2p-remote-media-change', (e) => {
        if (!e.detail.microphone) resolve(e);
      });
    });
    a.muted = true;
    expect((await local).detail.microphone).to.equal(false);
    expect((await remote).detail.displayName).to.equal('Ada');
    await b.updateComplete;
    const label = b.shadowRoot!.querySelector('.remote-label')!;
    expect(label.textContent, 'the other side sees who is muted').to.contain('Ada').and.to.contain('Muted');
    a.cameraOff = true;
    await until(() => a.shadowRoot!.querySelector('video[part="local-video"]')!.hasAttribute('hidden'), 'self view hidden');
    await until(() => b.shadowRoot!.querySelector('[part="avatar"]') !== null, 'avatar for a camera that is off');
  });

  it('joins when room and autojoin are set right after the element is appended', async () => {
    const server = await startServer();
    const el = document.createElement('p2p-call');
    elements.push(el);
    document.body.append(el);
    el.server = server.wsUrl;
    el.room = uniqueRoom();
    el.autojoin = true;
    await until(() => el.state === 'waiting', `waiting (state is ${el.state})`);
  });

  it('opens the lobby when room is set right after the element is appended', async () => {
    const el = document.createElement('p2p-call');
    elements.push(el);
    document.body.append(el);
    el.room = uniqueRoom();
    await el.updateComplete;
    expect(el.state).to.equal('preview');
    await previewStream(el);
  });

  it('room set and join() called in the same task joins that room (join() resolves only once seated)', async () => {
    const server = await startServer();
    const el = await element(html`<p2p-call room=${uniqueRoom()} server=${server.wsUrl}></p2p-call>`);
    await previewStream(el);
    const room = uniqueRoom(); // e.g. the host page picks a room, then joins
    el.room = room;
    await el.join();
    expect(el.state, 'state after join() resolved').to.be.oneOf(['waiting', 'connecting']);
    // Seated in the new room: a second element there fills it with this one.
    const other = await element(html`<p2p-call room=${room} server=${server.wsUrl} autojoin></p2p-call>`);
    await Promise.all([stateOf(el, 'connected'), stateOf(other, 'connected')]);
  });

  it('muted and camera-off follow the real state, and act live after the user changed it with the toolbar', async () => {
    const server = await startServer();
    const el = await element(html`<p2p-call room=${uniqueRoom()} server=${server.wsUrl} autojoin muted></p2p-call>`);
    await stateOf(el, 'waiting');
    await el.updateComplete;
    expect(button(el, /microphone/i).getAttribute('aria-label')).to.equal('Unmute microphone');
    button(el, /microphone/i).click();
    await until(() => button(el, /microphone/i).getAttribute('aria-label') === 'Mute microphone', 'unmuted by the user');
    await until(() => !el.muted && !el.hasAttribute('muted'), 'muted follows the microphone');
    el.muted = true; // the host page mutes again
    await until(() => button(el, /microphone/i).getAttribute('aria-label') === 'Unmute microphone', 'muted by the host page');
    button(el, /camera/i).click();
    await until(() => el.cameraOff && el.hasAttribute('camera-off'), 'camera-off follows the camera');
    el.cameraOff = false;
    await until(() => button(el, /camera/i).getAttribute('aria-label') === 'Turn off camera', 'camera back on by the host page');
  });

  it('sends chat as text, never HTML, and fires p2p-message', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const message = oneEvent(b, 'p2p-message');
    a.sendMessage('<img src=x onerror=alert(1)>');
    expect((await message).detail.text).to.equal('<img src=x onerror=alert(1)>');
    button(b, /^chat\b/i).click(); // "Chat, 1 unread"
    await b.updateComplete;
    const log = shadow(b).querySelector('.chat-log')!;
    expect(log.querySelector('img')).to.equal(null);
    expect(log.textContent).to.contain('<img src=x onerror=alert(1)>');
  });

  it('emits p2p-stats while connected', async () => {
    const server = await startServer();
    const { a } = await connectedPair(server);
    const stats = await oneEvent(a, 'p2p-stats');
    expect(stats.detail).to.have.keys('rttMs', 'inboundKbps', 'outboundKbps', 'packetLoss', 'candidateType', 'quality');
    await a.updateComplete;
    const indicator = a.shadowRoot!.querySelector('.remote-label [role="img"]');
    const labels: Record<string, string> = { good: 'Good connection', fair: 'Fair connection', poor: 'Poor connection' };
    const expected = labels[String(stats.detail.quality)];
    expect(indicator?.getAttribute('aria-label'), 'the quality indicator shows the latest level').to.equal(expected);
  });

  it('toggles microphone and camera with m and v only while focus is inside, and not while typing', async () => {
    const server = await startServer();
    const { a } = await connectedPair(server);
    const mic = button(a, /microphone/i);
    expect(mic.getAttribute('aria-label')).to.equal('Mute microphone');
    mic.focus();
    await sendKeys({ press: 'm' });
    await until(() => button(a, /microphone/i).getAttribute('aria-label') === 'Unmute microphone', 'muted by m');
    await sendKeys({ press: 'v' });
    await until(() => button(a, /camera/i).getAttribute('aria-label') === 'Turn on camera', 'camera off by v');
    button(a, /^chat$/i).click();
    await a.updateComplete;
    shadow(a).querySelector<HTMLInputElement>('.chat input')!.focus();
    await sendKeys({ type: 'm' });
    expect(button(a, /microphone/i).getAttribute('aria-label')).to.equal('Unmute microphone');
    // Outside the element the shortcut does nothing.
    (document.activeElement as HTMLElement | null)?.blur();
    document.body.focus();
    await sendKeys({ press: 'm' });
    expect(button(a, /microphone/i).getAttribute('aria-label')).to.equal('Unmute microphone');
  });

  it('every control is a labelled button whose label says what a click does; panel buttons say if open', async () => {
    const server = await startServer();
    const { a } = await connectedPair(server);
    const controls = [...shadow(a).querySelectorAll('[part~="controls"] button')];
    expect(controls.length).to.be.greaterThan(4);
    for (const control of controls) expect(control.getAttribute('aria-label'), control.outerHTML).to.be.a('string').and.not.empty;
    // A label that changes with the state, never also aria-pressed (that would read "Unmute, pressed").
    expect(button(a, /microphone/i).hasAttribute('aria-pressed')).to.equal(false);
    expect(button(a, /microphone/i).getAttribute('aria-label')).to.equal('Mute microphone');
    expect(button(a, /camera/i).getAttribute('aria-label')).to.equal('Turn off camera');
    expect(button(a, /^chat$/i).getAttribute('aria-expanded')).to.equal('false');
    expect(button(a, /devices/i).getAttribute('aria-expanded')).to.equal('false');
    expect(shadow(a).querySelector('[aria-live="polite"]')!.textContent).to.contain('Connected');
  });

  it('labels the close button of the devices panel for what it closes', async () => {
    const server = await startServer();
    const el = await element(html`<p2p-call room=${uniqueRoom()} server=${server.wsUrl} autojoin></p2p-call>`);
    await stateOf(el, 'waiting');
    await el.updateComplete;
    button(el, /devices/i).click();
    await el.updateComplete;
    const close = shadow(el).querySelector('.devices button.close')!;
    expect(close.getAttribute('aria-label')).to.not.match(/chat/i);
  });

  it('tells assistive technology about unread chat messages and announces each new one', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    await until(() => shadow(a).querySelector('.remote-label')?.textContent?.includes('Bo') ?? false, 'remote name');
    b.sendMessage('hello');
    await until(() => shadow(a).querySelector('.unread') !== null, 'unread badge shown');
    expect(button(a, /chat/i).getAttribute('aria-label'), 'accessible name of the chat button').to.equal('Chat, 1 unread');
    expect(liveRegion(a)).to.equal('New message from Bo');
    const region = shadow(a).querySelector('[aria-live="polite"]')!;
    const text = () => [...region.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== '');
    const first = text();
    b.sendMessage('again');
    await until(() => shadow(a).querySelector('.unread')?.textContent === '2', 'two unread');
    expect(text(), 'the same text is written anew, so it is announced again').to.not.equal(first);
    a.lang = 'zh-CN';
    await a.updateComplete;
    expect(button(a, /聊天/).getAttribute('aria-label')).to.equal('聊天，2 条未读');
    expect(liveRegion(a)).to.equal('Bo 发来一条新消息');
    button(a, /聊天/).click();
    await a.updateComplete;
    expect(button(a, /聊天/).getAttribute('aria-label')).to.equal('聊天');
  });

  it('says why a chat message could not be sent', async () => {
    const server = await startServer();
    const el = await element(html`<p2p-call room=${uniqueRoom()} server=${server.wsUrl} autojoin></p2p-call>`);
    await stateOf(el, 'waiting');
    await el.updateComplete;
    button(el, /^chat$/i).click();
    await el.updateComplete;
    const form = shadow(el).querySelector<HTMLFormElement>('.chat form')!;
    form.querySelector('input')!.value = 'anyone?';
    form.requestSubmit();
    await el.updateComplete;
    expect(shadow(el).querySelector('.notice')!.textContent).to.contain('Nobody is here yet to receive your message.');
    form.querySelector('input')!.value = 'x'.repeat(4001); // maxlength binds typing only
    form.requestSubmit();
    await el.updateComplete;
    expect(shadow(el).querySelector('.notice')!.textContent).to.contain('That message is too long to send.');
  });
});

describe('<p2p-call> page integration', () => {
  it('removal from the page ends the call and releases the devices; a move within the page does not', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const video = shadow(a).querySelector<HTMLVideoElement>('video[part="local-video"]')!;
    const tracks = (video.srcObject as MediaStream).getTracks();
    const parent = a.parentElement!;
    parent.append(a); // moved within the same task
    await new Promise((resolve) => setTimeout(resolve)); // let the removal check run (one task)
    expect(a.state).to.equal('connected');
    const left = oneEvent(b, 'p2p-peer-leave');
    a.remove();
    await left;
    expect(tracks.every((t) => t.readyState === 'ended')).to.equal(true);
  });

  it('a move within the page (same task) keeps the lobby self-preview', async () => {
    const el = await element(html`<p2p-call room=${uniqueRoom()}></p2p-call>`);
    const tracks = (await previewStream(el)).getTracks();
    el.parentElement!.append(el); // moved within the same task
    await new Promise((resolve) => setTimeout(resolve)); // let the removal check run (one task)
    expect(el.state).to.equal('preview');
    expect(live(tracks), 'preview tracks stopped by a move').to.have.length(tracks.length);
    el.remove();
    await until(() => live(tracks).length === 0, 'preview released on removal');
    expect(el.state).to.equal('idle');
  });

  it('changing room ends the call and joins the new room with autojoin', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    const left = oneEvent(b, 'p2p-peer-leave');
    a.room = uniqueRoom();
    await left;
    await stateOf(a, 'waiting');
  });

  it('a room change starts clean: no notice, open panel, unread count or peer-left note from the old room', async () => {
    const server = await startServer();
    const { a, b } = await connectedPair(server);
    button(a, /^chat$/i).click();
    await a.updateComplete;
    const form = shadow(a).querySelector<HTMLFormElement>('.chat form')!;
    form.querySelector('input')!.value = 'x'.repeat(4001);
    form.requestSubmit();
    button(a, /^chat$/i).click(); // closed again
    b.sendMessage('hi');
    await until(() => shadow(a).querySelector('.unread') !== null, 'unread badge shown');
    b.hangup();
    await stateOf(a, 'waiting');
    button(a, /devices/i).click();
    await a.updateComplete;
    expect(shadow(a).querySelector('[part="status"]')!.textContent).to.contain('The other person left.');
    expect(shadow(a).querySelector('.notice')).to.not.equal(null);
    expect(shadow(a).querySelector('.devices')).to.not.equal(null);
    a.room = uniqueRoom();
    await a.updateComplete; // the room change runs in the update
    await stateOf(a, 'waiting');
    await a.updateComplete;
    expect(shadow(a).querySelector('[part="status"]')!.textContent).to.not.contain('The other person left.');
    expect(shadow(a).querySelector('.notice')).to.equal(null);
    expect(shadow(a).querySelector('.devices')).to.equal(null);
    expect(shadow(a).querySelector('.unread')).to.equal(null);
    expect(button(a, /chat/i).getAttribute('aria-label')).to.equal('Chat');
  });

  it('shows the invite link, selected, when copying it fails', async () => {
    const server = await startServer();
    const el = await element(html`<p2p-call room=${uniqueRoom()} server=${server.wsUrl} autojoin invite-url="https://example.com/call/42"></p2p-call>`);
    await stateOf(el, 'waiting');
    await el.updateComplete;
    const clipboard = navigator.clipboard as Clipboard & { writeText: Clipboard['writeText'] };
    clipboard.writeText = () => Promise.reject(new DOMException('no permission', 'NotAllowedError'));
    try {
      button(el, /copy invite link/i).click();
      await until(() => shadow(el).querySelector('.invite') !== null, 'link shown');
      const input = shadow(el).querySelector<HTMLInputElement>('.invite')!;
      expect(input.value).to.equal('https://example.com/call/42');
      expect(shadow(el).activeElement).to.equal(input);
      expect(input.selectionEnd! - input.selectionStart!).to.equal(input.value.length);
      expect(shadow(el).querySelector('[part="status"]')!.textContent).to.contain('Could not copy');
      await expect(el).shadowDom.to.be.accessible();
    } finally {
      delete (clipboard as Partial<Clipboard>).writeText;
    }
  });

  it('translates the toolbar label (zh-CN)', async () => {
    const server = await startServer();
    const el = await element(html`<p2p-call lang="zh-CN" room=${uniqueRoom()} server=${server.wsUrl} autojoin></p2p-call>`);
    await stateOf(el, 'waiting');
    await el.updateComplete;
    const label = shadow(el).querySelector('[part="controls"]')!.getAttribute('aria-label')!;
    expect(label, 'English text in a zh-CN UI').to.not.match(/[A-Za-z]/);
  });

  it('defining twice does not throw', async () => {
    expect(customElements.get('p2p-call')).to.equal(P2PCall);
    // A second evaluation of the module, as a second script tag would do.
    const again: string = '../../widget/define.ts?again'; // served by the test runner's TS transform
    await import(again);
    expect(customElements.get('p2p-call')).to.equal(P2PCall);
  });

  it('speaks Simplified Chinese by lang attribute, and from the page', async () => {
    const el = await element(html`<p2p-call lang="zh-CN"></p2p-call>`);
    expect(shadow(el).textContent).to.contain('没有指定房间');
    const wrapped = await fixture<HTMLDivElement>(html`<div lang="zh"><p2p-call></p2p-call></div>`);
    const inner = wrapped.querySelector('p2p-call')!;
    elements.push(inner);
    await inner.updateComplete;
    expect(shadow(inner).textContent).to.contain('没有指定房间');
    el.lang = 'en';
    await el.updateComplete;
    expect(shadow(el).textContent).to.contain('No room');
  });

  it('applies theming custom properties', async () => {
    const el = await element(html`<p2p-call room="theme" style="--p2p-call-accent: rgb(255, 0, 128); --p2p-call-radius: 3px"></p2p-call>`);
    await until(() => shadow(el).querySelector('[part~="join-button"]') !== null, 'lobby');
    const join = shadow(el).querySelector('[part~="join-button"]')!;
    expect(getComputedStyle(join).backgroundColor).to.equal('rgb(255, 0, 128)');
    expect(getComputedStyle(shadow(el).querySelector('[part="base"]')!).borderTopLeftRadius).to.equal('3px');
  });

  it('offers "click to enable sound" when autoplay with sound is refused, and a click turns sound on', async () => {
    // Headless Chromium here never refuses autoplay, so apply the browsers' rule ourselves:
    // unmuted play() without user activation is refused with NotAllowedError.
    const realPlay = HTMLMediaElement.prototype.play;
    let gesture = false;
    const onClick = (event: MouseEvent) => {
      if (event.isTrusted) gesture = true;
    };
    window.addEventListener('click', onClick, true);
    HTMLMediaElement.prototype.play = function play(this: HTMLMediaElement) {
      if (!this.muted && !gesture) {
        return Promise.reject(new DOMException('autoplay with sound needs a gesture', 'NotAllowedError'));
      }
      return realPlay.call(this);
    };
    try {
      const server = await startServer();
      const { a } = await connectedPair(server);
      await until(() => shadow(a).querySelector('button.unlock') !== null, 'enable-sound button');
      const video = shadow(a).querySelector<HTMLVideoElement>('video[part="remote-video"]')!;
      expect(video.muted).to.equal(true);
      const unlock = shadow(a).querySelector<HTMLButtonElement>('button.unlock')!;
      const box = unlock.getBoundingClientRect();
      await sendMouse({ type: 'click', position: [Math.round(box.x + box.width / 2), Math.round(box.y + box.height / 2)] });
      await until(() => shadow(a).querySelector('button.unlock') === null, 'button gone after the click');
      expect(video.muted).to.equal(false);
    } finally {
      HTMLMediaElement.prototype.play = realPlay;
      window.removeEventListener('click', onClick, true);
    }
  });

  it('fits a 320x480 phone and a large screen without overflow', async () => {
    const server = await startServer();
    const room = uniqueRoom();
    const wrapper = await fixture<HTMLDivElement>(html`<div style="width:320px;height:480px">
      <p2p-call room=${room} server=${server.wsUrl} autojoin></p2p-call></div>`);
    const el = wrapper.querySelector('p2p-call')!;
    elements.push(el);
    await stateOf(el, 'waiting');
    await el.updateComplete;
    const bounds = el.getBoundingClientRect();
    expect(bounds.width).to.equal(320);
    expect(bounds.height).to.equal(480);
    const toolbar = shadow(el).querySelector('[part="controls"]')!.getBoundingClientRect();
    const buttons = [...shadow(el).querySelectorAll('[part~="controls"] button')].filter((b) => getComputedStyle(b).display !== 'none');
    for (const b of buttons) {
      const r = b.getBoundingClientRect();
      expect(r.left >= bounds.left && r.right <= bounds.right, 'button inside the element').to.equal(true);
      expect(r.top >= toolbar.top && r.bottom <= toolbar.bottom, 'one toolbar row').to.equal(true);
    }
    expect(toolbar.height).to.be.lessThan(80, 'the toolbar stays one row on a phone');
    wrapper.style.width = '1600px';
    wrapper.style.height = '1000px';
    await until(() => el.getBoundingClientRect().width === 1600, 'resized');
    const status = shadow(el).querySelector('[part="status"]')!.getBoundingClientRect();
    expect(status.width).to.be.lessThan(500, 'panels keep a readable width on large screens');
  });

  it('hangup() in the lobby releases the preview camera and microphone', async () => {
    const el = await element(html`<p2p-call room="lobby-hangup"></p2p-call>`);
    const video = shadow(el).querySelector<HTMLVideoElement>('video[part="local-video"]')!;
    await until(() => video.srcObject instanceof MediaStream, 'self-preview');
    const tracks = (video.srcObject as MediaStream).getTracks();
    el.hangup();
    expect(el.state).to.equal('ended');
    expect(tracks.every((t) => t.readyState === 'ended')).to.equal(true);
  });

  it('moves focus along the toolbar with the arrow keys', async () => {
    const server = await startServer();
    const { a } = await connectedPair(server);
    const buttons = [...shadow(a).querySelectorAll<HTMLButtonElement>('[part~="controls"] button')];
    buttons[0]!.focus();
    await sendKeys({ press: 'ArrowRight' });
    expect(shadow(a).activeElement).to.equal(buttons[1]);
    await sendKeys({ press: 'ArrowLeft' });
    await sendKeys({ press: 'ArrowLeft' });
    expect(shadow(a).activeElement).to.equal(buttons.at(-1));
    await sendKeys({ press: 'Home' });
    expect(shadow(a).activeElement).to.equal(buttons[0]);
  });
});
