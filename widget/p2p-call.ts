import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { CallError, isExplainedCode, type CallErrorCode, type CallState, type LocalMediaOptions, type MediaState } from '../sdk/index.js';
import { CallController, type ChatLine } from './call-controller.js';
import { defaultServerUrl } from './default-server.js';
import { P2PCallEvent, type P2PCallState } from './events.js';
import { allowedHere, mediaBlockedByFrame } from './frame-policy.js';
import { addLanguage, loadLanguage, resolveLanguage, translator, type StringKey, type Translation } from './i18n.js';
import { hasHeldSeat } from './rejoin.js';
import { icons } from './icons.js';
import { LobbyPreview } from './lobby-preview.js';
import { MediaDevicesController } from './media-devices.js';
import { styles } from './p2p-call.styles.js';
import { roomIsFull } from './room-check.js';
import { chatPanel, chatToast } from './views/chat.js';
import { deviceFields, devicesPanel, type DeviceKind } from './views/devices.js';
import { lobbyView } from './views/lobby.js';
import { statusView } from './views/status.js';
import { parseControls, toolbarView, type Control, type ToolButton } from './views/toolbar.js';

type ErrorInfo = { code: CallErrorCode; message: string; fatal: boolean };

/**
 * A one-to-one audio/video call in one element: lobby with self-preview, controls, chat, and
 * every state a call goes through.
 *
 * @tag p2p-call
 * @summary Embeddable 1:1 video call.
 *
 * @event p2p-state-change - `{ state, previous }` on every state change.
 * @event p2p-peer-join - `{ peerId, displayName? }` once per arrival of the other person.
 * @event p2p-peer-leave - `{ peerId, reason }` once per departure (`hangup` | `timeout`).
 * @event p2p-media-change - `{ microphone, camera, screen }` of this side.
 * @event p2p-remote-media-change - `{ microphone, camera, screen, displayName? }` of the other side.
 * @event p2p-message - `{ from, text }` for each chat message received.
 * @event p2p-stats - `{ rttMs, inboundKbps, outboundKbps, packetLoss, candidateType, quality }` every few seconds.
 * @event p2p-error - `{ code, message, fatal }`.
 * @event p2p-speaking - `{ who, speaking }` when this side (`local`) or the other (`remote`) starts or stops speaking (microphone on, sound above a threshold).
 *
 * @slot lobby - Above the lobby's title: a logo or a line of text.
 * @slot controls - After the toolbar's buttons: an extra button of the host page.
 *
 * @csspart base - The whole call surface.
 * @csspart stage - The video area.
 * @csspart remote-video - The other person's `<video>`.
 * @csspart local-video - The self view `<video>`.
 * @csspart avatar - The initial shown for audio-only or camera-off (the other side's, and your own tile's).
 * @csspart self-tile - Your own tile while your camera is off (initial and muted icon).
 * @csspart toast - The new-message toast shown while the chat is closed.
 * @csspart status - The status panel (no room, joining, waiting, connecting, reconnecting, ended, error).
 * @csspart lobby - The pre-join panel.
 * @csspart controls - The toolbar.
 * @csspart button - Every toolbar button.
 * @csspart microphone-button - Microphone on/off.
 * @csspart camera-button - Camera on/off.
 * @csspart screen-button - Screen share on/off.
 * @csspart chat-button - Opens the chat panel.
 * @csspart devices-button - Opens the device choice.
 * @csspart pip-button - Picture in picture (hidden on narrow layouts and where the browser or the frame does not allow it).
 * @csspart fullscreen-button - Full screen on/off.
 * @csspart hangup-button - The leave button.
 * @csspart join-button - The lobby's join button.
 * @csspart chat - The chat panel.
 * @csspart lobby-toggles - The microphone and camera toggles and the level meter over the lobby's preview.
 *
 * @cssprop [--p2p-call-accent=#2563eb] - Accent color (join button, focus ring, own messages).
 * @cssprop [--p2p-call-background=#0f172a] - The stage behind the videos (dark in both color schemes).
 * @cssprop [--p2p-call-surface=#1e293b] - Panels and the toolbar (#ffffff in a light color scheme).
 * @cssprop [--p2p-call-text=#f8fafc] - Text color (#0f172a in a light color scheme).
 * @cssprop [--p2p-call-danger=#dc2626] - Leave button and errors.
 * @cssprop [--p2p-call-radius=12px] - Corner radius.
 * @cssprop [--p2p-call-font=system-ui, -apple-system, 'Segoe UI', sans-serif] - Font family.
 * @cssprop [--p2p-call-aspect-ratio=4 / 3] - Width to height when the host gives the element no height (3 / 4 on a portrait screen).
 */
export class P2PCall extends LitElement {
  static override styles = styles;

  static override properties = {
    room: { type: String, reflect: true },
    server: { type: String },
    token: { type: String },
    iceServers: { attribute: 'ice-servers', converter: { fromAttribute: parseIceServers, toAttribute: (v: unknown) => JSON.stringify(v) } },
    iceTransportPolicy: { type: String, attribute: 'ice-transport-policy', reflect: true },
    autojoin: { type: Boolean, reflect: true },
    muted: { type: Boolean, reflect: true },
    cameraOff: { type: Boolean, attribute: 'camera-off', reflect: true },
    audioOnly: { type: Boolean, attribute: 'audio-only', reflect: true },
    displayName: { type: String, attribute: 'display-name', reflect: true },
    lang: { type: String, reflect: true },
    inviteUrl: { type: String, attribute: 'invite-url' },
    iceTimeout: { type: Number, attribute: 'ice-timeout' },
    controls: { type: String },
    strings: { attribute: false },
    _state: { state: true },
    _error: { state: true },
    _notice: { state: true },
    _chatOpen: { state: true },
    _devicesOpen: { state: true },
    _soundBlocked: { state: true },
    _copied: { state: true },
    _fullscreen: { state: true },
    _pictureInPicture: { state: true },
    _roomFull: { state: true },
    _toast: { state: true },
  };

  /**
   * Adds a language, or overrides some strings of one (English included), for every
   * `<p2p-call>` on the page: `P2PCall.addLanguage('it', { join: 'Partecipa' })`. Keys are
   * those of the English table (docs/widget.md); missing ones fall back to English.
   */
  static addLanguage(tag: string, strings: Translation): void {
    addLanguage(tag, strings);
    for (const el of document.querySelectorAll('p2p-call')) (el as LitElement).requestUpdate();
  }

  /** Room to join (required to join). */
  declare room: string;
  /** Signaling WebSocket URL; default: `/ws` on the origin this script was loaded from. */
  declare server: string | undefined;
  /** Join token (JWT) when the server requires one. */
  declare token: string | undefined;
  /** The host page's ICE servers (JSON array in the attribute), used with the server's. */
  declare iceServers: RTCIceServer[] | undefined;
  /** `all` (default) or `relay` (TURN only: never reveal local addresses). */
  declare iceTransportPolicy: RTCIceTransportPolicy;
  /** Skip the lobby and join as soon as the element is on the page. */
  declare autojoin: boolean;
  /** Join with the microphone off; toggling it during a call mutes/unmutes, and during a call it follows the microphone's real state (toolbar, shortcut, a failed device). */
  declare muted: boolean;
  /** Join (and preview in the lobby) with the camera off; toggling it during a call turns the camera off/on, and during a call it follows the camera's real state. */
  declare cameraOff: boolean;
  /** Never ask for a camera. */
  declare audioOnly: boolean;
  /** Name shown to the other person; default: the name typed in the lobby last time (kept in this site's localStorage). */
  declare displayName: string;
  /** UI language: `en`, `zh-CN`, `de`, `es`, `fr`, `ja`, `pt-BR` or one added with `P2PCall.addLanguage`; default: the nearest `lang` on the page, then the browser's. Languages other than English load on first use. */
  declare lang: string;
  /** The link the "copy invite link" button copies; default: this page's address. */
  declare inviteUrl: string | undefined;
  /** Milliseconds ICE may take to connect (or reconnect) before the call fails with `ice-failed`; default 20000. */
  declare iceTimeout: number | undefined;
  /** The toolbar's controls, space-separated, in any order: `microphone` (`mic`), `camera`, `screen`, `chat`, `devices`, `pip`, `fullscreen`, `hangup`; default: all. Keyboard shortcuts follow (no `m` without `microphone`). */
  declare controls: string | undefined;
  /** Overrides of single strings for this element only, e.g. `{ join: 'Enter the consultation' }` (keys as in `P2PCall.addLanguage`). */
  declare strings: Translation | undefined;

  declare private _state: P2PCallState;
  declare private _error: ErrorInfo | undefined;
  /** A non-fatal problem shown as a banner (e.g. camera denied: the call goes on receive-only). */
  declare private _notice: ErrorInfo | undefined;
  declare private _chatOpen: boolean;
  declare private _devicesOpen: boolean;
  declare private _soundBlocked: boolean;
  /** Feedback of the copy-link button: `done`, or `failed` (the link is then shown to copy by hand). */
  declare private _copied: 'done' | 'failed' | undefined;
  declare private _fullscreen: boolean;
  declare private _pictureInPicture: boolean;
  /** The room was full when the lobby opened (GET /rooms/<room>). */
  declare private _roomFull: boolean;
  /** The latest chat message received while the panel was closed, shown for a few seconds. */
  declare private _toast: ChatLine | undefined;

  private readonly controller = new CallController(this);
  private readonly preview = new LobbyPreview(this);
  private readonly devices = new MediaDevicesController(this);
  private joining: Promise<void> | undefined;
  private removalTimer: ReturnType<typeof setTimeout> | undefined;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;
  /** The room the current call or preview was started with (undefined while idle). */
  private startedRoom: string | undefined;
  private readonly chosen: Partial<Record<DeviceKind, string>> = {};
  /** The user typed their name in the lobby: remember it for the next visit. */
  private nameTyped = false;
  /** The toolbar button that holds its one Tab stop. */
  private toolbarCurrent: Control | undefined;
  /** Where focus goes after the next render (a panel opened, a state that needs a click). */
  private focusNext: string | undefined;
  private focusInside = false;
  private roomCheck: AbortController | undefined;
  private languageLoad: Promise<void> | undefined;
  private languageLoaded = 'en';
  private readonly onKeyDown = (event: KeyboardEvent) => this.shortcut(event);
  private readonly onFullscreenChange = () => (this._fullscreen = document.fullscreenElement === this);

  constructor() {
    super();
    this.room = '';
    this.iceTransportPolicy = 'all';
    this.autojoin = false;
    this.muted = false;
    this.cameraOff = false;
    this.audioOnly = false;
    this.displayName = '';
    this._state = 'idle';
    this._chatOpen = false;
    this._devicesOpen = false;
    this._soundBlocked = false;
    this._fullscreen = false;
    this._pictureInPicture = false;
    this._roomFull = false;
  }

  /** Where the call is: idle → preview → joining → waiting → connecting → connected ⇄ reconnecting; ended; error. */
  get state(): P2PCallState {
    return this._state;
  }

  // -------------------------------------------------------------------------------------------
  // Public methods

  /** Joins `room`; resolves once seated (waiting or connecting); rejects with a typed error (`not-joined` when `hangup()` cancels it). */
  join(): Promise<void> {
    if (this.joining && ['joining', 'waiting', 'connecting', 'connected', 'reconnecting'].includes(this._state)) {
      return this.joining;
    }
    if (!this.room) return Promise.reject(new CallError('not-joined', 'set the room attribute before joining', { fatal: false }));
    this._error = undefined;
    this.resetPanels();
    this.roomCheck?.abort();
    this.startedRoom = this.room;
    if (this.nameTyped) remember(this.displayName);
    this.setState('joining');
    // A p2p-state-change listener may have called hangup() already.
    if (this._state !== 'joining') return Promise.reject(new CallError('not-joined', 'the join was cancelled by hangup()', { fatal: false }));
    const stream = this.preview.take();
    this.joining = this.controller.join({
      server: this.serverUrl(),
      room: this.room,
      ...(this.token ? { token: this.token } : {}),
      ...(this.iceServers ? { iceServers: this.iceServers } : {}),
      iceTransportPolicy: this.iceTransportPolicy === 'relay' ? 'relay' : 'all',
      ...(this.iceTimeout && this.iceTimeout > 0 ? { iceTimeoutMs: this.iceTimeout } : {}),
      ...(this.displayName ? { displayName: this.displayName } : {}),
      media: this.mediaOptions(stream),
    });
    return this.joining;
  }

  /** Leaves the call (or cancels a join, or closes the lobby) and releases camera and microphone. Idempotent. */
  hangup(): void {
    // In the lobby only the preview is open, and early in `joining` the SDK call may not exist
    // yet: release (or cancel) all the same.
    if (!this.controller.call && this._state !== 'preview' && this._state !== 'joining') return;
    this.controller.hangup();
    this.preview.stop();
    this.roomCheck?.abort();
    this.joining = undefined;
    this.setState('ended');
  }

  /** Turns the microphone on or off (off mutes the track; turning it back on is instant). */
  async setMicrophone(on: boolean): Promise<void> {
    await this.controller.call?.setMicrophone(on);
  }

  /** A camera that is off is stopped (its light goes off) and comes back without renegotiation. */
  async setCamera(on: boolean): Promise<void> {
    await this.controller.call?.setCamera(on);
  }

  /** Shares the screen instead of the camera. Call from a user gesture (browser rule). */
  async setScreenShare(on: boolean): Promise<void> {
    await this.controller.call?.setScreenShare(on);
  }

  /** Sends a chat message (plain text, size-limited) over the data channel. */
  sendMessage(text: string): void {
    this.controller.sendMessage(text, this.displayName || undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle

  override connectedCallback(): void {
    super.connectedCallback();
    clearTimeout(this.removalTimer);
    if (!this.displayName) this.displayName = remembered();
    this.addEventListener('keydown', this.onKeyDown);
    document.addEventListener('fullscreenchange', this.onFullscreenChange);
    if (this._state === 'idle') this.enter();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.removeEventListener('keydown', this.onKeyDown);
    document.removeEventListener('fullscreenchange', this.onFullscreenChange);
    // A move within the page (removed and re-added in the same task) keeps the call.
    this.removalTimer = setTimeout(() => {
      if (this.isConnected) return;
      this.controller.end();
      this.preview.stop();
      this.roomCheck?.abort();
      clearTimeout(this.toastTimer);
      this.joining = undefined;
      this.startedRoom = undefined;
      this.setState('idle');
    });
  }

  /** Also waits for a language that is still loading, so `await el.updateComplete` shows its text. */
  protected override async getUpdateComplete(): Promise<boolean> {
    const done = await super.getUpdateComplete();
    if (!this.languageLoad) return done;
    await this.languageLoad;
    return super.getUpdateComplete();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    this.loadLanguage();
    // `room` set and join() called in the same task: join() already took the new room.
    if (changed.has('room') && this.startedRoom !== undefined && this.room !== this.startedRoom) this.roomChanged();
    // On the page, idle, and now a room (e.g. set right after append()): go.
    else if (this.isConnected && this._state === 'idle' && this.room) this.enter();
    else if (this.hasUpdated && this._state === 'preview' && (changed.has('cameraOff') || changed.has('audioOnly'))) void this.startPreview();
    const call = this.controller.call;
    if (!call || !this.hasUpdated) return;
    // New host ICE servers (e.g. renewed TURN credentials): used from the next ICE restart.
    if (changed.has('iceServers')) call.setIceServers(this.iceServers ?? []);
    // Act only on a change that differs from what is on: the media-change mirror sets these too.
    // Early in `joining` the media is not open yet; LocalMedia applies the wish once it is.
    const { microphone, camera } = this.controller.media;
    const early = this._state === 'joining';
    if (changed.has('muted') && (early || this.muted === microphone)) void call.setMicrophone(!this.muted);
    if (changed.has('cameraOff') && (early || this.cameraOff === camera)) void call.setCamera(!this.cameraOff);
  }

  protected override updated(): void {
    const inLobby = this._state === 'preview';
    this.attachStream('local-video', inLobby ? this.preview.stream : this.controller.localStream, true);
    this.attachStream('remote-video', this.controller.remoteStream, false);
    const log = this.renderRoot.querySelector('.chat-log');
    if (log) log.scrollTop = log.scrollHeight;
    this.showToast();
    if (this.focusNext) {
      this.renderRoot.querySelector<HTMLElement>(this.focusNext)?.focus();
      this.focusNext = undefined;
    }
  }

  /** Called by the controller when the SDK's state moves. @internal */
  callStateChanged(state: CallState): void {
    if (state === 'idle') return;
    this.setState(state);
  }

  /** Called by the controller for every SDK error. @internal */
  callError(error: CallError): void {
    const info = { code: error.code, message: error.message, fatal: error.fatal };
    this.dispatchEvent(new P2PCallEvent('p2p-error', info));
    if (error.fatal) {
      this._error = info;
      this.controller.end();
      this.joining = undefined;
      this.setState('error');
    } else if (error.code === 'media-denied' || error.code === 'media-unavailable') {
      this._notice = info;
    }
  }

  /** Called by the controller when this side's media changes. @internal */
  mediaChanged(state: MediaState): void {
    // During a call `muted` and `camera-off` follow what is really on (toolbar, shortcuts, a
    // device that failed); willUpdate only acts when they differ from it, so this cannot loop.
    this.muted = !state.microphone;
    if (!this.audioOnly) this.cameraOff = !state.camera;
  }

  /** The one place the state changes: records, announces and emits the transition. */
  private setState(next: P2PCallState): void {
    const previous = this._state;
    if (previous === next) return;
    // After a hangup or an error, focus goes to Rejoin / Try again if it was in the element
    // (the button that had it is gone: focus fell to the body since the last change, e.g. the
    // lobby's join button); a remote event never pulls focus from elsewhere on the page.
    const lost = document.activeElement === document.body || document.activeElement === this;
    this.focusInside = this.matches(':focus-within') || (this.focusInside && lost);
    if ((next === 'ended' || next === 'error') && this.focusInside) this.focusNext = '[data-focus]';
    this._state = next;
    if (next !== 'connected' && next !== 'reconnecting') this._soundBlocked = false;
    this.dispatchEvent(new P2PCallEvent('p2p-state-change', { state: next, previous }));
  }

  /** On the page with a room: join at once (autojoin) or open the lobby's self-preview. */
  private enter(): void {
    if (!this.room) return;
    // Reloaded mid-call: the seat is still held for a few seconds; take it back, skip the lobby.
    if (this.autojoin || hasHeldSeat(this.serverUrl(), this.room)) {
      this.join().catch(() => undefined); // The error state and p2p-error carry it.
    } else {
      this.startedRoom = this.room;
      this.setState('preview');
      void this.startPreview();
      void this.checkRoom();
    }
  }

  private async checkRoom(): Promise<void> {
    this.roomCheck?.abort();
    const check = (this.roomCheck = new AbortController());
    const full = await roomIsFull(this.serverUrl(), this.room, check.signal);
    if (!check.signal.aborted) this._roomFull = full;
  }

  private roomChanged(): void {
    this.controller.end();
    this.preview.stop();
    this.joining = undefined;
    this._error = undefined;
    this.startedRoom = undefined;
    this.resetPanels();
    this.setState('idle');
    if (this.isConnected) this.enter();
  }

  /** What belonged to the previous call or room: banners, open panels, copy feedback, toast. */
  private resetPanels(): void {
    this._notice = this._copied = this._toast = undefined;
    this._chatOpen = this._devicesOpen = this._roomFull = false;
  }

  private async startPreview(): Promise<void> {
    if (mediaBlockedByFrame(this.audioOnly)) {
      // Asking would fail without a prompt: say what the site owner has to change instead.
      this.preview.stop();
      this.notify({ code: 'media-denied', message: 'the frame\'s permissions policy blocks camera and microphone', fatal: false });
      return;
    }
    await this.preview.start({
      audio: chosenDevice(this.chosen.microphone),
      video: this.audioOnly || this.cameraOff ? false : chosenDevice(this.chosen.camera),
    });
    const failure = this.preview.failure;
    if (failure !== undefined) this.notify({ code: failure.code, message: failure.message, fatal: false });
    await this.devices.refresh();
  }

  private notify(notice: ErrorInfo): void {
    this._notice = notice;
    this.dispatchEvent(new P2PCallEvent('p2p-error', notice));
  }

  private serverUrl(): string {
    return this.server || defaultServerUrl();
  }

  private mediaOptions(stream: MediaStream | undefined): LocalMediaOptions {
    return {
      audio: chosenDevice(this.chosen.microphone),
      video: chosenDevice(this.chosen.camera),
      audioOnly: this.audioOnly,
      muted: this.muted,
      cameraOff: this.cameraOff,
      ...(stream ? { stream } : {}),
    };
  }

  private attachStream(part: string, stream: MediaStream | undefined, muted: boolean): void {
    const video = this.renderRoot.querySelector<HTMLVideoElement & { sinkId?: string; setSinkId?(id: string): Promise<void> }>(`video[part~="${part}"]`);
    if (!video) return;
    // The speaker chosen in the lobby or before a rejoin: this <video> is new since then.
    const sink = this.chosen.speaker;
    if (!muted && sink && video.setSinkId && video.sinkId !== sink) void video.setSinkId(sink).catch(() => undefined);
    if (video.srcObject === (stream ?? null)) return;
    video.srcObject = stream ?? null;
    video.muted = muted;
    if (!stream) return;
    video.play().catch((error: unknown) => {
      // Autoplay with sound refused: play muted and ask for one click to enable sound.
      if (muted || !(error instanceof DOMException) || error.name !== 'NotAllowedError') return;
      video.muted = true;
      this._soundBlocked = true;
      void video.play().catch(() => undefined);
    });
  }

  private loadLanguage(): void {
    const lang = resolveLanguage(this.uiLang());
    if (lang === this.languageLoaded) return;
    this.languageLoaded = lang;
    const load = (this.languageLoad = loadLanguage(lang).then(() => {
      if (this.languageLoad === load) this.languageLoad = undefined;
      this.requestUpdate();
    }));
  }

  private showToast(): void {
    const last = this.controller.chat.at(-1);
    if (!last || last.from !== 'them' || this._chatOpen || this.controller.unread === 0 || this._toast === last || last.at < Date.now() - 6000) return;
    this._toast = last;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (this._toast = undefined), 5000);
  }

  // -------------------------------------------------------------------------------------------
  // Interaction

  private shortcut(event: KeyboardEvent): void {
    if (event.key === 'Escape' && (this._chatOpen || this._devicesOpen)) {
      event.preventDefault();
      this.closePanels();
      return;
    }
    const origin = event.composedPath()[0];
    if (origin instanceof HTMLElement && origin.closest('input, textarea, select')) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const call = this.controller.call;
    if (!call) return;
    const shown = parseControls(this.controls);
    if ((event.key === 'm' || event.key === 'M') && shown.has('microphone')) {
      event.preventDefault();
      void call.setMicrophone(!this.controller.media.microphone);
    } else if ((event.key === 'v' || event.key === 'V') && !this.audioOnly && shown.has('camera')) {
      event.preventDefault();
      void call.setCamera(!this.controller.media.camera);
    }
  }

  private togglePanel(panel: 'chat' | 'devices'): void {
    const open = panel === 'chat' ? !this._chatOpen : !this._devicesOpen;
    this._chatOpen = panel === 'chat' && open;
    this._devicesOpen = panel === 'devices' && open;
    this.controller.setChatOpen(this._chatOpen);
    if (this._chatOpen) this._toast = undefined;
    if (this._devicesOpen) void this.devices.refresh();
    this.focusNext = open ? (panel === 'chat' ? '.chat input' : '.devices select, .devices .close') : undefined;
  }

  /** Escape or a close button: the panel goes and focus returns to the button that opened it. */
  private closePanels(): void {
    const button = this._chatOpen ? 'chat' : 'devices';
    this._chatOpen = this._devicesOpen = false;
    this.controller.setChatOpen(false);
    this.focusNext = `.b-${button}`;
  }

  private async copyInvite(): Promise<void> {
    const link = this.inviteUrl || location.href;
    try {
      await navigator.clipboard.writeText(link);
      this._copied = 'done';
    } catch {
      // Show the link, selected, to copy by hand.
      this._copied = 'failed';
      await this.updateComplete;
      const input = this.renderRoot.querySelector<HTMLInputElement>('.invite');
      input?.focus();
      input?.select();
    }
  }

  private toggleFullscreen(): void {
    if (document.fullscreenElement === this) void document.exitFullscreen();
    else void this.requestFullscreen?.().catch(() => undefined);
  }

  private pictureInPicture(): void {
    const video = this.renderRoot.querySelector<HTMLVideoElement>('video[part~="remote-video"]');
    if (!video) return;
    // In a shadow root document.pictureInPictureElement is the host, never the video.
    const root = this.shadowRoot as ShadowRoot & { pictureInPictureElement?: Element | null };
    if (root.pictureInPictureElement === video || document.pictureInPictureElement === this) void document.exitPictureInPicture().catch(() => undefined);
    else void video.requestPictureInPicture?.().catch(() => undefined);
  }

  private enableSound(): void {
    const video = this.renderRoot.querySelector<HTMLVideoElement>('video[part~="remote-video"]');
    if (!video) return;
    video.muted = false;
    void video.play().then(() => (this._soundBlocked = false), () => undefined);
  }

  private sendChat(event: Event): void {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem('message') as HTMLInputElement;
    const text = input.value.trim();
    if (!text) return;
    try {
      this.sendMessage(text);
      input.value = '';
    } catch (error) {
      if (error instanceof CallError) this._notice = { code: error.code, message: error.message, fatal: false };
    }
  }

  private async chooseDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    this.chosen[kind] = deviceId;
    if (kind === 'speaker') {
      const video = this.renderRoot.querySelector<HTMLVideoElement & { setSinkId?(id: string): Promise<void> }>('video[part~="remote-video"]');
      await video?.setSinkId?.(deviceId).catch(() => undefined);
      return;
    }
    const call = this.controller.call;
    if (call) await call.useDevice(kind === 'camera' ? 'video' : 'audio', deviceId);
    else if (this._state === 'preview') await this.startPreview();
    this.requestUpdate();
  }

  // -------------------------------------------------------------------------------------------
  // Rendering

  private uiLang(): string {
    return this.lang || this.closest('[lang]')?.getAttribute('lang') || document.documentElement.lang || navigator.language;
  }

  private get t(): (key: StringKey) => string {
    return translator(this.uiLang(), this.strings);
  }

  override render(): TemplateResult {
    const state = this._state;
    const inCall = state === 'waiting' || state === 'connecting' || state === 'connected' || state === 'reconnecting';
    const c = this.controller;
    return html`
      <div part="base" class="base" data-state=${state} ?data-audio-only=${this.audioOnly}>
        <div part="stage" class="stage">
          ${inCall ? this.renderRemote() : nothing}
          ${inCall ? this.renderSelf() : nothing}
          ${state === 'preview' ? this.renderLobby() : nothing}
          ${statusView({
            t: this.t, state, room: this.room, peerPresent: c.peerPresent, peerLeft: c.peerLeft, peerAbsent: c.peerAbsent, copied: this._copied,
            inviteUrl: this.inviteUrl || location.href, errorKey: this._error ? errorKey(this._error.code) : undefined,
            onCopy: () => void this.copyInvite(), onJoin: () => this.join().catch(() => undefined),
          })}
          ${this._notice ? this.renderNotice(this._notice) : nothing}
          ${inCall && this._chatOpen ? chatPanel({
            t: this.t, lines: c.chat, lang: resolveLanguage(this.uiLang()),
            onSend: (e) => this.sendChat(e), onClose: () => this.closePanels(),
          }) : nothing}
          ${inCall && this._devicesOpen ? devicesPanel(this.t, this.deviceFields(), () => this.closePanels()) : nothing}
          ${inCall && this._toast && !this._chatOpen ? chatToast(this.t, this._toast, () => this.togglePanel('chat')) : nothing}
        </div>
        ${inCall ? this.renderControls() : nothing}
        <div class="sr-only" role="status" aria-live="polite">${keyed(c.heard, this.announcement())}</div>
      </div>
    `;
  }

  private renderRemote() {
    const c = this.controller;
    const remote = c.remote;
    // Alone in the room there is nobody to show: no name tag, no placeholder.
    const present = c.peerPresent && (this._state === 'connected' || this._state === 'reconnecting');
    const name = remote?.displayName || this.t('them');
    const showAvatar = this.audioOnly || (present && remote !== undefined && !remote.camera && !remote.screen);
    // Bars only while media flows: a stale sample must not say "good" over a frozen picture.
    const quality = this._state === 'connected' ? c.stats?.quality : undefined;
    const qualityLabel = quality ? this.t(`quality${capitalize(quality)}` as StringKey) : '';
    return html`
      <video part="remote-video" class="remote ${remote?.screen ? 'screen' : ''}" playsinline autoplay ?hidden=${!present || showAvatar}
        @enterpictureinpicture=${() => (this._pictureInPicture = true)}
        @leavepictureinpicture=${() => (this._pictureInPicture = false)}></video>
      ${present && showAvatar ? html`<div part="avatar" class="avatar ${c.speaking.remote ? 'speaking' : ''}" aria-hidden="true">${initial(name)}</div>` : nothing}
      ${present ? html`
        <div class="remote-label ${c.speaking.remote ? 'speaking' : ''}">
          <span>${name}</span>
          ${remote && !remote.microphone ? html`<span class="badge" title=${this.t('muted')}>${icons.micOff}<span class="sr-only">${this.t('muted')}</span></span>` : nothing}
          ${quality ? html`<span class="quality q-${quality}" role="img" aria-label=${qualityLabel} title=${qualityLabel}><i></i><i></i><i></i></span>` : nothing}
        </div>` : nothing}
      ${this._soundBlocked ? html`<button class="unlock" @click=${this.enableSound}>${icons.sound}${this.t('enableSound')}</button>` : nothing}
    `;
  }

  /** Your own tile: the camera (mirrored), your screen (as the other side sees it), or your initial when the camera is off. */
  private renderSelf() {
    if (this.audioOnly) return nothing;
    const { camera, screen, microphone } = this.controller.media;
    const mirrored = camera && !screen;
    return html`
      <video part="local-video" class="local ${mirrored ? 'mirrored' : ''} ${screen ? 'screen' : ''}" playsinline autoplay muted ?hidden=${!camera && !screen}
        aria-label=${this.t('you')}></video>
      ${camera || screen ? nothing : html`<div part="self-tile" class="local self-tile ${this.controller.speaking.local ? 'speaking' : ''}" role="img" aria-label=${`${this.t('you')}, ${this.t('cameraIsOff')}${microphone ? '' : `, ${this.t('muted')}`}`}>
        <span part="avatar" class="avatar">${initial(this.displayName || this.t('you'))}</span>
        ${microphone ? nothing : html`<span class="badge">${icons.micOff}</span>`}
      </div>`}`;
  }

  private renderLobby() {
    const cameraOn = !this.audioOnly && !this.cameraOff;
    return lobbyView({
      t: this.t,
      name: this.displayName,
      initial: initial(this.displayName || this.t('you')),
      microphone: !this.muted,
      camera: this.audioOnly ? undefined : cameraOn,
      showsVideo: cameraOn && (this.preview.stream?.getVideoTracks().length ?? 0) > 0,
      level: this.preview.level,
      full: this._roomFull,
      devices: this.deviceFields(),
      onName: (value) => {
        this.nameTyped = true;
        this.displayName = value;
      },
      onMicrophone: () => (this.muted = !this.muted),
      onCamera: () => (this.cameraOff = !this.cameraOff),
      onJoin: () => this.join().catch(() => undefined),
    });
  }

  private deviceFields() {
    return deviceFields({ t: this.t, lists: this.devices.lists, chosen: this.chosen, audioOnly: this.audioOnly, onChoose: (kind, id) => void this.chooseDevice(kind, id) });
  }

  private renderNotice(notice: ErrorInfo) {
    const framed = notice.code === 'media-denied' && mediaBlockedByFrame(this.audioOnly);
    return html`<div class="notice" role="alert"><span>${this.t(framed ? 'frameBlocked' : errorKey(notice.code))}</span>
      <button class="icon" @click=${() => (this._notice = undefined)} aria-label=${this.t('close')}>${icons.close}</button></div>`;
  }

  private renderControls() {
    const t = this.t;
    const { microphone, camera, screen } = this.controller.media;
    const call = this.controller.call;
    const shown = parseControls(this.controls);
    const canShare = typeof navigator.mediaDevices?.getDisplayMedia === 'function' && allowedHere('display-capture');
    const canPip = document.pictureInPictureEnabled === true && !this.audioOnly;
    const canFullscreen = document.fullscreenEnabled !== false;
    const unread = this.controller.unread;
    const all: Array<ToolButton | false> = [
      { name: 'microphone', label: t(microphone ? 'muteMicrophone' : 'unmuteMicrophone'), icon: microphone ? icons.mic : icons.micOff, off: !microphone, onClick: () => void call?.setMicrophone(!microphone) },
      !this.audioOnly && { name: 'camera', label: t(camera ? 'stopCamera' : 'startCamera'), icon: camera ? icons.cam : icons.camOff, off: !camera, onClick: () => void call?.setCamera(!camera) },
      canShare && !this.audioOnly && { name: 'screen', label: t(screen ? 'stopSharing' : 'shareScreen'), icon: icons.screen, off: screen, onClick: () => void call?.setScreenShare(!screen) },
      { name: 'chat', label: unread > 0 ? t('chatUnread').replace('{n}', String(unread)) : t('chat'), icon: icons.chat, badge: unread, expanded: this._chatOpen, onClick: () => this.togglePanel('chat') },
      { name: 'devices', label: t('settings'), icon: icons.settings, expanded: this._devicesOpen, onClick: () => this.togglePanel('devices') },
      canPip && { name: 'pip', label: t(this._pictureInPicture ? 'exitPictureInPicture' : 'pictureInPicture'), icon: icons.pip, off: this._pictureInPicture, onClick: () => this.pictureInPicture() },
      canFullscreen && { name: 'fullscreen', label: t(this._fullscreen ? 'exitFullscreen' : 'fullscreen'), icon: icons.fullscreen, off: this._fullscreen, onClick: () => this.toggleFullscreen() },
      { name: 'hangup', label: t('hangup'), icon: icons.hangup, onClick: () => this.hangup() },
    ];
    const buttons = all.filter((b): b is ToolButton => b !== false && shown.has(b.name));
    return toolbarView({ t, buttons, current: this.toolbarCurrent, onCurrent: (name) => (this.toolbarCurrent = name) });
  }

  private announcement(): string {
    const keys: Partial<Record<P2PCallState, StringKey>> = {
      joining: 'joining', waiting: 'waiting', connecting: 'connecting', connected: 'connected',
      reconnecting: 'reconnecting', ended: 'ended',
    };
    const c = this.controller;
    // Errors are not repeated here: the error panel is role="alert" and announces itself.
    if (c.heard > 0) return this.t('newMessage').replace('{name}', c.remote?.displayName || this.t('them'));
    const key = this._state === 'reconnecting' && !c.peerPresent ? 'waiting' : keys[this._state];
    const text = key ? this.t(key) : '';
    return key === 'waiting' && c.peerLeft ? `${this.t('peerLeft')} ${text}` : text;
  }
}

/** The i18n key of an error code's human message (a generic one for codes without their own). */
function errorKey(code: string): StringKey {
  return isExplainedCode(code) ? `error.${code}` : 'error.unknown';
}

/** getUserMedia constraints for one kind: the device the user picked, or the default. */
function chosenDevice(deviceId: string | undefined): MediaTrackConstraints | true {
  return deviceId ? { deviceId: { exact: deviceId } } : true;
}

function parseIceServers(value: string | null): RTCIceServer[] | undefined {
  if (!value) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? (parsed as RTCIceServer[]) : undefined;
  } catch {
    return undefined;
  }
}

const NAME_KEY = 'p2p-call:display-name';

/** The name typed in a lobby on this site before ('' if none, or storage is off). */
function remembered(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

function remember(name: string): void {
  try {
    if (name.trim()) localStorage.setItem(NAME_KEY, name.trim());
    else localStorage.removeItem(NAME_KEY);
  } catch {
    // Storage blocked (e.g. a sandboxed frame): nothing to remember with.
  }
}

function initial(name: string): string {
  return ([...name.trim()][0] ?? '?').toUpperCase();
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
