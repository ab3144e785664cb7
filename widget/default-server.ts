/**
 * Where the element talks to when it has no `server` attribute: the server its script was
 * loaded from (`/ws` on the script's origin, `ws:` for `http:`, `wss:` for `https:`). In the
 * IIFE bundle rollup computes `import.meta.url` from `document.currentScript`, captured while
 * the script runs, so the same line serves both bundles.
 */
const scriptUrl = import.meta.url;

export function defaultServerUrl(): string {
  const url = new URL('/ws', scriptUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
