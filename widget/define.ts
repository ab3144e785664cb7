/**
 * `p2p-call/define` and the script-tag bundles' entry: registers `<p2p-call>`. Guarded, so
 * two script tags (or the bundle next to the npm package) never throw.
 */
import { P2PCall } from './p2p-call.js';

if (!customElements.get('p2p-call')) customElements.define('p2p-call', P2PCall);

export { P2PCall };
export * from './events.js';

declare global {
  interface HTMLElementTagNameMap {
    'p2p-call': P2PCall;
  }
}
