#!/usr/bin/env node
// Dependency-free static file server for the qplay web bundle (or any folder), for local use:
// binds 127.0.0.1 by default, sends COOP/COEP so the page is cross-origin isolated (SharedArray-
// Buffer, precise performance.now()), serves correct MIME types, refuses paths outside the root.
// Usage: node scripts/serve.mjs --dir build/wasm/web/dist [--port 8080] [--host 127.0.0.1]
//   --port 0 picks a free port. Prints "qplay: serving <dir> at <url>" once listening.
import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.wgsl': 'text/wgsl; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.npy': 'application/octet-stream',
  '.data': 'application/octet-stream',
  '.gz': 'application/gzip',
};

function parseArgs(argv) {
  const opts = { dir: '.', port: 8080, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [key, inline] = a.includes('=') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (key === '--dir') opts.dir = value();
    else if (key === '--port') opts.port = Number(value());
    else if (key === '--host') opts.host = value();
    else if (key === '--help' || key === '-h') {
      console.log('usage: serve.mjs --dir DIR [--port 8080] [--host 127.0.0.1]');
      process.exit(0);
    } else {
      console.error(`serve.mjs: unknown argument '${a}' (try --help)`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    console.error(`serve.mjs: --port '${opts.port}' is not an integer in [0, 65535]`);
    process.exit(2);
  }
  return opts;
}

// Maps a request path to a file under root, or null when it would escape the root (after
// percent-decoding, so "%2e%2e/" is caught too) or contains a NUL byte.
export function resolveUnderRoot(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const rel = path.normalize('.' + path.posix.sep + decoded.replace(/\\/g, '/'));
  const full = path.resolve(root, rel);
  if (full !== root && !full.startsWith(root + path.sep)) return null;
  return full;
}

export function startServer({ dir, port = 8080, host = '127.0.0.1', quiet = false }) {
  const root = path.resolve(dir);
  const server = createServer(async (req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
    };
    const send = (code, text) => {
      res.writeHead(code, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(text + '\n');
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let file = resolveUnderRoot(root, new URL(req.url, 'http://localhost').pathname);
    if (file === null) return send(403, 'forbidden: path outside the served folder');
    try {
      let st = await fs.stat(file);
      if (st.isDirectory()) {
        file = path.join(file, 'index.html');
        st = await fs.stat(file);
      }
      if (!st.isFile()) return send(404, 'not found');
      // Symlinks must not lead out of the root either.
      const real = await fs.realpath(file);
      const realRoot = await fs.realpath(root);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
        return send(403, 'forbidden: path outside the served folder');
      }
      const type = MIME[path.extname(file).toLowerCase()] || 'application/octet-stream';
      res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': st.size });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch {
      send(404, 'not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      const url = `http://${shownHost}:${addr.port}/`;
      if (!quiet) console.log(`qplay: serving ${root} at ${url}`);
      resolve({ server, url, port: addr.port });
    });
  });
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const opts = parseArgs(process.argv.slice(2));
  try {
    const st = await fs.stat(opts.dir);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch {
    console.error(`serve.mjs: --dir '${opts.dir}' is not a directory (build the web bundle first)`);
    process.exit(1);
  }
  startServer(opts).catch((e) => {
    console.error(`serve.mjs: cannot listen on ${opts.host}:${opts.port}: ${e.message}`);
    process.exit(1);
  });
}
