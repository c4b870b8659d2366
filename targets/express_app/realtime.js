'use strict'
// Chat rooms over WebSocket: the contract's real-time endpoint, as served by the FastAPI app
// (../fastapi_app/realtime.py) and described by ../../contract/realtime.md. Same protocol, same
// JSON byte for byte, same close codes.
//
// The `ws` package on the app's own HTTP server: it is what Express apps use for plain WebSocket
// (Express has no WebSocket support of its own). Not Socket.IO: Socket.IO speaks its own protocol
// on top of WebSocket (Engine.IO packets, a handshake, long-polling fallback), so a plain WebSocket
// client cannot talk to it, and the same client could not test both apps.
// Rooms are kept in memory, one Map per process: with several cluster workers, members on
// different workers would not see each other's messages.

const { WebSocketServer } = require('ws')

const MAX_MESSAGE_BYTES = 4096 // a larger message closes the connection with 1009 (ws's maxPayload)
const MAX_ROOM_MEMBERS = 64 // a client joining a full room is closed with 1008
const ROOM_PATH = /^\/ws\/rooms\/([^/]+)$/
const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/
const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,64}$/
const FIELDS = ['body', 'id', 'sent_us']

// RFC 6455 §7.4.1 close codes
const UNSUPPORTED_DATA = 1003 // a binary message: the protocol is JSON text
const INVALID_PAYLOAD = 1007 // not JSON, or not a message object (ws itself sends it for invalid UTF-8)
const POLICY_VIOLATION = 1008 // the room is full

/** The room named by an upgrade request's path, or null (Starlette matches the decoded path). */
function roomOf (url) {
  const match = ROOM_PATH.exec(url.split('?')[0])
  if (!match) return null
  let room
  try {
    room = decodeURIComponent(match[1])
  } catch {
    return null
  }
  return ROOM_NAME.test(room) ? room : null
}

/** {id, sent_us, body} of a valid client message, else null: the FastAPI app's rules. */
function parseMessage (text) {
  let message
  try {
    message = JSON.parse(text)
  } catch {
    return null
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return null
  const keys = Object.keys(message).sort()
  if (keys.length !== FIELDS.length || keys.some((key, i) => key !== FIELDS[i])) return null
  const { id, sent_us: sentUs, body } = message
  if (typeof id !== 'string' || !MESSAGE_ID.test(id)) return null
  // Up to 2**53 - 1; 1.0 and 1e3 are integers in both languages, as they are in JSON's grammar.
  if (!Number.isSafeInteger(sentUs) || sentUs < 0) return null
  // A lone surrogate (JSON.parse accepts "\ud800") could not be sent on as UTF-8.
  if (typeof body !== 'string' || !body.isWellFormed()) return null
  return { id, sentUs, body } // JSON.stringify writes -0 as 0, as Python writes int(-0.0)
}

function join (rooms, room, socket) {
  let members = rooms.get(room)
  if (!members) rooms.set(room, (members = new Set()))
  if (members.size >= MAX_ROOM_MEMBERS) {
    socket.close(POLICY_VIOLATION, 'room full')
    return
  }
  members.add(socket)
  const leave = () => {
    members.delete(socket)
    if (members.size === 0 && rooms.get(room) === members) rooms.delete(room)
  }
  socket.on('close', leave)
  socket.on('error', leave) // ws closes the socket after an error (it has sent its close code, e.g. 1009)
  socket.send(JSON.stringify({ type: 'joined', room, members: members.size }))
  socket.on('message', (data, isBinary) => {
    if (isBinary) return closeWith(socket, leave, UNSUPPORTED_DATA, 'text only')
    const message = parseMessage(data.toString('utf8'))
    if (!message) return closeWith(socket, leave, INVALID_PAYLOAD, 'invalid message')
    const text = JSON.stringify({ type: 'message', room, id: message.id, sent_us: message.sentUs, body: message.body })
    for (const member of members) {
      if (member.readyState === member.OPEN) member.send(text)
    }
  })
}

function closeWith (socket, leave, code, reason) {
  leave()
  socket.close(code, reason)
}

/** Serve /ws/rooms/{room} on `server` (an http.Server); other upgrade requests are refused with 403. */
function attach (server) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES })
  const rooms = new Map()
  server.on('upgrade', (req, socket, head) => {
    const room = roomOf(req.url)
    if (room === null) {
      // What Uvicorn answers when the app closes a WebSocket before accepting it.
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, ws => join(rooms, room, ws))
  })
  return wss
}

module.exports = { attach, parseMessage, MAX_MESSAGE_BYTES, MAX_ROOM_MEMBERS }
