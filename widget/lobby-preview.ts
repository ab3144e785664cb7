/**
 * The lobby's self-preview: opens camera and microphone before joining so the user can see
 * and hear themselves and pick devices. On join, the open stream is handed to the call (no
 * second permission prompt, no flash of the camera light); otherwise it is stopped.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { mediaError, type CallError } from '../sdk/index.js';
import { watchLevel } from './audio-level.js';

export class LobbyPreview implements ReactiveController {
  stream: MediaStream | undefined;
  /** Microphone level 0–1 while previewing. */
  level = 0;
  /** Why the last attempt failed (`media-denied` or `media-unavailable`), if it did. */
  failure: CallError | undefined;
  private stopMeter: () => void = () => undefined;
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
    this.stopMeter = watchLevel(stream, (level) => {
      if (Math.abs(level - this.level) < 0.02) return;
      this.level = level;
      this.host.requestUpdate();
    });
    this.host.requestUpdate();
  }

  /** Gives the open stream away (to the call); the preview no longer owns or stops it. */
  take(): MediaStream | undefined {
    const stream = this.stream;
    this.stream = undefined;
    this.generation++;
    this.quiet();
    return stream;
  }

  stop(): void {
    this.generation++;
    this.release();
  }

  private release(): void {
    this.quiet();
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = undefined;
  }

  private quiet(): void {
    this.stopMeter();
    this.stopMeter = () => undefined;
    this.level = 0;
  }
}
