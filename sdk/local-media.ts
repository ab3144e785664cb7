/**
 * The local side's microphone, camera and screen: acquiring them, turning them on and off,
 * switching devices and screen sharing. It only owns tracks; the call puts whatever
 * `audioTrack`/`videoTrack` are now into its senders with `replaceTrack`, so none of this
 * renegotiates.
 */
import { CallError } from './errors.js';
import { Emitter } from './emitter.js';
import type { MediaState } from './peer-messages.js';

export interface LocalMediaOptions {
  /** Ask for a microphone (or these constraints). */
  audio?: boolean | MediaTrackConstraints;
  /** Ask for a camera (or these constraints); ignored when `audioOnly`. */
  video?: boolean | MediaTrackConstraints;
  /** Never ask for a camera. */
  audioOnly?: boolean;
  /** Join with the microphone off. */
  muted?: boolean;
  /** Join with the camera off (no camera is opened until it is turned on). */
  cameraOff?: boolean;
  /**
   * Tracks already opened (e.g. by a lobby's self-preview) to use instead of asking again. The
   * call takes them over and stops them when it ends.
   */
  stream?: MediaStream;
}

export interface LocalMediaEvents {
  /** The track to send for `kind` changed (or became `null`). */
  track: { kind: 'audio' | 'video'; track: MediaStreamTrack | null };
  change: MediaState;
  /** A non-fatal media problem (`media-denied`, `media-unavailable`). */
  error: CallError;
}

export class LocalMedia extends Emitter<LocalMediaEvents> {
  /** Everything the self view shows: the microphone and the camera or screen track. */
  readonly stream = new MediaStream();
  private microphone: MediaStreamTrack | null = null;
  private camera: MediaStreamTrack | null = null;
  private screen: MediaStreamTrack | null = null;
  private microphoneOn: boolean;
  private cameraWanted: boolean;
  private audioDeviceId: string | undefined;
  private videoDeviceId: string | undefined;
  private released = false;
  /** The last answer to "share the screen?", so a share that resolves after a cancel is dropped. */
  private screenWanted = false;

  constructor(private readonly options: LocalMediaOptions = {}) {
    super();
    this.microphoneOn = !options.muted;
    this.cameraWanted = !options.audioOnly && options.video !== false && !options.cameraOff;
  }

  get audioTrack(): MediaStreamTrack | null {
    return this.microphone;
  }

  /** The screen while sharing, else the camera while it is on. */
  get videoTrack(): MediaStreamTrack | null {
    return this.screen ?? this.camera;
  }

  get state(): MediaState {
    return { microphone: this.microphone !== null && this.microphoneOn, camera: this.camera !== null, screen: this.screen !== null };
  }

  get audioOnly(): boolean {
    return this.options.audioOnly === true || this.options.video === false;
  }

  /**
   * Opens what was asked for. Failures are reported as non-fatal errors and leave the call
   * receive-only for that kind; a camera failure does not cost the microphone.
   */
  async start(): Promise<void> {
    const wantAudio = this.options.audio !== false;
    const wantVideo = this.cameraWanted;
    const given = this.options.stream;
    if (given !== undefined) {
      const tracks = given.getTracks().filter((t) => t.readyState === 'live' && (t.kind === 'audio' ? wantAudio : wantVideo));
      for (const track of given.getTracks()) if (!tracks.includes(track)) track.stop();
      this.adopt(new MediaStream(tracks));
      return;
    }
    if (!wantAudio && !wantVideo) return;
    try {
      const stream = await getUserMedia({ audio: wantAudio && this.constraints('audio'), video: wantVideo && this.constraints('video') });
      this.adopt(stream);
      return;
    } catch (error) {
      if (!(wantAudio && wantVideo)) {
        this.report(error, wantAudio ? 'microphone' : 'camera');
        return;
      }
      // Both failed together: find out which one is the problem, keep the other.
      await this.startOne('audio');
      await this.startOne('video');
    }
  }

  async setMicrophone(on: boolean): Promise<void> {
    this.microphoneOn = on;
    if (on && this.microphone === null) await this.startOne('audio');
    // Off disables the track instead of stopping it: unmuting is then instant.
    if (this.microphone) this.microphone.enabled = on;
    this.emitChange();
  }

  async setCamera(on: boolean): Promise<void> {
    if (this.audioOnly) return;
    this.cameraWanted = on;
    if (on && this.camera === null) {
      await this.startOne('video');
    } else if (!on && this.camera !== null) {
      // Stopped, not disabled: the camera light goes off.
      this.dropTrack(this.camera);
      this.camera = null;
      if (this.screen === null) this.emit('track', { kind: 'video', track: null });
    }
    this.emitChange();
  }

  /** Uses another microphone or camera; the new track replaces the old one in place. */
  async useDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
    if (kind === 'audio') this.audioDeviceId = deviceId;
    else this.videoDeviceId = deviceId;
    const current = kind === 'audio' ? this.microphone : this.camera;
    if (current === null) return; // Used when it is turned on.
    await this.startOne(kind);
  }

  /** Shares the screen instead of the camera; must run inside a user gesture. */
  async setScreenShare(on: boolean): Promise<void> {
    this.screenWanted = on;
    if (!on) {
      if (this.screen === null) return;
      this.dropTrack(this.screen);
      this.screen = null;
      this.emit('track', { kind: 'video', track: this.camera });
      if (this.camera) this.stream.addTrack(this.camera);
      this.emitChange();
      return;
    }
    if (this.screen !== null) return;
    let display: MediaStream;
    try {
      display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (error) {
      this.report(error, 'screen');
      return;
    }
    const track = display.getVideoTracks()[0];
    if (track === undefined || this.released || !this.screenWanted || this.screen !== null) {
      display.getTracks().forEach((t) => t.stop());
      return;
    }
    this.screen = track;
    // Stopping from the browser's own "Stop sharing" bar ends the share: back to the camera.
    track.addEventListener('ended', () => {
      if (this.screen === track) void this.setScreenShare(false);
    }, { once: true });
    if (this.camera) this.stream.removeTrack(this.camera);
    this.stream.addTrack(track);
    this.emit('track', { kind: 'video', track });
    this.emitChange();
  }

  /** Stops every track this object opened (the device lights go off). */
  release(): void {
    this.released = true;
    for (const track of [this.microphone, this.camera, this.screen]) if (track) this.dropTrack(track);
    this.microphone = this.camera = this.screen = null;
    this.removeAllListeners();
  }

  private async startOne(kind: 'audio' | 'video'): Promise<void> {
    try {
      const stream = await getUserMedia(kind === 'audio' ? { audio: this.constraints('audio') } : { video: this.constraints('video') });
      this.adopt(stream);
    } catch (error) {
      this.report(error, kind === 'audio' ? 'microphone' : 'camera');
    }
  }

  /** Takes the tracks of a fresh stream, replacing (and stopping) older ones of the same kind. */
  private adopt(stream: MediaStream): void {
    if (this.released) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    for (const track of stream.getTracks()) {
      track.addEventListener('ended', () => void this.deviceLost(track));
      if (track.kind === 'audio') {
        if (this.microphone) this.dropTrack(this.microphone);
        this.microphone = track;
        track.enabled = this.microphoneOn;
        this.stream.addTrack(track);
        this.emit('track', { kind: 'audio', track });
      } else {
        if (!this.cameraWanted) {
          // setCamera(false) came while this camera was opening: the last call wins.
          track.stop();
          continue;
        }
        if (this.camera) this.dropTrack(this.camera);
        this.camera = track;
        if (this.screen === null) {
          this.stream.addTrack(track);
          this.emit('track', { kind: 'video', track });
        }
      }
    }
    this.emitChange();
  }

  /**
   * A microphone or camera track ended without us stopping it: the device was unplugged or
   * taken away. Fall back to the default device of that kind.
   */
  private async deviceLost(track: MediaStreamTrack): Promise<void> {
    if (this.released) return;
    const kind = track === this.microphone ? 'audio' : track === this.camera ? 'video' : undefined;
    if (kind === undefined) return;
    if (kind === 'audio') {
      this.audioDeviceId = undefined;
      this.microphone = null;
    } else {
      this.videoDeviceId = undefined;
      this.camera = null;
    }
    this.stream.removeTrack(track);
    // A screen share in progress keeps the video sender busy; only the camera behind it went.
    if (kind === 'audio' || this.screen === null) this.emit('track', { kind, track: null });
    await this.startOne(kind);
    this.emitChange();
  }

  private dropTrack(track: MediaStreamTrack): void {
    track.stop();
    this.stream.removeTrack(track);
  }

  private report(error: unknown, what: 'microphone' | 'camera' | 'screen'): void {
    // The user closing the screen picker is a choice, not an error.
    if (what === 'screen' && error instanceof DOMException && error.name === 'NotAllowedError') return;
    this.emit('error', mediaError(error, what));
  }

  /** The caller's constraints for `kind`, pinned to the chosen device if there is one. */
  private constraints(kind: 'audio' | 'video'): MediaTrackConstraints | boolean {
    const given = kind === 'audio' ? this.options.audio : this.options.video;
    const base = typeof given === 'object' ? given : {};
    const deviceId = kind === 'audio' ? this.audioDeviceId : this.videoDeviceId;
    if (deviceId !== undefined) return { ...base, deviceId: { exact: deviceId } };
    return Object.keys(base).length > 0 ? base : true;
  }

  private emitChange(): void {
    this.emit('change', this.state);
  }
}

/**
 * The typed, non-fatal error for a failed getUserMedia/getDisplayMedia: `media-denied` when the
 * user or a policy refused, `media-unavailable` when the device is missing or busy.
 */
export function mediaError(error: unknown, what: string): CallError {
  const name = error instanceof DOMException ? error.name : '';
  const denied = name === 'NotAllowedError' || name === 'SecurityError';
  return new CallError(
    denied ? 'media-denied' : 'media-unavailable',
    denied
      ? `access to the ${what} was denied; allow it in the browser's site settings`
      : `the ${what} is not available (${name || 'unknown error'}); it may be missing or in use by another app`,
    { cause: error },
  );
}

function getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return Promise.reject(new DOMException('getUserMedia needs a secure context (https or localhost)', 'NotSupportedError'));
  }
  return navigator.mediaDevices.getUserMedia(constraints);
}
