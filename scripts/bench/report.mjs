// Tabulates the JSON lines written by scripts/bench.sh (build/bench/<program>-<env>.jsonl) into a
// markdown table: one row per (bench, case, variant, metric), one column per environment.
// Rows that carry "ratio_to" name another variant of the same bench/case/env; the ratio is shown.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] || 'build/bench';
const rows = new Map();
const envs = ['native', 'node', 'chromium'];
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
  const env = f.replace(/\.jsonl$/, '').split('-').pop();
  for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let r; try { r = JSON.parse(line); } catch { continue; }
    const key = [r.bench, r.case ?? '', r.variant ?? '', r.metric].join('\u0000');
    if (!rows.has(key)) rows.set(key, { bench: r.bench, case: r.case ?? '', variant: r.variant ?? '', metric: r.metric, v: {} });
    rows.get(key).v[env] = r.value;
  }
}
const fmt = (x) => (x === undefined ? '' : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));
console.log(`| bench | case | variant | metric | ${envs.join(' | ')} |`);
console.log(`|---|---|---|---|${envs.map(() => '---:').join('|')}|`);
for (const r of rows.values()) {
  console.log(`| ${r.bench} | ${r.case} | ${r.variant} | ${r.metric} | ${envs.map((e) => fmt(r.v[e])).join(' | ')} |`);
}
