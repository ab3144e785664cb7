/**
 * The lists of cameras, microphones and speakers, kept fresh on `devicechange` (a headset
 * plugged in mid-call shows up; an unplugged one disappears) while the host is connected.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export interface DeviceLists {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export class MediaDevicesController implements ReactiveController {
  lists: DeviceLists = { cameras: [], microphones: [], speakers: [] };
  private readonly onChange = () => void this.refresh();

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {
    navigator.mediaDevices?.addEventListener('devicechange', this.onChange);
  }

  hostDisconnected(): void {
    navigator.mediaDevices?.removeEventListener('devicechange', this.onChange);
  }

  /** Labels are only known once the page has camera/microphone permission: call after opening them. */
  async refresh(): Promise<void> {
    const devices = (await navigator.mediaDevices?.enumerateDevices().catch(() => [])) ?? [];
    const labelled = (kind: MediaDeviceKind) => devices.filter((d) => d.kind === kind && d.deviceId !== '');
    this.lists = { cameras: labelled('videoinput'), microphones: labelled('audioinput'), speakers: labelled('audiooutput') };
    this.host.requestUpdate();
  }
}
