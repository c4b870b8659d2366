'use strict'
// Launch the Express app as it is run in production: NODE_ENV=production, no access log,
// HOST/PORT/WORKERS from the environment. With WORKERS > 1, node:cluster forks that many
// workers, all listening on the same port; with 1 the app listens in this process.
// KEEPALIVE_TIMEOUT_S: seconds an idle keep-alive connection stays open (5, Node 20's default,
// when unset), the same setting the harness gives Uvicorn.

process.env.NODE_ENV ??= 'production' // before Express is loaded: it reads it at startup

const cluster = require('node:cluster')

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT || 8000)
const workers = Number(process.env.WORKERS || 1)
const keepAliveMs = 1000 * Number(process.env.KEEPALIVE_TIMEOUT_S || 5)

if (workers > 1 && cluster.isPrimary) {
  let stopping = false
  for (let i = 0; i < workers; i++) cluster.fork()
  // Replace a worker that dies, as Uvicorn's supervisor does.
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) process.exit(0)
      return
    }
    console.error(`worker ${worker.process.pid} died (${signal || code}); starting another`)
    cluster.fork()
  })
  const stop = () => {
    stopping = true
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  const app = require('./app')
  // The store opens its database pool first (STORE=postgres), as the FastAPI app's lifespan does.
  app.locals.store.start().then(() => listen(app), err => {
    console.error(`cannot start the store: ${err.message}`)
    process.exit(1)
  })
}

function listen (app) {
  const server = app.listen(port, host, err => {
    if (err) {
      console.error(err)
      process.exit(1)
    }
  })
  require('./realtime').attach(server) // WebSocket rooms at /ws/rooms/{room} (contract/realtime.md)
  server.keepAliveTimeout = keepAliveMs
  // Node's advice: headersTimeout above keepAliveTimeout, so an idle connection is closed by
  // the keep-alive timer, not cut by the headers timer (default 60 s, already above unless raised).
  server.headersTimeout = Math.max(server.headersTimeout, keepAliveMs + 1000)
  const stop = () => {
    // Finish the requests in flight, drop idle keep-alive connections, and do not wait
    // for ever on a client that keeps its connection open.
    server.close(() => process.exit(0))
    server.closeIdleConnections()
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
