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
    /* What the layout stands on is !important: a page's rules beat a plain :host rule, and a
       page with \`* { all: unset }\` would make the element an empty inline box that its UI
       spills out of. The host keeps what it may want to set: position, width, height, the ratio
       (through a property), and hiding with the hidden attribute. Layout containment makes
       the element the containing block of its absolutely placed UI whatever its position. */
    display: block !important;
    position: relative;
    contain: layout !important;
    /* The host's box when it gives one; otherwise the width available and a 4:3 (3:4 on a
       portrait screen) height, never taller than the viewport. No minimum: a 300 px box fits. */
    width: 100%;
    height: 100%;
    aspect-ratio: var(--p2p-call-aspect-ratio, 4 / 3) !important;
    max-height: 100vh;
    max-height: 100dvh;
    container-type: size !important;
    font-family: var(--p2p-call-font, system-ui, -apple-system, 'Segoe UI', sans-serif) !important;
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
  @media (orientation: portrait) { :host { aspect-ratio: var(--p2p-call-aspect-ratio, 3 / 4) !important; } }
  :host([hidden]) { display: none !important; }
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
    z-index: 2;
  }
  /* Your camera is shown as in a mirror; your screen as the other side sees it, whole. */
  .mirrored { transform: scaleX(-1); }
  .local.screen { object-fit: contain; }
  .self-tile { display: grid; place-items: center; background: #1e293b; }
  .self-tile .avatar { width: 40%; font-size: min(9cqmin, 40px); }
  .self-tile .badge { position: absolute; right: 6px; bottom: 6px; padding: 3px; border-radius: 50%; background: rgb(0 0 0 / 0.6); color: #fff; }
  .speaking { box-shadow: 0 0 0 3px #4ade80; }
  .remote-label.speaking { box-shadow: inset 0 0 0 2px #4ade80; }
  /* A shared screen is never cropped. */
  .remote.screen { object-fit: contain; }
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
  /* The lobby: preview beside the form in a landscape box, above it in a portrait one; the
     whole lobby scrolls inside the element if a box is too small, never the host page. */
  .lobby {
    position: absolute;
    inset: 0;
    z-index: 3;
    display: grid;
    grid-template-columns: minmax(0, 3fr) minmax(min(100%, 200px), 2fr);
    align-items: center;
    align-content: center;
    gap: clamp(10px, 3cqw, 32px);
    padding: clamp(10px, 3cqmin, 32px);
    overflow: auto;
    background: var(--_bg);
  }
  .lobby-preview {
    position: relative;
    aspect-ratio: 4 / 3;
    max-height: calc(100cqh - 2 * clamp(10px, 3cqmin, 32px));
    margin-inline: auto;
    max-width: 100%;
    width: 100%;
    border-radius: var(--_radius);
    overflow: hidden;
    background: #111827;
  }
  .local-preview { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; }
  .tile-avatar { position: absolute; inset: 0; display: grid; place-items: center; align-content: center; gap: 8px; color: #fff; }
  .tile-avatar .avatar { width: min(30cqmin, 120px); font-size: min(12cqmin, 56px); }
  .tile-note { font-size: 13px; }
  .lobby-toggles {
    position: absolute;
    left: 0;
    right: 0;
    bottom: 0;
    display: flex;
    align-items: center;
    gap: 8px;
    padding: 8px;
    background: linear-gradient(transparent, rgb(0 0 0 / 0.6));
    color: #fff;
  }
  .lobby-toggles .icon { width: 40px; height: 40px; background: rgb(255 255 255 / 0.2); color: #fff; flex: none; }
  .lobby-toggles .icon[data-off] { background: var(--_danger); }
  .level { flex: 1; min-width: 24px; max-width: 120px; height: 8px; }
  .level::-webkit-meter-bar { background: rgb(255 255 255 / 0.3); border: 0; border-radius: 4px; height: 8px; }
  .level::-webkit-meter-optimum-value, .level::-webkit-meter-suboptimum-value { background: #4ade80; border-radius: 4px; }
  .level::-moz-meter-bar { background: #4ade80; }
  .lobby-form { display: grid; gap: 10px; align-content: center; background: var(--_surface); color: var(--_text); border-radius: var(--_radius); padding: clamp(12px, 3cqmin, 24px); min-width: 0; }
  .lobby-form h2 { margin: 0; font-size: 20px; }
  .lobby-full { margin: 0; font-size: 14px; padding: 8px 10px; border-radius: 8px; background: #fef3c7; color: #78350f; }
  .lobby-devices summary { cursor: pointer; font-size: 14px; padding: 2px 0; }
  .lobby-devices[open] { display: grid; gap: 8px; }
  .lobby-form .primary { justify-self: stretch; }
  /* A small landscape box (400×300, a 300 px column): two equal columns, smaller toggles. */
  @container (max-width: 560px) {
    .lobby { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
  }
  @container (max-width: 360px) {
    .lobby-toggles { gap: 4px; padding: 4px; }
    .lobby-toggles .icon { width: 32px; height: 32px; }
    .lobby-toggles svg { width: 18px; height: 18px; }
  }
  @container (orientation: portrait) {
    .lobby { grid-template-columns: minmax(0, 1fr); }
    /* 4:3, at most half the height: the width follows (64cqh is 48cqh at 4:3). */
    .lobby-preview { aspect-ratio: 4 / 3; width: min(100%, 64cqh); }
  }
  @container (max-height: 420px) {
    .lobby-form h2 { font-size: 16px; }
    .lobby-form { gap: 6px; padding: 10px; }
    .lobby-form input, .lobby-form select { padding: 5px 8px; font-size: 14px; }
    .lobby-form .primary { padding: 8px 14px; }
  }
  @container (max-height: 320px) {
    .lobby-form h2 { display: none; }
  }
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
  .icon[aria-expanded='true'], .controls .icon[data-off] { background: var(--_text); color: var(--_surface); }
  .controls .b-microphone[data-off], .controls .b-camera[data-off] { background: var(--_danger); color: #fff; }
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
  .chat, .devices { position: absolute; z-index: 6; right: 12px; bottom: 12px; top: 12px; width: min(320px, calc(100% - 24px)); display: flex; flex-direction: column; gap: 8px; padding: 8px 12px 12px; overflow: auto; }
  .devices { top: auto; gap: 12px; }
  .panel-head { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
  .panel-head h2 { margin: 0; font-size: 16px; }
  .panel-head .close { width: 36px; height: 36px; background: transparent; }
  .chat-empty { flex: 1; margin: 0; display: grid; place-items: center; text-align: center; font-size: 14px; opacity: 0.75; padding: 0 8px; }
  .chat-log { flex: 1; overflow-y: auto; margin: 0; padding: 0; list-style: none; display: flex; flex-direction: column; gap: 8px; }
  .chat-log li { display: grid; gap: 2px; max-width: 85%; align-self: flex-start; }
  .chat-meta { display: flex; gap: 6px; align-items: baseline; font-size: 12px; opacity: 0.8; }
  .chat-meta b { font-weight: 600; }
  .chat-text { padding: 6px 10px; border-radius: 12px; overflow-wrap: anywhere; white-space: pre-wrap; background: color-mix(in srgb, var(--_text) 12%, transparent); }
  .chat-log li.me { align-self: flex-end; justify-items: end; }
  .chat-log li.me .chat-text { background: var(--_accent); color: #fff; }
  .toast {
    position: absolute;
    z-index: 5;
    left: 50%;
    bottom: 12px;
    transform: translateX(-50%);
    max-width: min(90%, 360px);
    display: flex;
    gap: 6px;
    padding: 8px 14px;
    border-radius: 12px;
    background: var(--_surface);
    color: var(--_text);
    box-shadow: 0 4px 16px rgb(0 0 0 / 0.4);
    font-size: 14px;
    animation: rise 0.2s ease-out;
  }
  .toast span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  @keyframes rise { from { opacity: 0; transform: translate(-50%, 8px); } }
  .hint { display: inline-flex; gap: 8px; align-items: center; font-size: 14px; opacity: 0.8; }
  .spinner.small { width: 14px; height: 14px; border-width: 2px; }
  .chat form { display: flex; gap: 6px; }
  .chat input { flex: 1; }
  .spinner { width: 28px; height: 28px; border-radius: 50%; border: 3px solid color-mix(in srgb, currentColor 25%, transparent); border-top-color: currentColor; animation: spin 0.9s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  @media (prefers-reduced-motion: reduce) {
    .spinner { animation-duration: 3s; }
    .toast { animation: none; }
  }
  /* Windows high contrast and other forced colors: borders carry what backgrounds did. */
  @media (forced-colors: active) {
    .panel, .lobby-form, .notice, .toast, .remote-label, .icon, .primary, .secondary { border: 1px solid CanvasText; }
    .icon[data-off], .icon[aria-expanded='true'] { outline: 2px solid Highlight; }
    .speaking { outline: 3px solid Highlight; }
    .avatar { forced-color-adjust: none; }
  }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  @container (max-width: 480px) {
    .icon { width: 44px; height: 44px; }
    .icon.b-hangup { width: 56px; }
    .controls { gap: 6px; padding: 8px 8px max(8px, env(safe-area-inset-bottom)); }
    .local { width: 32%; right: 8px; bottom: 8px; }
    .chat, .devices { right: 8px; left: 8px; top: 8px; bottom: 8px; width: auto; }
  }
  /* Phones held upright: the other person fills the screen (a camera picture is cropped, a
     shared screen never), your own view floats on top. */
  @container (max-width: 600px) and (orientation: portrait) {
    .remote:not(.screen) { object-fit: cover; }
    .local { top: 8px; bottom: auto; width: 30%; aspect-ratio: 3 / 4; }
  }
  /* Phones: picture-in-picture matters least; dropping it keeps the toolbar on one line. */
  @container (max-width: 420px) {
    .b-pip { display: none; }
  }
  @container (max-width: 360px) {
    .controls { gap: 4px; padding: 6px; }
    .icon { width: 40px; height: 40px; }
    .icon.b-hangup { width: 48px; }
    .icon svg { width: 20px; height: 20px; }
  }
  @container (max-width: 320px) {
    .controls { gap: 2px; padding: 6px 4px; }
    .icon { width: 36px; height: 36px; }
    .icon.b-hangup { width: 44px; }
  }
`;
