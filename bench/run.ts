/**
 * `npm run bench`: each figure of p2p-call measured against a baseline in the same run, in
 * alternating rounds, reported as medians and ratios (absolute numbers drift with the machine;
 * ratios taken side by side do not). `--quick` for fewer, smaller rounds; `--cross-node` for
 * the scale-out figures only.
 */
import { callSetup } from './call-setup.js';
import { crossNode } from './cross-node.js';
import { relayThroughput } from './relay-throughput.js';
import { report } from './stats.js';

const quick = process.argv.includes('--quick');
const crossNodeOnly = process.argv.includes('--cross-node');

if (!crossNodeOnly) {
  console.log(report(await relayThroughput(quick ? { rounds: 3, pairs: 10, signals: 500 } : { rounds: 7, pairs: 20, signals: 2000 })));
  console.log();
  console.log(report(await callSetup(quick ? 3 : 7)));
  console.log();
}
console.log((await crossNode(quick
  ? { rounds: 2, pairs: 10, signals: 200, latencyRate: 500, latencyMs: 1_000 }
  : { rounds: 5, pairs: 20, signals: 500, latencyRate: 1_000, latencyMs: 2_000 })).text);
