/**
 * `p2p-call/jsx/vue`: `<p2p-call>` in Vue templates checked by vue-tsc (Volar): its properties
 * as props and its events as `@p2p-state-change` listeners. At run time Vue must be told it is
 * a custom element (`compilerOptions.isCustomElement: (tag) => tag === 'p2p-call'`).
 * Load once, e.g. in `env.d.ts`: `import type {} from 'p2p-call/jsx/vue'`.
 */
import type { DefineComponent } from 'vue';
import type { P2PCallEvent, P2PEventName } from '../events.js';
import type { P2PCallProperties } from '../framework-types.js';

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;
/** Vue's listener props: `@p2p-state-change` is `onP2pStateChange`. */
export type P2PCallVueListeners = { [N in P2PEventName as `on${Capitalize<Camel<N>>}`]?: (event: P2PCallEvent<N>) => void };

export type P2PCallVueProps = P2PCallProperties & P2PCallVueListeners;

declare module 'vue' {
  interface GlobalComponents {
    'p2p-call': DefineComponent<P2PCallVueProps>;
  }
}
