/**
 * `p2p-call/define`: registers `<p2p-call>`. Placeholder until the widget issue lands.
 */
export {};
