/** The chat panel (header with close, each message with its sender and time, an empty state) and the new-message toast. */
import { html, type TemplateResult } from 'lit';
import type { ChatLine } from '../call-controller.js';
import type { StringKey } from '../i18n.js';
import { icons } from '../icons.js';

export interface ChatView {
  t: (key: StringKey) => string;
  lines: ChatLine[];
  lang: string;
  onSend(event: Event): void;
  onClose(): void;
}

export function chatPanel(v: ChatView): TemplateResult {
  const { t } = v;
  return html`
    <div part="chat" class="chat panel" role="dialog" aria-label=${t('chat')}>
      <header class="panel-head"><h2>${t('chat')}</h2>
        <button class="icon close" @click=${v.onClose} aria-label=${t('close')} title=${t('close')}>${icons.close}</button></header>
      ${v.lines.length === 0
        ? html`<p class="chat-empty">${t('chatEmpty')}</p>`
        : html`<ol class="chat-log">
          ${v.lines.map((line) => html`<li class=${line.from}>
            <span class="chat-meta"><b>${line.from === 'me' ? t('you') : line.name || t('them')}</b>
              <time datetime=${new Date(line.at).toISOString()}>${clock(line.at, v.lang)}</time></span>
            <span class="chat-text">${line.text}</span></li>`)}
        </ol>`}
      <form @submit=${v.onSend}>
        <input name="message" maxlength="4000" autocomplete="off" aria-label=${t('messagePlaceholder')} placeholder=${t('messagePlaceholder')} />
        <button class="primary" type="submit">${t('send')}</button>
      </form>
    </div>`;
}

/** A small toast for a message that arrived while the panel is closed; a click opens the chat. */
export function chatToast(t: (key: StringKey) => string, line: ChatLine, onOpen: () => void): TemplateResult {
  return html`<button class="toast" part="toast" @click=${onOpen}>
    <b>${line.name || t('them')}</b><span>${line.text}</span></button>`;
}

function clock(at: number, lang: string): string {
  try {
    return new Date(at).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
  } catch {
    return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
}
