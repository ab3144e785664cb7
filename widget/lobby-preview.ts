/**
 * The lobby's self-preview: opens camera and microphone before joining so the user can see
 * and hear themselves and pick devices. On join, the open stream is handed to the call (no
 * second permission prompt, no flash of the camera light); otherwise it is stopped.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { mediaError, type CallError } from '../sdk/index.js';

export class LobbyPreview implements ReactiveController {
  stream: MediaStream | undefined;
  /** Microphone level 0–1, updated every animation frame while previewing. */
  level = 0;
  /** Why the last attempt failed (`media-denied` or `media-unavailable`), if it did. */
  failure: CallError | undefined;
  private audioContext: AudioContext | undefined;
  private frame = 0;
  private generation = 0;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostDisconnected(): void {
    // Nothing here: a move within the page (removed and re-added in the same task) keeps the
    // preview; the element's removal check calls stop() once it is really gone.
  }

  /** Opens (or reopens, after a device choice) the preview. */
  async start(constraints: { audio: boolean | MediaTrackConstraints; video: boolean | MediaTrackConstraints }): Promise<void> {
    const generation = ++this.generation;
    this.release();
    if (!constraints.audio && !constraints.video) return;
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      if (generation !== this.generation) return;
      this.failure = mediaError(error, 'camera and microphone');
      this.host.requestUpdate();
      return;
    }
    if (generation !== this.generation) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    this.failure = undefined;
    this.stream = stream;
    this.meter(stream);
    this.host.requestUpdate();
  }

  /** Gives the open stream away (to the call); the preview no longer owns or stops it. */
  take(): MediaStream | undefined {
    const stream = this.stream;
    this.stream = undefined;
    this.generation++;
    this.stopMeter();
    return stream;
  }

  stop(): void {
    this.generation++;
    this.release();
  }

  private release(): void {
    this.stopMeter();
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = undefined;
  }

  private meter(stream: MediaStream): void {
    if (stream.getAudioTracks().length === 0 || typeof AudioContext === 'undefined') return;
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 256;
    context.createMediaStreamSource(stream).connect(analyser);
    this.audioContext = context;
    const samples = new Uint8Array(analyser.fftSize);
    const tick = () => {
      analyser.getByteTimeDomainData(samples);
      let peak = 0;
      for (const sample of samples) peak = Math.max(peak, Math.abs(sample - 128));
      const level = Math.min(1, peak / 64);
      if (Math.abs(level - this.level) > 0.02) {
        this.level = level;
        this.host.requestUpdate();
      }
      this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  private stopMeter(): void {
    cancelAnimationFrame(this.frame);
    void this.audioContext?.close().catch(() => undefined);
    this.audioContext = undefined;
    this.level = 0;
  }
}
