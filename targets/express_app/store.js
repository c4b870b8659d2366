'use strict'
// Where the Express app keeps its data: chosen at start by STORE (memory, the default, or
// postgres). The FastAPI app's store.py is this module in Python: the same methods, the same
// answers. Every method is async, as the PostgreSQL store's must be.

const WORLD_ROWS = 10_000 // TechEmpower's World table: ids 1..10,000, random numbers 1..10,000

/** Another user already has this email (409). */
class Conflict extends Error {}
/** The database cannot answer now: down, or no pooled connection free in time (503). */
class Unavailable extends Error {}

function randomWorldNumber () {
  return 1 + Math.floor(Math.random() * WORLD_ROWS)
}

/** One store per process (so CRUD needs --workers 1): users in a Map, world rows in an array. */
class MemoryStore {
  constructor () {
    this.users = new Map() // Maps keep insertion order: ascending ids
    this.idsByEmail = new Map()
    this.nextId = 1
    this.world = Array.from({ length: WORLD_ROWS }, randomWorldNumber)
  }

  async start () {}
  async stop () {}

  async createUser (name, email) {
    const id = this.nextId++ // used up even by a conflict, as a database sequence is
    if (this.idsByEmail.has(email)) throw new Conflict()
    const user = { id, name, email }
    this.users.set(id, user)
    this.idsByEmail.set(email, id)
    return user
  }

  async getUser (id) {
    return this.users.get(id) ?? null
  }

  async replaceUser (id, name, email) {
    const old = this.users.get(id)
    if (old === undefined) return null
    if ((this.idsByEmail.get(email) ?? id) !== id) throw new Conflict()
    this.idsByEmail.delete(old.email)
    const user = { id, name, email }
    this.users.set(id, user)
    this.idsByEmail.set(email, id)
    return user
  }

  async deleteUser (id) {
    const user = this.users.get(id)
    if (user === undefined) return false
    this.users.delete(id)
    this.idsByEmail.delete(user.email)
    return true
  }

  async listUsers (limit, offset) {
    const items = []
    let index = 0
    for (const user of this.users.values()) {
      if (index >= offset + limit) break
      if (index >= offset) items.push(user)
      index++
    }
    return [items, this.users.size]
  }

  async readWorlds (ids) {
    return ids.map(id => ({ id, randomNumber: this.world[id - 1] }))
  }

  async updateWorlds (ids, numbers) {
    return ids.map((id, i) => {
      this.world[id - 1] = numbers[i]
      return { id, randomNumber: numbers[i] }
    })
  }
}

/** STORE=memory (default) or postgres; postgres reads DATABASE_URL, DB_POOL_SIZE and DB_TIMEOUT_MS. */
function storeFromEnv (env = process.env) {
  const kind = env.STORE || 'memory'
  if (kind === 'memory') return new MemoryStore()
  if (kind === 'postgres') return require('./store-pg').PostgresStore.fromEnv(env)
  throw new Error(`STORE must be memory or postgres, not ${JSON.stringify(kind)}`)
}

module.exports = { WORLD_ROWS, Conflict, Unavailable, MemoryStore, randomWorldNumber, storeFromEnv }
