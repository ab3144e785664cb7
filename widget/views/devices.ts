/** The camera, microphone and speaker pickers (lobby and in-call panel). */
import { html, nothing, type TemplateResult } from 'lit';
import type { StringKey } from '../i18n.js';
import { icons } from '../icons.js';
import type { DeviceLists } from '../media-devices.js';

export type DeviceKind = 'camera' | 'microphone' | 'speaker';

export interface DeviceFieldsView {
  t: (key: StringKey) => string;
  lists: DeviceLists;
  chosen: Partial<Record<DeviceKind, string>>;
  audioOnly: boolean;
  onChoose(kind: DeviceKind, deviceId: string): void;
}

/** The pickers that have something to pick from; `nothing` when there is none. */
export function deviceFields(v: DeviceFieldsView): TemplateResult | typeof nothing {
  const { t } = v;
  const select = (kind: DeviceKind, list: MediaDeviceInfo[]) =>
    list.length === 0 ? nothing : html`
      <label class="field">${t(kind)}
        <select @change=${(e: Event) => v.onChoose(kind, (e.target as HTMLSelectElement).value)}>
          ${list.map((device, i) => html`<option value=${device.deviceId} ?selected=${device.deviceId === v.chosen[kind]}>${device.label || `${t(kind)} ${i + 1}`}</option>`)}
        </select>
      </label>`;
  const { cameras, microphones, speakers } = v.lists;
  const canChooseSpeaker = 'setSinkId' in HTMLMediaElement.prototype;
  const fields = [
    v.audioOnly ? nothing : select('camera', cameras),
    select('microphone', microphones),
    canChooseSpeaker ? select('speaker', speakers) : nothing,
  ];
  return fields.every((f) => f === nothing) ? nothing : html`${fields}`;
}

export function devicesPanel(t: (key: StringKey) => string, fields: TemplateResult | typeof nothing, onClose: () => void): TemplateResult {
  return html`
    <div class="devices panel" role="dialog" aria-label=${t('settings')}>
      <header class="panel-head"><h2>${t('settings')}</h2>
        <button class="icon close" @click=${onClose} aria-label=${t('close')} title=${t('close')}>${icons.close}</button></header>
      ${fields}
    </div>`;
}
