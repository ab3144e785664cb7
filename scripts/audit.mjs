#!/usr/bin/env node
/**
 * `npm run audit`, part of `npm test`: audits the production dependencies (what an embedding
 * site or an operator installs). High or critical advisories fail the run. A registry without
 * the audit endpoint (some mirrors answer 405) is reported and skipped, not counted as a pass.
 */
import { execFile } from 'node:child_process';

execFile('npm', ['audit', '--omit=dev', '--json'], { timeout: 60_000 }, (error, stdout, stderr) => {
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    report = undefined;
  }
  const counts = report?.metadata?.vulnerabilities;
  if (counts === undefined) {
    const reason = report?.statusCode !== undefined ? `the audit endpoint answered HTTP ${report.statusCode}` : (stderr.split('\n').find(Boolean) ?? String(error ?? 'no answer'));
    console.log(`dependency audit: not available from this registry (${reason.trim()}); skipped`);
    return;
  }
  const serious = (counts.high ?? 0) + (counts.critical ?? 0);
  console.log(`dependency audit (production): ${JSON.stringify(counts)}`);
  if (serious > 0) {
    for (const [name, entry] of Object.entries(report.vulnerabilities ?? {})) {
      if (entry.severity === 'high' || entry.severity === 'critical') console.log(`  ${entry.severity}: ${name} (${entry.range})`);
    }
    process.exitCode = 1;
  }
});
