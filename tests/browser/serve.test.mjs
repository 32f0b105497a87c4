// scripts/serve.mjs: MIME types, COOP/COEP headers, index.html for folders, 404s, and no way out
// of the served folder (.., percent-encoded .., backslashes, symlinks). Plain node http client,
// which sends the request path verbatim (no client-side normalisation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { startServer, resolveUnderRoot } from '../../scripts/serve.mjs';

let root, outside, srv;

function get(rawPath, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path: rawPath, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  const base = mkdtempSync(path.join(tmpdir(), 'qp-serve-'));
  root = path.join(base, 'site');
  outside = path.join(base, 'secret.txt');
  mkdirSync(path.join(root, 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<p>home</p>');
  writeFileSync(path.join(root, 'sub', 'index.html'), '<p>sub</p>');
  for (const f of ['a.wasm', 'a.js', 'a.json', 'm.onnx', 'k.wgsl']) writeFileSync(path.join(root, f), 'x');
  writeFileSync(outside, 'top secret');
  symlinkSync(outside, path.join(root, 'link.txt'));
  srv = await startServer({ dir: root, port: 0, quiet: true });
});
after(async () => {
  await new Promise((r) => srv.server.close(r));
  rmSync(path.dirname(root), { recursive: true, force: true });
});

test('listens on 127.0.0.1 and prints a URL on that address', () => {
  assert.equal(srv.server.address().address, '127.0.0.1');
  assert.equal(srv.url, `http://127.0.0.1:${srv.port}/`);
});

test('MIME types and cross-origin isolation headers', async () => {
  const want = {
    '/a.wasm': 'application/wasm', '/a.js': 'text/javascript', '/index.html': 'text/html',
    '/a.json': 'application/json', '/m.onnx': 'application/octet-stream', '/k.wgsl': 'text/wgsl',
  };
  for (const [p, type] of Object.entries(want)) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.ok(r.headers['content-type'].startsWith(type), `${p}: ${r.headers['content-type']}`);
    assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
  }
});

test('folders serve their index.html; missing files are 404; HEAD has no body', async () => {
  assert.equal((await get('/')).body, '<p>home</p>');
  assert.equal((await get('/sub/')).body, '<p>sub</p>');
  assert.equal((await get('/nope.js')).status, 404);
  const h = await get('/a.js', 'HEAD');
  assert.equal(h.status, 200);
  assert.equal(h.body, '');
  assert.equal((await get('/a.js', 'POST')).status, 405);
});

test('no path leaves the served folder', async () => {
  for (const p of ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt',
                   '/..%5csecret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/link.txt', '/%00']) {
    const r = await get(p);
    assert.ok(r.status === 403 || r.status === 404, `${p} -> ${r.status}`);
    assert.ok(!r.body.includes('top secret'), `${p} leaked the file outside the root`);
  }
});

test('resolveUnderRoot itself rejects escapes that URL parsing would not normalise', () => {
  assert.equal(resolveUnderRoot(root, '/%2e%2e/secret.txt'), null);
  assert.equal(resolveUnderRoot(root, '/..%5c..%5csecret.txt'), null);
  assert.equal(resolveUnderRoot(root, '/a%00.js'), null);
  assert.equal(resolveUnderRoot(root, '/%zz'), null);
  assert.equal(resolveUnderRoot(root, '/sub/index.html'), path.join(root, 'sub', 'index.html'));
});
