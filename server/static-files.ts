/**
 * Files answered from memory with a strong ETag: read once, hashed once, re-read only when the
 * file on disk changes (a rebuild is picked up without a restart). Used for the script-tag
 * bundles and the demo files; which path maps to which file is http.ts's business.
 *
 * Text files also have brotli and gzip bodies, taken from the sidecars the build writes
 * (`p2p-call.js.br`, `p2p-call.js.gz`, see scripts/precompress.mjs) or, when a sidecar is
 * missing or does not match the file, compressed here once per file version. Each coding has
 * its own ETag, since its bytes differ (RFC 9110 §8.8.3).
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { COMPRESSIBLE_EXTENSIONS, ENCODINGS, SIDECAR_SUFFIX, compress, decompress, negotiateEncoding, type Encoding } from './content-encoding.js';

/** One set of bytes the server may send for a file, with its own validator. */
export interface Representation {
  readonly body: Buffer;
  /** Strong validator, quoted (`"…"`). */
  readonly etag: string;
}

export interface CachedFile extends Representation {
  /** Compressed bodies, only those smaller than the file itself; empty for images. */
  readonly encoded: Readonly<Partial<Record<Encoding, Representation>>>;
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
      const hash = createHash('sha256').update(body).digest('base64url');
      const encoded = COMPRESSIBLE_EXTENSIONS.has(extname(path).toLowerCase()) ? await encodingsOf(path, body, hash) : {};
      const entry: Entry = { body, etag: `"${hash}"`, encoded, version };
      this.entries.set(path, entry);
      return entry;
    } catch {
      return undefined;
    } finally {
      await handle.close();
    }
  }
}

/** ETag suffix per coding: the same content hash, told apart by coding. */
const ETAG_SUFFIX: Readonly<Record<Encoding, string>> = { br: '-br', gzip: '-gz' };

/**
 * The compressed bodies of a text file: each build-time sidecar that decompresses to exactly
 * `body` (a stale one left by an older build does not), else compressed now. A coding that does
 * not make the file smaller is left out.
 */
async function encodingsOf(path: string, body: Buffer, hash: string): Promise<Partial<Record<Encoding, Representation>>> {
  const encoded: Partial<Record<Encoding, Representation>> = {};
  for (const encoding of ENCODINGS) {
    const sidecar: Buffer | undefined = await readFile(path + SIDECAR_SUFFIX[encoding]).catch(() => undefined);
    const fresh = sidecar !== undefined && (await decompress(sidecar, encoding).then((plain) => plain.equals(body), () => false));
    const compressed: Buffer = fresh ? sidecar : await compress(body, encoding);
    if (compressed.length < body.length) encoded[encoding] = { body: compressed, etag: `"${hash}${ETAG_SUFFIX[encoding]}"` };
  }
  return encoded;
}

/**
 * Answers with `file` in the coding the request accepts best: 304 when `If-None-Match` names
 * that representation's ETag, else 200 with its body (none for HEAD). `headers` (Content-Type,
 * Cache-Control, CORS…) go on both; `Vary: Accept-Encoding` on every answer for a file that
 * has codings, so caches keep the representations apart.
 */
export function sendFile(req: IncomingMessage, res: ServerResponse, file: CachedFile, headers: Record<string, string>): void {
  const available = ENCODINGS.filter((encoding) => file.encoded[encoding] !== undefined);
  const encoding = negotiateEncoding(req.headers['accept-encoding'], available);
  const chosen: Representation = encoding === 'identity' ? file : (file.encoded[encoding] ?? file);
  const common: Record<string, string> = { ...headers, ETag: chosen.etag, 'X-Content-Type-Options': 'nosniff' };
  if (available.length > 0) common['Vary'] = 'Accept-Encoding';
  if (matchesEtag(req.headers['if-none-match'], chosen.etag)) {
    res.writeHead(304, common);
    res.end();
    return;
  }
  if (encoding !== 'identity') common['Content-Encoding'] = encoding;
  res.writeHead(200, { ...common, 'Content-Length': chosen.body.length });
  res.end(req.method === 'HEAD' ? undefined : chosen.body);
}

/** `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored; `*` matches. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
