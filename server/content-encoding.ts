/**
 * Content codings for the files the server hands out: which ones exist, how a file is
 * compressed (the same settings at build time and as a fallback at run time), and which one a
 * request's `Accept-Encoding` asks for (RFC 9110 §12.5.3). No per-request compression: the
 * server only picks among bodies compressed once.
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, gunzip, gzip } from 'node:zlib';

/** Preferred first: brotli is ~15 % smaller than gzip on the bundles. */
export const ENCODINGS = ['br', 'gzip'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** File name suffix of a precompressed sidecar (`p2p-call.js.br`, `p2p-call.js.gz`). */
export const SIDECAR_SUFFIX: Readonly<Record<Encoding, string>> = { br: '.br', gzip: '.gz' };

/** Extensions of text files worth compressing; images such as PNG are compressed already. */
export const COMPRESSIBLE_EXTENSIONS: ReadonlySet<string> = new Set(['.html', '.js', '.mjs', '.css', '.svg', '.json', '.map', '.webmanifest']);

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);
const unbrotliAsync = promisify(brotliDecompress);
const gunzipAsync = promisify(gunzip);

/** Best compression: done once per file version, so the time is worth the bytes. */
export function compress(body: Buffer, encoding: Encoding): Promise<Buffer> {
  if (encoding === 'br') {
    return brotliAsync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    });
  }
  return gzipAsync(body, { level: constants.Z_BEST_COMPRESSION });
}

export function decompress(body: Buffer, encoding: Encoding): Promise<Buffer> {
  return encoding === 'br' ? unbrotliAsync(body) : gunzipAsync(body);
}

/**
 * The coding to answer with, among `available` (in our order of preference), for an
 * `Accept-Encoding` header; `identity` when none is acceptable or the header is absent.
 * `q=0` refuses a coding; `*` stands for every coding not named.
 */
export function negotiateEncoding(header: string | undefined, available: readonly Encoding[]): Encoding | 'identity' {
  if (header === undefined || available.length === 0) return 'identity';
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    if (name === '') continue;
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(param);
      if (match !== null) q = Number(match[1]);
    }
    weights.set(name.trim(), Number.isFinite(q) ? q : 0);
  }
  let best: Encoding | 'identity' = 'identity';
  let bestQ = 0;
  for (const encoding of available) {
    // `x-gzip` is the old spelling browsers no longer send, but proxies may.
    const q = weights.get(encoding) ?? (encoding === 'gzip' ? weights.get('x-gzip') : undefined) ?? weights.get('*') ?? 0;
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  return best;
}
