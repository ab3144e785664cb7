/**
 * The call toolbar: one Tab stop (roving tabindex), arrow keys, Home and End inside
 * (the WAI-ARIA toolbar pattern). Labels say what a click will do ("Unmute microphone").
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { StringKey } from '../i18n.js';

/** The controls, in toolbar order; `controls="…"` on the element picks a subset. */
export const CONTROLS = ['microphone', 'camera', 'screen', 'chat', 'devices', 'pip', 'fullscreen', 'hangup'] as const;
export type Control = (typeof CONTROLS)[number];

export interface ToolButton {
  name: Control;
  label: string;
  icon: unknown;
  /** For buttons that open a panel. */
  expanded?: boolean;
  /** For on/off buttons whose label does not change (none today; kept for host-defined ones). */
  off?: boolean;
  badge?: number;
  onClick(): void;
}

export interface ToolbarView {
  t: (key: StringKey) => string;
  buttons: ToolButton[];
  /** The button that holds the toolbar's one Tab stop. */
  current: Control | undefined;
  onCurrent(name: Control): void;
}

export function toolbarView(v: ToolbarView): TemplateResult {
  const current = v.buttons.some((b) => b.name === v.current) ? v.current : v.buttons[0]?.name;
  return html`
    <div part="controls" class="controls" role="toolbar" aria-label=${v.t('controls')} @keydown=${(e: KeyboardEvent) => keys(e, v)}>
      ${v.buttons.map((b) => html`
        <button part="button ${b.name}-button" class="icon b-${b.name}" aria-label=${b.label} title=${b.label}
          tabindex=${b.name === current ? 0 : -1} ?data-off=${b.off}
          aria-expanded=${b.expanded === undefined ? nothing : String(b.expanded)}
          @focus=${() => v.onCurrent(b.name)} @click=${b.onClick}>${b.icon}${b.badge ? html`<span class="unread" aria-hidden="true">${b.badge}</span>` : nothing}</button>`)}
      <slot name="controls"></slot>
    </div>`;
}

function keys(event: KeyboardEvent, v: ToolbarView): void {
  const steps: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  const step = steps[event.key];
  if (step === undefined && event.key !== 'Home' && event.key !== 'End') return;
  const toolbar = event.currentTarget as HTMLElement;
  // Visible buttons only: narrow layouts hide some (picture in picture on phones).
  const buttons = [...toolbar.querySelectorAll<HTMLButtonElement>(':scope > button')].filter((b) => b.offsetParent !== null);
  const at = buttons.indexOf(event.composedPath()[0] as HTMLButtonElement);
  if (at < 0) return;
  const next = event.key === 'Home' ? 0 : event.key === 'End' ? buttons.length - 1 : (at + (step ?? 0) + buttons.length) % buttons.length;
  event.preventDefault();
  for (const b of buttons) b.tabIndex = -1;
  const target = buttons[next];
  if (!target) return;
  target.tabIndex = 0;
  target.focus();
}

/** Parses `controls="mic camera hangup"`: the controls named (aliases `mic`, `cam`, `share`), or all. */
export function parseControls(value: string | null | undefined): ReadonlySet<Control> {
  if (value === null || value === undefined) return new Set(CONTROLS);
  const aliases: Record<string, Control> = { mic: 'microphone', cam: 'camera', share: 'screen', leave: 'hangup', settings: 'devices' };
  const names = value.toLowerCase().split(/[\s,]+/).map((n) => aliases[n] ?? n);
  return new Set(CONTROLS.filter((c) => names.includes(c)));
}
