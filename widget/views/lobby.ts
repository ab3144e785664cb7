/**
 * The pre-join screen: the self-preview with microphone and camera toggles and a level meter
 * beside (wide) or above (narrow) the form with the name, the devices and the join button.
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { StringKey } from '../i18n.js';
import { icons } from '../icons.js';

export interface LobbyView {
  t: (key: StringKey) => string;
  name: string;
  initial: string;
  /** The microphone will be on when joining. */
  microphone: boolean;
  /** The camera will be on when joining; undefined for audio-only. */
  camera: boolean | undefined;
  /** The preview shows a camera picture (it may still be opening). */
  showsVideo: boolean;
  level: number;
  /** The room was already full when the lobby opened. */
  full: boolean;
  devices: TemplateResult | typeof nothing;
  onName(value: string): void;
  onMicrophone(): void;
  onCamera(): void;
  onJoin(): void;
}

export function lobbyView(v: LobbyView): TemplateResult {
  const { t } = v;
  const level = Math.round(v.level * 100);
  return html`
    <div part="lobby" class="lobby">
      <div class="lobby-preview">
        <video part="local-video" class="local-preview mirrored" playsinline autoplay muted ?hidden=${!v.showsVideo} aria-label=${t('you')}></video>
        ${v.showsVideo ? nothing : html`<div class="tile-avatar"><span part="avatar" class="avatar" aria-hidden="true">${v.initial}</span>
          ${v.camera === false ? html`<span class="tile-note">${t('cameraIsOff')}</span>` : nothing}</div>`}
        <div part="lobby-toggles" class="lobby-toggles">
          <button type="button" class="icon toggle" ?data-off=${!v.microphone} aria-label=${t(v.microphone ? 'muteMicrophone' : 'unmuteMicrophone')}
            title=${t(v.microphone ? 'muteMicrophone' : 'unmuteMicrophone')} @click=${v.onMicrophone}>${v.microphone ? icons.mic : icons.micOff}</button>
          ${v.camera === undefined ? nothing : html`<button type="button" class="icon toggle" ?data-off=${!v.camera}
            aria-label=${t(v.camera ? 'stopCamera' : 'startCamera')} title=${t(v.camera ? 'stopCamera' : 'startCamera')}
            @click=${v.onCamera}>${v.camera ? icons.cam : icons.camOff}</button>`}
          <meter class="level" min="0" max="100" low="8" high="60" optimum="40" .value=${v.microphone ? level : 0} aria-label=${t('micLevel')}></meter>
        </div>
      </div>
      <form class="lobby-form" @submit=${(e: Event) => {
        e.preventDefault();
        v.onJoin();
      }}>
        <slot name="lobby"></slot>
        <h2>${t('lobbyTitle')}</h2>
        ${v.full ? html`<p class="lobby-full" role="status">${t('lobbyFull')}</p>` : nothing}
        <label class="field">${t('joinAs')}
          <input name="name" autocomplete="nickname" maxlength="80" .value=${v.name}
            @input=${(e: Event) => v.onName((e.target as HTMLInputElement).value)} />
        </label>
        ${v.devices === nothing ? nothing : html`<details class="lobby-devices"><summary>${t('settings')}</summary>${v.devices}</details>`}
        <button part="join-button" class="primary" type="submit">${t('join')}</button>
      </form>
    </div>`;
}
