// The gateway's own contract rules (shared/STANDARDS.md, "Governance rules"), one
// check per rule in .spectral.yaml: each rule calls this function on the whole
// document with `check` naming what to verify.

const METHODS = ["get", "put", "post", "patch", "delete"];

function* operations(document) {
  for (const [path, item] of Object.entries(document.paths || {})) {
    for (const method of METHODS) {
      if (item && typeof item[method] === "object") {
        yield { path, method, operation: item[method], at: ["paths", path, method] };
      }
    }
  }
}

function resolve(document, node) {
  let current = node;
  for (let hops = 0; current && current.$ref && hops < 10; hops += 1) {
    const parts = current.$ref.replace(/^#\//, "").split("/");
    current = parts.reduce((value, part) => (value ? value[part] : undefined), document);
  }
  return current;
}

function responsesOf(operation) {
  return Object.entries(operation.responses || {});
}

function headerParameter(document, operation, name) {
  return (operation.parameters || [])
    .map((p) => resolve(document, p))
    .find((p) => p && p.in === "header" && p.name.toLowerCase() === name.toLowerCase());
}

function queryParameter(document, operation, name) {
  return (operation.parameters || [])
    .map((p) => resolve(document, p))
    .find((p) => p && p.in === "query" && p.name === name);
}

function types(schema) {
  if (!schema) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

const checks = {
  // Every error response is problem+json with the shared Problem schema.
  problemDetails(document, options) {
    const exempt = new Set(options.exemptOperations || []);
    const exemptResponses = new Set(options.exemptResponses || []);
    const results = [];
    for (const { operation, at } of operations(document)) {
      if (exempt.has(operation.operationId)) continue;
      for (const [status, raw] of responsesOf(operation)) {
        if (!/^[45]/.test(status) || exemptResponses.has(`${operation.operationId} ${status}`)) continue;
        const response = resolve(document, raw) || {};
        const content = response.content || {};
        const media = content["application/problem+json"];
        const ref = media && media.schema && media.schema.$ref;
        if (Object.keys(content).length !== 1 || ref !== "#/components/schemas/Problem") {
          results.push({
            message: `${operation.operationId} ${status} must be application/problem+json with the Problem schema`,
            path: [...at, "responses", status],
          });
        }
      }
    }
    return results;
  },

  // POSTs that create orders, invoices or payments require Idempotency-Key and document 400/409/422.
  idempotencyKey(document, options) {
    const money = new RegExp(options.moneyMovingPaths);
    const results = [];
    for (const { path, method, operation, at } of operations(document)) {
      if (method !== "post" || !money.test(path)) continue;
      const key = headerParameter(document, operation, "Idempotency-Key");
      if (!key || key.required !== true || !key.schema || !key.schema.pattern) {
        results.push({
          message: `${operation.operationId} must require an Idempotency-Key header with a pattern`,
          path: [...at, "parameters"],
        });
      }
      for (const status of ["400", "409", "422"]) {
        if (!(operation.responses || {})[status]) {
          results.push({
            message: `${operation.operationId} must document ${status} for Idempotency-Key failures`,
            path: [...at, "responses"],
          });
        }
      }
    }
    return results;
  },

  // PATCH requires If-Match and documents 412 and 428; a GET of one resource declares ETag.
  conditionalRequests(document) {
    const results = [];
    for (const { path, method, operation, at } of operations(document)) {
      if (method === "patch") {
        const ifMatch = headerParameter(document, operation, "If-Match");
        if (!ifMatch || ifMatch.required !== true) {
          results.push({ message: `${operation.operationId} must require If-Match`, path: [...at, "parameters"] });
        }
        for (const status of ["412", "428"]) {
          if (!(operation.responses || {})[status]) {
            results.push({ message: `${operation.operationId} must document ${status}`, path: [...at, "responses"] });
          }
        }
      }
      if (method === "get" && /\}$/.test(path)) {
        const ok = resolve(document, (operation.responses || {})["200"]) || {};
        if (!(ok.headers || {}).ETag) {
          results.push({ message: `${operation.operationId} 200 must declare ETag`, path: [...at, "responses", "200"] });
        }
      }
    }
    return results;
  },

  // Rate-limited operations (those that can answer 429) declare RateLimit and
  // RateLimit-Policy on 2xx and 4xx, and Retry-After on 429. Auth answers 401/403 of
  // bearer-secured operations before the limiter runs, so those carry none.
  rateLimitHeaders(document, options) {
    const beforeLimiter = new Set(options.answeredBeforeTheLimiter || []);
    const results = [];
    for (const { operation, at } of operations(document)) {
      const responses = operation.responses || {};
      if (!responses["429"]) continue;
      const bearer = (operation.security || []).some((r) => Object.keys(r).includes("bearerAuth"));
      for (const [status, raw] of Object.entries(responses)) {
        const headers = (resolve(document, raw) || {}).headers || {};
        const counted = /^[24]/.test(status) && !(bearer && beforeLimiter.has(status));
        for (const name of ["RateLimit", "RateLimit-Policy"]) {
          if (counted && !headers[name]) {
            results.push({ message: `${operation.operationId} ${status} must declare ${name}`, path: [...at, "responses", status] });
          }
        }
        if (status === "429" && !(headers["Retry-After"] && headers["Retry-After"].required === true)) {
          results.push({ message: `${operation.operationId} 429 must require Retry-After`, path: [...at, "responses", status] });
        }
      }
    }
    return results;
  },

  // Canonical ids: `<prefix>_` + a ULID, wherever a canonical id is named.
  canonicalIds(document, options) {
    const prefixes = options.prefixes;
    const expected = (prefix) => `^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`;
    const results = [];
    const checkSchema = (schema, prefix, path) => {
      const resolved = resolve(document, schema) || {};
      if (!types(resolved).includes("string") || resolved.pattern !== expected(prefix)) {
        results.push({ message: `must be a string with pattern ${expected(prefix)}`, path });
      }
    };
    for (const [name, schema] of Object.entries((document.components || {}).schemas || {})) {
      const resource = options.resources[name];
      for (const [member, property] of Object.entries(schema.properties || {})) {
        const path = ["components", "schemas", name, "properties", member];
        if (member === "id" && resource) checkSchema(property, prefixes[resource], path);
        const named = member.match(/^([a-z]+)_id$/);
        if (named && prefixes[named[1]]) checkSchema(property, prefixes[named[1]], path);
      }
    }
    for (const { operation, at } of operations(document)) {
      (operation.parameters || []).forEach((raw, index) => {
        const parameter = resolve(document, raw);
        const named = parameter && parameter.name.match(/^([a-z]+)_id$/);
        if (named && prefixes[named[1]]) {
          checkSchema(parameter.schema, prefixes[named[1]], [...at, "parameters", index, "schema"]);
        }
      });
    }
    return results;
  },

  // Money is {amount: decimal string, currency: ISO 4217}; no money member is a number.
  moneyShape(document, options) {
    const results = [];
    const schemas = (document.components || {}).schemas || {};
    const money = schemas.Money;
    const at = ["components", "schemas", "Money"];
    if (!money) return [{ message: "the Money schema is missing", path: ["components", "schemas"] }];
    const properties = money.properties || {};
    const required = new Set(money.required || []);
    if (Object.keys(properties).sort().join(",") !== "amount,currency" || !required.has("amount") || !required.has("currency")) {
      results.push({ message: "Money has exactly the required members amount and currency", path: at });
    }
    const amount = properties.amount || {};
    if (!types(amount).includes("string") || !amount.pattern || !/\[0-9\]/.test(amount.pattern)) {
      results.push({ message: "Money.amount is a decimal string with a pattern", path: [...at, "properties", "amount"] });
    }
    const currency = properties.currency || {};
    const iso = Array.isArray(currency.enum)
      ? currency.enum.length > 100 && currency.enum.every((c) => /^[A-Z]{3}$/.test(c))
      : currency.pattern === "^[A-Z]{3}$";
    if (!iso) {
      results.push({ message: "Money.currency is an ISO 4217 code", path: [...at, "properties", "currency"] });
    }
    if (money.additionalProperties !== false) {
      results.push({ message: "Money takes no other members", path: at });
    }
    const moneyName = new RegExp(options.moneyMembers);
    for (const [name, schema] of Object.entries(schemas)) {
      for (const [member, property] of Object.entries(schema.properties || {})) {
        const t = types(property);
        if (moneyName.test(member) && (t.includes("number") || t.includes("integer"))) {
          results.push({ message: `${name}.${member} is money: use the Money schema, never a number`, path: ["components", "schemas", name, "properties", member] });
        }
      }
    }
    return results;
  },

  // Collection GETs (a `data` array and `next_cursor`) take limit with a maximum and cursor.
  cursorPagination(document, options) {
    const results = [];
    for (const { method, operation, at } of operations(document)) {
      if (method !== "get") continue;
      const ok = resolve(document, (operation.responses || {})["200"]) || {};
      const media = (ok.content || {})["application/json"];
      const body = resolve(document, media && media.schema) || {};
      const properties = body.properties || {};
      if (!properties.data || !types(resolve(document, properties.data)).includes("array")) continue;
      const limit = queryParameter(document, operation, "limit");
      const maximum = limit && limit.schema && limit.schema.maximum;
      if (!limit || typeof maximum !== "number" || maximum > options.maxLimit) {
        results.push({ message: `${operation.operationId} must take limit with a maximum <= ${options.maxLimit}`, path: [...at, "parameters"] });
      }
      if (!queryParameter(document, operation, "cursor")) {
        results.push({ message: `${operation.operationId} must take cursor`, path: [...at, "parameters"] });
      }
      if (!properties.next_cursor) {
        results.push({ message: `${operation.operationId} 200 must carry next_cursor`, path: [...at, "responses", "200"] });
      }
    }
    return results;
  },

  // The version is in the path, apart from the few unversioned infrastructure paths.
  versionedPaths(document, options) {
    const unversioned = new RegExp(options.unversioned);
    return Object.keys(document.paths || {})
      .filter((path) => !/^\/v[0-9]+\//.test(path) && !unversioned.test(path))
      .map((path) => ({ message: `${path} must start with the API version (/v1/...)`, path: ["paths", path] }));
  },

  // Deprecated operations declare Deprecation, Sunset and Link on their 2xx responses.
  deprecationHeaders(document) {
    const results = [];
    for (const { operation, at } of operations(document)) {
      if (operation.deprecated !== true) continue;
      for (const [status, raw] of responsesOf(operation)) {
        if (!/^2/.test(status)) continue;
        const headers = (resolve(document, raw) || {}).headers || {};
        for (const name of ["Deprecation", "Sunset", "Link"]) {
          if (!headers[name]) {
            results.push({ message: `deprecated ${operation.operationId} ${status} must declare ${name}`, path: [...at, "responses", status] });
          }
        }
      }
    }
    return results;
  },

  // Every scope an operation asks for is one the OAuth 2.0 flow grants.
  declaredScopes(document) {
    const schemes = (document.components || {}).securitySchemes || {};
    const granted = new Set();
    for (const scheme of Object.values(schemes)) {
      for (const flow of Object.values(scheme.flows || {})) {
        Object.keys(flow.scopes || {}).forEach((s) => granted.add(s));
      }
    }
    const results = [];
    for (const { operation, at } of operations(document)) {
      (operation.security || []).forEach((requirement, index) => {
        for (const [scheme, scopes] of Object.entries(requirement)) {
          if (!schemes[scheme]) {
            results.push({ message: `unknown security scheme ${scheme}`, path: [...at, "security", index] });
          }
          for (const scope of scopes) {
            if (!granted.has(scope)) {
              results.push({ message: `scope ${scope} is not granted by any OAuth 2.0 flow`, path: [...at, "security", index, scheme] });
            }
          }
        }
      });
    }
    return results;
  },

  // JSON request bodies reject unknown members (the server answers 422 for them).
  closedRequestBodies(document) {
    const results = [];
    for (const { operation, at } of operations(document)) {
      const body = resolve(document, operation.requestBody);
      const media = body && (body.content || {})["application/json"];
      if (!media) continue;
      const schema = resolve(document, media.schema) || {};
      if (schema.additionalProperties !== false) {
        results.push({ message: `${operation.operationId} request body must say additionalProperties: false`, path: [...at, "requestBody"] });
      }
    }
    return results;
  },
};

export default (input, options) => {
  const check = checks[options.check];
  if (!check) return [{ message: `unknown q2c check ${options.check}` }];
  return check(input, options);
};
