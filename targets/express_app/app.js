'use strict'
// Express reference app: the benchmark contract, as served by the FastAPI app in
// ../fastapi_app and described by ../../contract/openapi.json. Every status code and body
// shape, errors included, is the FastAPI app's; comments say where that took extra work.

const { isUtf8 } = require('node:buffer')
const { STATUS_CODES } = require('node:http')
const express = require('express')
const { z } = require('zod')
const compat = require('./pydantic-compat')
const { Conflict, Unavailable, randomWorldNumber, storeFromEnv } = require('./store')

const MAX_BODY_BYTES = 1024 * 1024
const CPU_MAX_N = 100_000
const CPU_DEFAULT_N = 10_000
const IO_MAX_MS = 1000
const IO_DEFAULT_MS = 20
// Beyond this an offset would not survive as a JavaScript number; both apps refuse it.
const OFFSET_MAX = Number.MAX_SAFE_INTEGER
// TechEmpower's bound on the number of rows per request of /queries and /updates.
const QUERIES_MAX = 500
// An integer as TechEmpower's `queries` parameter is read (ASCII digits, an optional sign), alike in both apps.
const INTEGER = /^[+-]?[0-9]+$/
// Python's json module recurses once per nested array/object, and in the FastAPI app
// CPython's recursion limit stops it past 968 levels: a 400 there. Deeper JSON is refused
// here too (V8 would parse it, then fail to echo it back in a 422).
const MAX_JSON_DEPTH = 968

const app = express()
app.disable('x-powered-by')
// FastAPI sends no ETag and so never answers 304; hashing every body would be extra work.
app.disable('etag')
// Starlette matches paths case-sensitively and "/users/" is not "/users".
app.set('case sensitive routing', true)
app.set('strict routing', true)

// A Server header on every answer, as Uvicorn sends one ("uvicorn"): TechEmpower's verifier fails
// any URL without it (toolset/test_types/verifications.py, verify_headers), and Node sends none.
// Node already sends Date, fresh each second, which the verifier also requires.
function serverHeader (req, res, next) {
  res.setHeader('Server', 'Express')
  next()
}

// Test-only knob for the harness's regression tests: busy-wait SLOWDOWN_US microseconds (decimals
// allowed) before every request. It lives in the header's middleware rather than a layer of its own,
// so that it adds its busy-wait and nothing else (a layer of its own cost about 1 µs a request, which
// made an injected 5% measure 3%). Unset or 0 installs the plain middleware: no trace of the knob.
const slowdownUs = Number(process.env.SLOWDOWN_US || 0)
if (!(slowdownUs >= 0)) throw new Error(`SLOWDOWN_US must be a number >= 0, not ${process.env.SLOWDOWN_US}`)
const slowdownNs = BigInt(Math.round(slowdownUs * 1000))
app.use(slowdownNs > 0n
  ? (req, res, next) => {
      const deadline = process.hrtime.bigint() + slowdownNs
      while (process.hrtime.bigint() < deadline);
      serverHeader(req, res, next)
    }
  : serverHeader)

// ---- validation: zod schemas, errors reported in FastAPI's 422 shape ----------------------

/** A zod transform from a pydantic-compat check ({value} or {error}). */
function pydanticCheck (check) {
  return (raw, ctx) => {
    const result = check(raw)
    if (result.error === undefined) return result.value
    ctx.issues.push({ code: 'custom', message: result.error.msg, input: raw, params: result.error })
    return z.NEVER
  }
}

// No NUL characters: PostgreSQL's text cannot hold them, and both stores answer alike (422).
// FastAPI's `pattern`, checked after the length, as pydantic-core does.
const NO_NUL = '^[^\\x00]*$'
function noNul (checked) {
  if (checked.error !== undefined || !checked.value.includes('\0')) return checked
  return { error: compat.error('string_pattern_mismatch', `String should match pattern '${NO_NUL}'`, checked.value, { pattern: NO_NUL }) }
}

const intString = z.string().transform(pydanticCheck(compat.parseInt))
const intParam = (min, max) => intString.pipe(z.number().min(min).max(max))

const UserIn = z.object({
  name: z.string().transform(pydanticCheck(raw => noNul(compat.checkString(raw, 1, 100)))),
  email: z.string().transform(pydanticCheck(raw => {
    const checked = compat.checkString(raw, 0, Infinity)
    return checked.error === undefined ? compat.validateEmail(raw) : checked
  }))
})
const UserPath = z.object({ user_id: intString })
const ListQuery = z.object({
  limit: intParam(1, 100).default(20),
  offset: intParam(0, OFFSET_MAX).default(0)
})
const CpuQuery = z.object({ n: intParam(0, CPU_MAX_N).default(CPU_DEFAULT_N) })
const IoQuery = z.object({ ms: intParam(0, IO_MAX_MS).default(IO_DEFAULT_MS) })

/** zod issues -> FastAPI error items ({type, loc, msg, input, ctx}); raw is what was checked. */
function pydanticErrors (issues, where, raw) {
  return issues.map(issue => {
    const loc = [where, ...issue.path]
    const input = issue.path.length === 0 ? raw : raw?.[issue.path[0]]
    if (issue.code === 'custom') return { ...issue.params, loc }
    if (issue.code === 'too_small') {
      return { type: 'greater_than_equal', loc, msg: `Input should be greater than or equal to ${issue.minimum}`, input, ctx: { ge: issue.minimum } }
    }
    if (issue.code === 'too_big') {
      return { type: 'less_than_equal', loc, msg: `Input should be less than or equal to ${issue.maximum}`, input, ctx: { le: issue.maximum } }
    }
    if (input === undefined) {
      // Pydantic reports a missing field with the object it was missing from.
      const container = issue.path.length === 0 ? null : raw
      return { type: 'missing', loc, msg: 'Field required', input: container }
    }
    if (issue.path.length === 0 && where === 'body') {
      return { type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object to extract fields from', input }
    }
    return { type: 'string_type', loc, msg: 'Input should be a valid string', input }
  })
}

/** Validate several parts of a request; answer 422 with all their errors, as FastAPI does. */
function validate (res, parts) {
  const values = []
  const errors = []
  for (const [schema, where, raw] of parts) {
    const result = schema.safeParse(raw)
    if (result.success) values.push(result.data)
    else errors.push(...pydanticErrors(result.error.issues, where, raw))
  }
  if (errors.length === 0) return values
  res.status(422).json({ detail: errors })
  return null
}

/** Query values as Starlette reads them: the last one wins when a name repeats. */
function queryOf (req, ...names) {
  const query = req.query // a getter that parses the query string on each access
  const picked = {}
  for (const name of names) {
    const value = query[name]
    if (value !== undefined) picked[name] = Array.isArray(value) ? value[value.length - 1] : value
  }
  return picked
}

// ---- request bodies ----------------------------------------------------------------------

// Read any body as bytes, up to 1 MiB (413 above, via the error handler below). FastAPI's
// rules then decide what the bytes are, so express.json() is not used: it would take an
// empty body for {}, honour charset parameters and refuse JSON scalars.
const readBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false })

// FastAPI parses a body as JSON only under application/json or application/*+json.
const JSON_CONTENT_TYPE = /^application\/(?:json|[^/]*\+json)$/

function decodeJsonBody (req, res, next) {
  const bytes = req.body // a Buffer, or undefined when the request had no body
  if (bytes === undefined || bytes.length === 0) {
    req.body = undefined // validated as a missing body, as FastAPI does
    return next()
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (!JSON_CONTENT_TYPE.test(mediaType)) {
    // FastAPI validates the raw bytes then, which fails as "not an object".
    req.body = isUtf8(bytes) ? bytes.toString('utf8') : ''
    return next()
  }
  if (!isUtf8(bytes)) {
    return res.status(400).json({ detail: 'There was an error parsing the body' })
  }
  let text = bytes.toString('utf8')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1) // Python's json accepts a BOM
  try {
    req.body = JSON.parse(text)
  } catch (err) {
    const lenient = parseWithPythonConstants(text)
    if (lenient === undefined) return res.status(422).json({ detail: [jsonInvalid(err, text)] })
    req.body = lenient
  }
  if (text.length > 2 * MAX_JSON_DEPTH && nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    return res.status(400).json({ detail: 'There was an error parsing the body' })
  }
  next()
}

// Python's json module also reads NaN, Infinity and -Infinity (and Python clients send them).
// Read them as null: in a validated field that fails as "not a string", as NaN does in
// FastAPI, and in an ignored field it stays ignored. Only tried once JSON.parse has failed.
const STRING_OR_PYTHON_CONSTANT = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g

function parseWithPythonConstants (text) {
  let found = false
  const patched = text.replace(STRING_OR_PYTHON_CONSTANT, token => {
    if (token[0] === '"') return token // leave strings alone
    found = true
    return 'null'
  })
  if (!found) return undefined
  try {
    return JSON.parse(patched)
  } catch {
    return undefined
  }
}

/** Whether valid JSON text opens more than `limit` arrays/objects inside one another. */
function nestsDeeperThan (text, limit) {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
  }
  return false
}

function jsonInvalid (err, text) {
  // V8 says "... at position N" for most errors, nothing for an early end of input.
  const match = /at position (\d+)/.exec(err.message)
  const position = match !== null ? Number(match[1]) : text.length
  return { type: 'json_invalid', loc: ['body', position], msg: 'JSON decode error', input: {}, ctx: { error: err.message } }
}

// FastAPI ignores Content-Encoding and takes the bytes as they come (a gzip body is then not
// UTF-8: 400). The body reader would refuse the header with a 415 instead, so drop it.
function ignoreContentEncoding (req, res, next) {
  delete req.headers['content-encoding']
  next()
}

const jsonBody = [ignoreContentEncoding, readBody, decodeJsonBody]

// ---- routes ------------------------------------------------------------------------------

// Chosen at start by STORE (memory or postgres); see store.js. server.js starts it before listening.
const store = storeFromEnv()
app.locals.store = store

function notFound (res) {
  res.status(404).json({ detail: 'Not Found' })
}

// The order in which a 405's Allow header lists a path's methods, the FastAPI app's too:
// RFC 9110's (section 9.3), with PATCH (RFC 5789) after PUT.
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/**
 * Register a path's handlers; other methods get FastAPI's 405, whose Allow header lists the
 * path's methods. That includes HEAD and OPTIONS, which Express would otherwise answer by
 * itself (HEAD through the GET handler).
 */
function resource (path, handlers) {
  const route = app.route(path)
  const allow = Object.keys(handlers).map(method => method.toUpperCase())
    .sort((a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b)).join(', ')
  for (const [method, handler] of Object.entries(handlers)) route[method](handler)
  const methodNotAllowed = (req, res) => {
    res.set('Allow', allow).status(405).json({ detail: 'Method Not Allowed' })
  }
  if (!('head' in handlers)) route.head(methodNotAllowed)
  route.all(methodNotAllowed)
}

resource('/health', {
  get: (req, res) => res.json({ status: 'ok' })
})

resource('/json', {
  get: (req, res) => res.json({ message: 'Hello, World!' })
})

resource('/users', {
  get: async (req, res) => {
    const valid = validate(res, [[ListQuery, 'query', queryOf(req, 'limit', 'offset')]])
    if (valid === null) return
    const [{ limit, offset }] = valid
    const [items, total] = await store.listUsers(limit, offset)
    res.json({ items, total, limit, offset })
  },
  post: [...jsonBody, async (req, res) => {
    const valid = validate(res, [[UserIn, 'body', req.body]])
    if (valid === null) return
    const [{ name, email }] = valid
    res.status(201).json(await store.createUser(name, email))
  }]
})

resource('/users/:user_id', {
  get: async (req, res) => {
    const valid = validate(res, [[UserPath, 'path', req.params]])
    if (valid === null) return
    const user = await store.getUser(valid[0].user_id)
    if (user === null) return notFound(res)
    res.json(user)
  },
  put: [...jsonBody, async (req, res) => {
    const valid = validate(res, [[UserPath, 'path', req.params], [UserIn, 'body', req.body]])
    if (valid === null) return
    const [{ user_id: id }, { name, email }] = valid
    const user = await store.replaceUser(id, name, email)
    if (user === null) return notFound(res)
    res.json(user)
  }],
  delete: async (req, res) => {
    const valid = validate(res, [[UserPath, 'path', req.params]])
    if (valid === null) return
    if (!await store.deleteUser(valid[0].user_id)) return notFound(res)
    res.status(204).end()
  }
})

// ---- TechEmpower's database tests ----------------------------------------------------------

/** TechEmpower's rule: a missing or non-integer value is 1; the count is clamped to 1..500. */
function queryCount (req) {
  const { queries } = queryOf(req, 'queries')
  if (queries === undefined || !INTEGER.test(queries)) return 1
  return Math.min(Math.max(Number(queries), 1), QUERIES_MAX)
}

function randomWorldIds (count) {
  return Array.from({ length: count }, randomWorldNumber)
}

resource('/db', {
  get: async (req, res) => res.json((await store.readWorlds(randomWorldIds(1)))[0])
})

resource('/queries', {
  get: async (req, res) => res.json(await store.readWorlds(randomWorldIds(queryCount(req))))
})

resource('/updates', {
  get: async (req, res) => {
    const count = queryCount(req)
    res.json(await store.updateWorlds(randomWorldIds(count), Array.from({ length: count }, randomWorldNumber)))
  }
})

/** Count the primes below n by trial division: the same loop as in the FastAPI app. */
function countPrimes (n) {
  let count = 0
  for (let candidate = 2; candidate < n; candidate++) {
    let isPrime = true
    for (let divisor = 2; divisor * divisor <= candidate; divisor++) {
      if (candidate % divisor === 0) {
        isPrime = false
        break
      }
    }
    if (isPrime) count++
  }
  return count
}

resource('/cpu', {
  // Runs on the event loop and blocks it, as the FastAPI app's `async def` does.
  get: (req, res) => {
    const valid = validate(res, [[CpuQuery, 'query', queryOf(req, 'n')]])
    if (valid === null) return
    const [{ n }] = valid
    res.json({ n, result: countPrimes(n) })
  }
})

resource('/io', {
  // Stands in for a database or downstream call: waits without blocking the loop.
  get: (req, res) => {
    const valid = validate(res, [[IoQuery, 'query', queryOf(req, 'ms')]])
    if (valid === null) return
    const [{ ms }] = valid
    setTimeout(() => res.json({ ms }), ms)
  }
})

app.use((req, res) => notFound(res))

// Errors raised before a handler ran: the body reader's and the router's.
app.use((err, req, res, next) => {
  if (res.headersSent) return next(err)
  if (err instanceof Conflict) return res.status(409).json({ detail: 'Email already registered' })
  if (err instanceof Unavailable) return res.status(503).json({ detail: 'Service Unavailable' })
  if (err.type === 'entity.too.large') {
    return res.status(413).json({ detail: 'Content Too Large' })
  }
  if (err.status === 400 && err.message.startsWith('Failed to decode param')) {
    // "/users/%zz": Starlette keeps the undecodable text, which then fails as an integer.
    const input = req.path.slice(req.path.lastIndexOf('/') + 1)
    const item = compat.parseInt(input).error
    return res.status(422).json({ detail: [{ ...item, loc: ['path', 'user_id'] }] })
  }
  const status = err.status >= 400 && err.status < 500 ? err.status : 500
  if (status === 500) console.error(err)
  res.status(status).json({ detail: STATUS_CODES[status] })
})

module.exports = app
