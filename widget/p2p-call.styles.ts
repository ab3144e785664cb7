import { css } from 'lit';

/**
 * Adopted stylesheets only (no inline styles), so a strict CSP is fine. The element fills the
 * box its host gives it; container queries adapt the layout from phone portrait up.
 */
export const styles = css`
  :host {
    --_accent: var(--p2p-call-accent, #2563eb);
    --_bg: var(--p2p-call-background, #0f172a);
    --_surface: var(--p2p-call-surface, #1e293b);
    --_text: var(--p2p-call-text, #f8fafc);
    --_danger: var(--p2p-call-danger, #dc2626);
    --_radius: var(--p2p-call-radius, 12px);
    display: block;
    position: relative;
    width: 100%;
    height: 100%;
    min-height: 320px;
    container-type: size;
    font-family: var(--p2p-call-font, system-ui, -apple-system, 'Segoe UI', sans-serif);
    color: var(--_text);
    color-scheme: dark;
  }
  /* The stage stays dark in both schemes (it frames video); panels and controls follow the page. */
  @media (prefers-color-scheme: light) {
    :host {
      --_surface: var(--p2p-call-surface, #ffffff);
      --_text: var(--p2p-call-text, #0f172a);
      color-scheme: light;
    }
  }
  [hidden] { display: none !important; }
  .base {
    position: absolute;
    inset: 0;
    display: grid;
    grid-template-rows: 1fr auto;
    background: var(--_bg);
    border-radius: var(--_radius);
    overflow: hidden;
  }
  .stage { position: relative; min-height: 0; display: grid; place-items: center; overflow: hidden; }
  video { display: block; background: #000; }
  .remote { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; }
  .local {
    position: absolute;
    right: 12px;
    bottom: 12px;
    width: min(28%, 220px);
    aspect-ratio: 4 / 3;
    object-fit: cover;
    border-radius: calc(var(--_radius) * 0.66);
    box-shadow: 0 4px 16px rgb(0 0 0 / 0.4);
    transform: scaleX(-1);
    z-index: 2;
  }
  .local.lobby-view { inset: 0; width: 100%; height: 100%; border-radius: 0; box-shadow: none; z-index: 0; }
  .avatar {
    width: min(30cqmin, 160px);
    aspect-ratio: 1;
    border-radius: 50%;
    display: grid;
    place-items: center;
    font-size: min(14cqmin, 72px);
    font-weight: 600;
    background: var(--_accent);
    color: #fff;
  }
  .remote-label {
    position: absolute;
    left: 12px;
    bottom: 12px;
    display: flex;
    gap: 8px;
    align-items: center;
    padding: 4px 10px;
    border-radius: 999px;
    background: rgb(0 0 0 / 0.55);
    color: #fff;
    font-size: 14px;
    z-index: 2;
  }
  .badge svg { width: 16px; height: 16px; display: block; }
  .quality { display: inline-flex; gap: 2px; align-items: flex-end; height: 14px; }
  .quality i { width: 3px; background: currentColor; opacity: 0.35; border-radius: 1px; }
  .quality i:nth-child(1) { height: 5px; }
  .quality i:nth-child(2) { height: 9px; }
  .quality i:nth-child(3) { height: 13px; }
  .q-good i, .q-fair i:nth-child(-n + 2), .q-poor i:nth-child(1) { opacity: 1; }
  .q-good { color: #4ade80; }
  .q-fair { color: #facc15; }
  .q-poor { color: #f87171; }
  .panel {
    background: var(--_surface);
    color: var(--_text);
    border-radius: var(--_radius);
    padding: 20px;
    box-shadow: 0 8px 32px rgb(0 0 0 / 0.3);
  }
  .status { position: relative; z-index: 3; max-width: min(90%, 420px); text-align: center; display: grid; gap: 12px; justify-items: center; }
  .status p { margin: 0; line-height: 1.45; }
  /* Above an open chat or devices panel: the call is not usable while this shows. */
  .status.overlay { z-index: 7; background: rgb(15 23 42 / 0.8); color: #fff; }
  .status.error { border-top: 4px solid var(--_danger); }
  .status .invite { justify-self: stretch; }
  .lobby { position: relative; z-index: 3; width: min(92%, 360px); display: grid; gap: 12px; background: color-mix(in srgb, var(--_surface) 92%, transparent); }
  .lobby h2 { margin: 0; font-size: 20px; }
  .lobby p { margin: 0; font-size: 14px; }
  .field { display: grid; gap: 4px; font-size: 13px; }
  input, select {
    font: inherit;
    font-size: 15px;
    padding: 8px 10px;
    border-radius: 8px;
    border: 1px solid color-mix(in srgb, var(--_text) 25%, transparent);
    background: color-mix(in srgb, var(--_text) 6%, var(--_surface));
    color: var(--_text);
    min-width: 0;
  }
  meter { width: 100%; height: 8px; }
  button {
    font: inherit;
    font-size: 15px;
    cursor: pointer;
    border: 0;
    border-radius: 999px;
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 6px;
    color: inherit;
  }
  button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
  .primary { background: var(--_accent); color: #fff; padding: 10px 20px; font-weight: 600; }
  .secondary { background: color-mix(in srgb, var(--_text) 12%, transparent); padding: 8px 16px; }
  .secondary svg { width: 18px; height: 18px; }
  .controls {
    display: flex;
    flex-wrap: wrap;
    justify-content: center;
    gap: 10px;
    padding: 10px;
    background: var(--_surface);
  }
  .icon { position: relative; width: 48px; height: 48px; background: color-mix(in srgb, var(--_text) 12%, transparent); }
  .icon[aria-pressed='true'] { background: var(--_text); color: var(--_surface); }
  .icon.b-hangup { background: var(--_danger); color: #fff; width: 64px; }
  .unread {
    position: absolute;
    top: -2px;
    right: -2px;
    min-width: 18px;
    height: 18px;
    border-radius: 9px;
    background: var(--_danger);
    color: #fff;
    font-size: 11px;
    line-height: 18px;
  }
  .unlock { position: absolute; z-index: 8; top: 12px; left: 50%; transform: translateX(-50%); padding: 10px 16px; background: var(--_accent); color: #fff; }
  .notice {
    position: absolute;
    /* Above the panels: the chat's own send failures are announced here. */
    z-index: 9;
    top: 12px;
    left: 12px;
    right: 12px;
    display: flex;
    gap: 8px;
    align-items: center;
    padding: 10px 12px;
    border-radius: var(--_radius);
    background: #fef3c7;
    color: #78350f;
    font-size: 14px;
  }
  .notice span { flex: 1; }
  .notice .icon { width: 32px; height: 32px; background: transparent; }
  .chat, .devices { position: absolute; z-index: 6; right: 12px; bottom: 12px; top: 12px; width: min(320px, calc(100% - 24px)); display: flex; flex-direction: column; gap: 8px; padding: 12px; }
  .devices { top: auto; gap: 12px; padding-top: 36px; }
  .devices .close { position: absolute; top: 4px; right: 4px; width: 32px; height: 32px; background: transparent; }
  .chat-log { flex: 1; overflow-y: auto; margin: 0; padding: 0; list-style: none; display: flex; flex-direction: column; gap: 6px; }
  .chat-log li { padding: 6px 10px; border-radius: 12px; max-width: 85%; overflow-wrap: anywhere; white-space: pre-wrap; background: color-mix(in srgb, var(--_text) 12%, transparent); align-self: flex-start; }
  .chat-log li.me { background: var(--_accent); color: #fff; align-self: flex-end; }
  .chat form { display: flex; gap: 6px; }
  .chat input { flex: 1; }
  .spinner { width: 28px; height: 28px; border-radius: 50%; border: 3px solid color-mix(in srgb, currentColor 25%, transparent); border-top-color: currentColor; animation: spin 0.9s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  @media (prefers-reduced-motion: reduce) { .spinner { animation-duration: 3s; } }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  @container (max-width: 480px) {
    .icon { width: 42px; height: 42px; }
    .icon.b-hangup { width: 54px; }
    .controls { gap: 6px; padding: 8px; }
    .local { width: 32%; right: 8px; bottom: 8px; }
    .chat, .devices { right: 8px; left: 8px; top: 8px; bottom: 8px; width: auto; }
  }
  /* Phones: picture-in-picture matters least; dropping it keeps the toolbar on one line. */
  @container (max-width: 420px) {
    .b-pip { display: none; }
  }
  @container (max-width: 360px) {
    .controls { gap: 4px; padding: 6px; }
    .icon { width: 36px; height: 36px; }
    .icon.b-hangup { width: 46px; }
    .icon svg { width: 20px; height: 20px; }
  }
`;
