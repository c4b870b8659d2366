'use strict'
// Baseline: the contract's /health, /json, /cpu and /io on plain node:http, no framework.
// Not a contender: it shows (a) what the load generator can offer against a server far
// faster than either framework (the generator's ceiling) and (b) how much of the Express
// app's cost is Express's own, over its runtime. Answers exactly as the two apps do on
// these four paths (statuses, bodies, 422 items); every other path is 404.
// HOST, PORT and WORKERS come from the environment (the harness sets them).

const cluster = require('node:cluster')
const http = require('node:http')
// The Express app's port of Pydantic's integer rules: a plain file with no dependencies,
// shared so that both Node servers accept and refuse the same query strings.
const compat = require('../express_app/pydantic-compat')

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT || 8000)
const workers = Number(process.env.WORKERS || 1)

const CPU_MAX_N = 100_000
const CPU_DEFAULT_N = 10_000
const IO_MAX_MS = 1000
const IO_DEFAULT_MS = 20

// Constant bodies are serialised once: the point of a baseline is the runtime's own cost.
const HEALTH = Buffer.from(JSON.stringify({ status: 'ok' }))
const MESSAGE = Buffer.from(JSON.stringify({ message: 'Hello, World!' }))
const NOT_FOUND = Buffer.from(JSON.stringify({ detail: 'Not Found' }))
const METHOD_NOT_ALLOWED = Buffer.from(JSON.stringify({ detail: 'Method Not Allowed' }))

function send (res, status, body, extra) {
  const payload = typeof body === 'string' ? Buffer.from(body) : body
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': payload.length, ...extra })
  res.end(payload)
}

/** Count the primes below n by trial division: the same loop as in both apps. */
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

/**
 * One integer query parameter as FastAPI reads it: the last value when it repeats, the
 * default when absent, else Pydantic's parsing and bounds. Returns {value} or {error}.
 */
function intQuery (query, name, fallback, min, max) {
  const values = new URLSearchParams(query).getAll(name)
  if (values.length === 0) return { value: fallback }
  const raw = values[values.length - 1]
  const parsed = compat.parseInt(raw)
  const loc = ['query', name]
  if (parsed.error !== undefined) return { error: { ...parsed.error, loc } }
  if (parsed.value < min) {
    const msg = `Input should be greater than or equal to ${min}`
    return { error: { type: 'greater_than_equal', loc, msg, input: raw, ctx: { ge: min } } }
  }
  if (parsed.value > max) {
    const msg = `Input should be less than or equal to ${max}`
    return { error: { type: 'less_than_equal', loc, msg, input: raw, ctx: { le: max } } }
  }
  return { value: parsed.value }
}

function handle (req, res) {
  const mark = req.url.indexOf('?')
  const path = mark === -1 ? req.url : req.url.slice(0, mark)
  const query = mark === -1 ? '' : req.url.slice(mark + 1)
  if (path !== '/health' && path !== '/json' && path !== '/cpu' && path !== '/io') return send(res, 404, NOT_FOUND)
  // FastAPI answers HEAD and OPTIONS with 405 too.
  if (req.method !== 'GET') return send(res, 405, METHOD_NOT_ALLOWED, { Allow: 'GET' })
  if (path === '/json') return send(res, 200, MESSAGE)
  if (path === '/health') return send(res, 200, HEALTH)
  if (path === '/cpu') {
    const n = intQuery(query, 'n', CPU_DEFAULT_N, 0, CPU_MAX_N)
    if (n.error !== undefined) return send(res, 422, JSON.stringify({ detail: [n.error] }))
    return send(res, 200, JSON.stringify({ n: n.value, result: countPrimes(n.value) }))
  }
  const ms = intQuery(query, 'ms', IO_DEFAULT_MS, 0, IO_MAX_MS)
  if (ms.error !== undefined) return send(res, 422, JSON.stringify({ detail: [ms.error] }))
  setTimeout(() => send(res, 200, JSON.stringify({ ms: ms.value })), ms.value)
}

function serve () {
  const server = http.createServer(handle)
  server.listen(port, host)
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeIdleConnections()
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

// WORKERS > 1: node:cluster, as the Express app does, so `--workers N` means the same.
if (workers > 1 && cluster.isPrimary) {
  let stopping = false
  for (let i = 0; i < workers; i++) cluster.fork()
  cluster.on('exit', () => {
    if (!stopping) cluster.fork()
    else if (Object.keys(cluster.workers).length === 0) process.exit(0)
  })
  const stop = () => {
    stopping = true
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  serve()
}
