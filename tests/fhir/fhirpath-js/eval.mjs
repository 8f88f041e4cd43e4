// fhirpath.js (npm `fhirpath`, R4 model) over a list of {expression, file}
// pairs: the second opinion of tests/integration/fhirpath_differential.py.
// Tests only.
//   node eval.mjs PAIRS.json
// PAIRS.json is a JSON array of {"expression": "...", "file": "path"}, or an
// object {"expressions": [...], "files": [...]} meaning every expression on
// every file. Prints one JSON line per pair, in order: {"ok":true,"result":[...]}
// or {"ok":false,"error":"..."} when the expression fails to parse or evaluate.
import { readFileSync } from 'node:fs';
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4/index.js';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let pairs = spec;
if (!Array.isArray(spec)) {
  pairs = [];
  for (const file of spec.files)
    for (const expression of spec.expressions) pairs.push({ expression, file });
}

const resources = new Map();
const compiled = new Map();
const options = { traceFn: () => {} };
const lines = [];
for (const { expression, file } of pairs) {
  let line;
  try {
    if (!resources.has(file)) resources.set(file, JSON.parse(readFileSync(file, 'utf8')));
    let fn = compiled.get(expression);
    if (!fn) {
      fn = fhirpath.compile(expression, r4model, options);
      compiled.set(expression, fn);
    }
    // A fresh copy: fhirpath.js may annotate what it walks.
    const resource = structuredClone(resources.get(file));
    // %resource and %rootResource: the resource itself, as for an invariant.
    const result = fn(resource, { resource, rootResource: resource });
    if (result instanceof Promise) throw new Error('asynchronous result');
    line = JSON.stringify({ ok: true, result });
  } catch (e) {
    line = JSON.stringify({ ok: false, error: String(e && e.message || e).split('\n')[0] });
  }
  lines.push(line);
}
process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
