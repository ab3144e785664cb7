/**
 * Files answered from memory with a strong ETag: read once, hashed once, re-read only when the
 * file on disk changes (a rebuild is picked up without a restart). Used for the script-tag
 * bundles and the demo files; which path maps to which file is http.ts's business.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';

export interface CachedFile {
  readonly body: Buffer;
  /** Strong validator: a hash of the content, quoted (`"…"`). */
  readonly etag: string;
}

interface Entry extends CachedFile {
  /** What the file looked like on disk when `body` was read. */
  readonly version: string;
}

/** Content types by extension, for everything the server hands out as a file. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** A content cache keyed by absolute path; an entry is valid while the file's stat is unchanged. */
export class FileCache {
  private readonly entries = new Map<string, Entry>();

  /** The file's content and ETag, or `undefined` if it is missing or not a regular file. */
  async get(path: string): Promise<CachedFile | undefined> {
    let handle;
    try {
      handle = await open(path, 'r');
    } catch {
      this.entries.delete(path);
      return undefined;
    }
    try {
      // Stat and read through the same handle, so the content matches the version it is cached under.
      const stat = await handle.stat();
      if (!stat.isFile()) return undefined;
      const version = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
      const cached = this.entries.get(path);
      if (cached?.version === version) return cached;
      const body = await handle.readFile();
      const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
      const entry: Entry = { body, etag, version };
      this.entries.set(path, entry);
      return entry;
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  }
}

/**
 * Answers with `file`: 304 when `If-None-Match` names its ETag, else 200 with the body (none for
 * HEAD). `headers` (Content-Type, Cache-Control, CORS…) go on both.
 */
export function sendFile(req: IncomingMessage, res: ServerResponse, file: CachedFile, headers: Record<string, string>): void {
  const common = { ...headers, ETag: file.etag, 'X-Content-Type-Options': 'nosniff' };
  if (matchesEtag(req.headers['if-none-match'], file.etag)) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  res.writeHead(200, { ...common, 'Content-Length': file.body.length });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

/** `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored; `*` matches. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
