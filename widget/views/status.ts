/** The panels for the states without a call picture: no room, joining, waiting (invite), connecting, reconnecting, ended, error. */
import { html, nothing, type TemplateResult } from 'lit';
import type { P2PCallState } from '../events.js';
import type { StringKey } from '../i18n.js';
import { icons } from '../icons.js';

export interface StatusView {
  t: (key: StringKey) => string;
  state: P2PCallState;
  room: string;
  /** The other person is in the room: "reconnecting" is about them; otherwise it is the invite panel. */
  peerPresent: boolean;
  peerLeft: boolean;
  /** The other person dropped out (page closed or reloading, network lost): say so, not "reconnecting". */
  peerAbsent: boolean;
  copied: 'done' | 'failed' | undefined;
  inviteUrl: string;
  errorKey: StringKey | undefined;
  onCopy(): void;
  onJoin(): void;
}

export function statusView(v: StatusView): TemplateResult | typeof nothing {
  const { t } = v;
  const spinner = (key: StringKey, overlay = false) =>
    html`<div part="status" class="status panel ${overlay ? 'overlay' : ''}"><span class="spinner" aria-hidden="true"></span><p>${t(key)}</p></div>`;
  switch (v.state) {
    case 'idle':
      return v.room ? nothing : html`<div part="status" class="status panel"><p>${t('noRoom')}</p></div>`;
    case 'joining':
      return spinner('joining');
    case 'connecting':
      return spinner('connecting');
    case 'reconnecting':
      // Alone in the room, a reconnecting signaling socket is no reason to hide the invite.
      return v.peerPresent ? spinner(v.peerAbsent ? 'peerAway' : 'reconnecting', true) : invite(v, true);
    case 'waiting':
      return invite(v, false);
    case 'ended':
      return html`<div part="status" class="status panel"><p>${t('ended')}</p>
        <button class="primary" data-focus @click=${v.onJoin}>${t('rejoin')}</button></div>`;
    case 'error':
      // Always a way on (EMBED.md: "the UI offers a retry"): a room frees up, a host page
      // renews its token, a server is updated; a retry that cannot help fails again at once.
      return html`<div part="status" class="status panel error" role="alert"><p>${t(v.errorKey ?? 'error.unknown')}</p>
        <button class="primary" data-focus @click=${v.onJoin}>${t('retry')}</button></div>`;
    default:
      return nothing;
  }
}

function invite(v: StatusView, reconnecting: boolean): TemplateResult {
  const { t } = v;
  return html`<div part="status" class="status panel">
    ${v.peerLeft ? html`<p>${t('peerLeft')}</p>` : nothing}
    <p>${t('waiting')}</p>
    ${reconnecting ? html`<p class="hint"><span class="spinner small" aria-hidden="true"></span>${t('reconnecting')}</p>` : nothing}
    <button class="secondary" @click=${v.onCopy}>${icons.link}${t(v.copied === 'done' ? 'copied' : v.copied ? 'copyFailed' : 'copyLink')}</button>
    ${v.copied === 'failed' ? html`<input class="invite" readonly aria-label=${t('copyLink')} .value=${v.inviteUrl} />` : nothing}
  </div>`;
}
