/**
 * `p2p-call/widget`: the `<p2p-call>` element class. Placeholder until the widget issue lands;
 * it exports nothing yet so that nothing pretends to work.
 */
export {};
