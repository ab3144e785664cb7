/** Where the package's own files (demo/, dist/) are, and its version, whether running from source or from dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('p2p-call: cannot find the package root (package.json) above the server files');
}

/** The `version` field of the package's package.json (what `/v/<version>/` serves). */
export function packageVersion(root: string = packageRoot()): string {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof version !== 'string' || version === '') throw new Error('p2p-call: package.json has no version');
  return version;
}
