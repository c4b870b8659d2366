'use strict'
// The PostgreSQL store (STORE=postgres): node-postgres (`pg`), a fixed-size pool, the SQL of
// contract/queries.sql. The FastAPI app's store_pg.py is this module with asyncpg: the same
// statements, parameters, pool size and transactions. Every statement with parameters is a
// named query, so node-postgres prepares it once per connection, as asyncpg's statement cache does.

const { DatabaseError, Pool } = require('pg')
const { Conflict, Unavailable } = require('./store')

// The statements, as in contract/queries.sql (tests/test_store_sql.py checks both apps' copies).
const INSERT_USER = 'INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id, name, email'
const SELECT_USER = 'SELECT id, name, email FROM users WHERE id = $1'
const UPDATE_USER = 'UPDATE users SET name = $2, email = $3 WHERE id = $1 RETURNING id, name, email'
const DELETE_USER = 'DELETE FROM users WHERE id = $1 RETURNING id'
const PAGE_USERS = 'SELECT id, name, email FROM users ORDER BY id LIMIT $1 OFFSET $2'
const COUNT_USERS = 'SELECT count(*)::integer AS total FROM users'
const SELECT_WORLD = 'SELECT id, randomnumber FROM world WHERE id = $1'
const UPDATE_WORLD = 'UPDATE world SET randomnumber = $2 WHERE id = $1'
const BEGIN_PAGE = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'

// Ids are `integer` columns: a larger id (or one below 1) names no user, and is not sent.
const MAX_ID = 2 ** 31 - 1
const UNIQUE_VIOLATION = '23505'
// Server errors that say the database cannot answer: connection exceptions (class 08), shutdowns.
const DOWN_CODES = /^(08|57P0[123])/

function validId (id) {
  return Number.isInteger(id) && id >= 1 && id <= MAX_ID
}

// What is never the database's fault: a conflict (409) or a bug in this code (500).
const NOT_DOWN = [Conflict, TypeError, ReferenceError, RangeError, SyntaxError]

/**
 * Whether an error says the database cannot answer: a server error with a connection or shutdown
 * code, or a client-side one (socket errors, "Connection terminated", timeouts). A wrong statement
 * is a DatabaseError with another code: a bug, 500. asyncpg's classes draw the same line in store_pg.py.
 */
function isDown (err) {
  if (NOT_DOWN.some(kind => err instanceof kind)) return false
  return !(err instanceof DatabaseError) || DOWN_CODES.test(err.code ?? '')
}

class PostgresStore {
  constructor (url, poolSize, timeoutMs) {
    this.poolSize = poolSize
    this.pool = new Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: timeoutMs, // a request waits this long for a pooled connection
      query_timeout: timeoutMs, // and this long for one statement (asyncpg's command_timeout)
      idleTimeoutMillis: 0 // keep idle connections, as asyncpg's pool does here
    })
    // An idle connection the server drops would otherwise be an uncaught 'error': the process would die.
    this.pool.on('error', err => console.error(`idle database connection lost: ${err.message}`))
  }

  static fromEnv (env) {
    if (!env.DATABASE_URL) throw new Error('STORE=postgres needs DATABASE_URL')
    return new PostgresStore(env.DATABASE_URL, Number(env.DB_POOL_SIZE || 10), Number(env.DB_TIMEOUT_MS || 5000))
  }

  /** Open every pooled connection now, before the app listens (as asyncpg's min_size = max_size does). */
  async start () {
    const clients = await Promise.all(Array.from({ length: this.poolSize }, () => this.pool.connect()))
    for (const client of clients) client.release()
  }

  async stop () {
    await this.pool.end()
  }

  /** Run `work` on a pooled connection; a pool exhausted past the timeout, or a database gone, is Unavailable. */
  async _connection (work) {
    let client
    try {
      client = await this.pool.connect()
    } catch (err) {
      throw new Unavailable(err.message)
    }
    let broken = false
    try {
      return await work(client)
    } catch (err) {
      if (!isDown(err)) throw err
      broken = true
      throw new Unavailable(err.message)
    } finally {
      client.release(broken) // true: close it, the pool opens another
    }
  }

  async createUser (name, email) {
    return this._connection(async db => {
      try {
        return (await db.query({ name: 'insert_user', text: INSERT_USER, values: [name, email] })).rows[0]
      } catch (err) {
        if (err.code === UNIQUE_VIOLATION) throw new Conflict()
        throw err
      }
    })
  }

  async getUser (id) {
    if (!validId(id)) return null
    return this._connection(async db => {
      return (await db.query({ name: 'select_user', text: SELECT_USER, values: [id] })).rows[0] ?? null
    })
  }

  async replaceUser (id, name, email) {
    if (!validId(id)) return null
    return this._connection(async db => {
      try {
        return (await db.query({ name: 'update_user', text: UPDATE_USER, values: [id, name, email] })).rows[0] ?? null
      } catch (err) {
        if (err.code === UNIQUE_VIOLATION) throw new Conflict()
        throw err
      }
    })
  }

  async deleteUser (id) {
    if (!validId(id)) return false
    return this._connection(async db => {
      return (await db.query({ name: 'delete_user', text: DELETE_USER, values: [id] })).rows.length > 0
    })
  }

  /** The page and the total from one snapshot (a read-only repeatable-read transaction). */
  async listUsers (limit, offset) {
    return this._connection(async db => {
      await db.query(BEGIN_PAGE)
      try {
        const page = await db.query({ name: 'page_users', text: PAGE_USERS, values: [limit, offset] })
        const count = await db.query({ name: 'count_users', text: COUNT_USERS })
        return [page.rows, count.rows[0].total]
      } finally {
        await db.query('COMMIT')
      }
    })
  }

  /** One round trip per row, as TechEmpower's rules require (no batching into one query). */
  async readWorlds (ids) {
    return this._connection(async db => {
      const rows = []
      for (const id of ids) rows.push(await world(db, id))
      return rows
    })
  }

  /** Read each row, then write each its new number: single-row statements, each its own transaction. */
  async updateWorlds (ids, numbers) {
    return this._connection(async db => {
      const rows = []
      for (const id of ids) rows.push(await world(db, id))
      for (let i = 0; i < rows.length; i++) {
        await db.query({ name: 'update_world', text: UPDATE_WORLD, values: [rows[i].id, numbers[i]] })
        rows[i].randomNumber = numbers[i]
      }
      return rows
    })
  }
}

async function world (db, id) {
  const row = (await db.query({ name: 'select_world', text: SELECT_WORLD, values: [id] })).rows[0]
  return { id: row.id, randomNumber: row.randomnumber }
}

module.exports = { PostgresStore }
