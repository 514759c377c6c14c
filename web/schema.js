// Checks a response body against the response schemas of /openapi.json
// (docs/openapi.json, OpenAPI 3.0). The same module runs in the console (its
// developer mode, docs/console.md) and in node (tests/browser/schemas.test.mjs).
//
// It covers the part of OpenAPI 3.0's schema language that docs/openapi.json
// uses: $ref (within the document), type, nullable, enum, required,
// properties, additionalProperties (false, true or a schema), items, oneOf,
// anyOf, allOf, pattern, format date-time and date, minimum and maximum. A
// schema keyword this module does not know is an error, so that the document
// cannot drift into saying something nothing checks.

const KNOWN = new Set(['$ref', 'type', 'nullable', 'enum', 'required', 'properties', 'additionalProperties',
  'items', 'oneOf', 'anyOf', 'allOf', 'pattern', 'format', 'minimum', 'maximum', 'description', 'example']);
const FORMATS = {
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
};

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function resolve(doc, schema) {
  let s = schema;
  for (let hops = 0; s && s.$ref; hops++) {
    if (hops > 32 || !s.$ref.startsWith('#/')) throw new Error(`unresolvable $ref ${s.$ref}`);
    s = s.$ref.slice(2).split('/').reduce((o, k) => (o == null ? o : o[k.replace(/~1/g, '/').replace(/~0/g, '~')]), doc);
    if (!s) throw new Error(`unresolvable $ref ${schema.$ref}`);
  }
  return s;
}

// Every way `value` breaks `schema`, as "path: what" strings ([] when it fits).
export function validate(doc, schema, value, at = '$', errors = []) {
  const s = resolve(doc, schema);
  for (const k of Object.keys(s)) if (!KNOWN.has(k) && !k.startsWith('x-')) errors.push(`${at}: the schema uses '${k}', which this checker does not know`);
  if (value === null) {
    if (!s.nullable && s.type !== undefined) errors.push(`${at}: null where ${s.type} is documented (not nullable)`);
    if (s.type !== undefined || s.nullable) return errors;
  }
  const t = typeOf(value);
  if (s.type && !(s.type === t || (s.type === 'number' && t === 'integer'))) {
    errors.push(`${at}: ${t} where ${s.type} is documented`);
    return errors;
  }
  if (s.enum && !s.enum.some((e) => e === value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (t === 'string') {
    if (s.pattern && !new RegExp(s.pattern, 'u').test(value)) errors.push(`${at}: ${JSON.stringify(value)} does not match ${s.pattern}`);
    if (s.format && FORMATS[s.format] && !FORMATS[s.format].test(value)) errors.push(`${at}: ${JSON.stringify(value)} is not a ${s.format}`);
  }
  if (t === 'integer' || t === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${at}: ${value} is below the minimum ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${at}: ${value} is above the maximum ${s.maximum}`);
  }
  if (t === 'array' && s.items) value.forEach((v, i) => validate(doc, s.items, v, `${at}[${i}]`, errors));
  if (t === 'object') {
    for (const r of s.required || []) if (!(r in value)) errors.push(`${at}: the required member '${r}' is missing`);
    const props = s.properties || {};
    for (const [k, v] of Object.entries(value)) {
      if (k in props) validate(doc, props[k], v, `${at}.${k}`, errors);
      else if (s.additionalProperties === false) errors.push(`${at}: '${k}' is not documented`);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') validate(doc, s.additionalProperties, v, `${at}.${k}`, errors);
    }
  }
  if (s.allOf) for (const sub of s.allOf) validate(doc, sub, value, at, errors);
  for (const kw of ['oneOf', 'anyOf']) {
    if (!s[kw]) continue;
    const fits = s[kw].map((sub) => validate(doc, sub, value, at, []));
    const n = fits.filter((e) => e.length === 0).length;
    if (n === 0) errors.push(`${at}: fits none of ${kw} (${fits.map((e, i) => `#${i}: ${e[0]}`).join('; ')})`);
    else if (kw === 'oneOf' && n > 1) errors.push(`${at}: fits ${n} of oneOf, not exactly one`);
  }
  return errors;
}

// The OpenAPI path template that a request path falls under ("/v1/referrals/7"
// is "/v1/referrals/{id}"); a literal path wins over a template, as in the
// server's router (src/server/router.c).
export function templateOf(doc, method, urlPath) {
  const p = urlPath.split('?')[0];
  const m = method.toLowerCase();
  const paths = Object.keys(doc.paths || {}).filter((t) => doc.paths[t][m]);
  if (paths.includes(p)) return p;
  const segs = p.split('/');
  return paths.find((t) => {
    const ts = t.split('/');
    return ts.length === segs.length && ts.every((x, i) => (/^\{.+\}$/.test(x) ? segs[i] !== '' : x === segs[i]));
  }) ?? null;
}

// The schema documented for METHOD PATH answering STATUS with TYPE (its media
// type, parameters dropped): { template, schema } or { error }.
export function responseSchema(doc, method, urlPath, status, type) {
  const template = templateOf(doc, method, urlPath);
  if (!template) return { error: `${method} ${urlPath} is not documented` };
  const op = doc.paths[template][method.toLowerCase()];
  const res = op.responses?.[String(status)] ?? op.responses?.default;
  if (!res) return { template, error: `${method} ${template}: status ${status} is not documented` };
  const r = resolve(doc, res);
  const mt = String(type || '').split(';')[0].trim();
  if (!r.content) return mt ? { template, error: `${method} ${template} ${status}: documented without a body, answered ${mt}` } : { template, schema: null };
  const c = r.content[mt];
  if (!c) return { template, error: `${method} ${template} ${status}: ${mt || 'no body'} is not a documented media type (${Object.keys(r.content).join(', ')})` };
  return { template, schema: c.schema ?? null };
}

// Check one response: [] when its JSON body fits the documented schema.
export function checkResponse(doc, method, urlPath, status, type, body) {
  const rs = responseSchema(doc, method, urlPath, status, type);
  if (rs.error) return [rs.error];
  if (!rs.schema || !/json/.test(type || '')) return [];
  return validate(doc, rs.schema, body).map((e) => `${method} ${rs.template} ${status}: ${e}`);
}
