'use strict'
// The parts of Pydantic's behaviour that the contract depends on, ported so that the
// Express app accepts and rejects exactly what the FastAPI app does:
//   - how Pydantic parses an integer out of a query or path string,
//   - how EmailStr (Pydantic + the email-validator package) checks and normalises an email,
//   - the 422 error items ({type, loc, msg, input, ctx}) that FastAPI answers with.
// tests/test_contract.py compares both apps on tables of tricky inputs.

// Rust's char::is_whitespace (Unicode White_Space): what pydantic-core trims from numbers.
const RUST_WS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const RUST_TRIM = new RegExp(`^[${RUST_WS}]+|[${RUST_WS}]+$`, 'g')
// Python's str.isspace(): what str.strip() and the re module's \s take as whitespace.
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const PY_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g')

// Python limits int() to 4300 digits; pydantic-core refuses longer numbers up front.
const MAX_INT_DIGITS = 4300
const JSON_INT = /^-?(?:0|[1-9]\d*)$/
const LEADING_DIGITS = /^-?([1-9]\d*)/

function error (type, msg, input, ctx) {
  const item = { type, loc: null, msg, input }
  if (ctx !== undefined) item.ctx = ctx
  return item
}

/**
 * Parse a query or path parameter as pydantic-core does for an `int` field.
 * Returns {value} or {error} (an error item without its loc).
 * Accepts e.g. " 5", "+5", "05", "1_000", "5.00"; refuses "5.5", "1e3", "0x10", "".
 */
function parseInt (input) {
  // First try: a plain JSON integer, as pydantic-core's number parser reads it.
  const digits = LEADING_DIGITS.exec(input)
  if (digits !== null && digits[1].length > MAX_INT_DIGITS) {
    return { error: error('int_parsing_size', 'Unable to parse input string as an integer, exceeded maximum size', input) }
  }
  if (JSON_INT.test(input)) return { value: toNumber(input) }
  // Second try: the cleaned-up string (whitespace, +, leading zeros, ".000", underscores).
  const cleaned = cleanIntString(input)
  if (cleaned !== null && JSON_INT.test(cleaned) && cleaned.replace('-', '').length <= MAX_INT_DIGITS) {
    return { value: toNumber(cleaned) }
  }
  return { error: error('int_parsing', 'Input should be a valid integer, unable to parse string as an integer', input) }
}

// Python ints have no size limit. Past 2**53 a JavaScript number is no longer exact, but
// such values only ever meet the contract's bounds and ids, which all lie far below, so
// the comparisons stay right; past ~1.8e308 it would be Infinity, so clamp to the largest.
function toNumber (digits) {
  const value = Number(digits)
  return Number.isFinite(value) ? value : Math.sign(value) * Number.MAX_VALUE
}

// pydantic-core's clean_int_str, step by step.
function cleanIntString (original) {
  let s = original.replace(RUST_TRIM, '')
  if (s.startsWith('+')) {
    if (s[1] === '-') return null
    s = s.slice(1)
  }
  let sign = ''
  if (s.startsWith('-')) {
    if (s[1] === '-' || s[1] === '+') return null
    sign = '-'
    s = s.slice(1)
  }
  s = stripLeadingZeros(s)
  if (s === null) return null
  const dot = s.indexOf('.')
  if (dot !== -1 && /^0+$/.test(s.slice(dot + 1))) s = s.slice(0, dot)
  if (s.includes('_') && !s.startsWith('_') && !s.endsWith('_') && !s.includes('__')) {
    return sign + s.replaceAll('_', '')
  }
  if (s.length === original.length) return null // nothing to clean: it stays invalid
  return sign + s
}

function stripLeadingZeros (s) {
  if (s.length === 0) return null
  if (s[0] !== '0') return (s[0] >= '1' && s[0] <= '9') || s[0] === '-' ? s : null
  for (let i = 1; i < s.length; i++) {
    const c = s[i]
    if (c === '0' || c === '_') continue
    if ((c >= '1' && c <= '9') || c === '-') return s.slice(i)
    if (c === '.') return s.slice(i - 1)
    return null
  }
  return s.slice(-1)
}

// ---- EmailStr ---------------------------------------------------------------------------

const MAX_EMAIL_INPUT = 2048 // pydantic's own limit, before email-validator runs
const EMAIL_MAX_LENGTH = 254
const DOMAIN_MAX_LENGTH = 253
const LABEL_MAX_LENGTH = 63
const ATEXT = "a-zA-Z0-9_!#$%&'*+\\-/=?^`{|}~"
const DOT_ATOM_TEXT = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`)
const HOSTNAME_LABEL = '(?:(?:[a-z0-9][a-z0-9\\-]*)?[a-z0-9])'
const DOT_ATOM_HOSTNAME = new RegExp(`^${HOSTNAME_LABEL}(?:\\.${HOSTNAME_LABEL})*$`)
// Pydantic accepts 'Display Name <local@domain>' and keeps only the address.
// Python's \w is Unicode-aware, hence \p{L}\p{N}_ here.
const NAME_CHAR = "[\\p{L}\\p{N}_.!#$%&'*+\\-/=?^`{|}~]"
const PRETTY_EMAIL = new RegExp(
  `^[${PY_WS}]*(?:((?:${NAME_CHAR}+[${PY_WS}]+)*${NAME_CHAR}+)|"((?:[^"]|")+)")?[${PY_WS}]*<(.+)>[${PY_WS}]*$`,
  'su'
)
// RFC 2142 mailbox names that email-validator lowercases.
const CASE_INSENSITIVE_MAILBOXES = new Set([
  'info', 'marketing', 'sales', 'support', 'abuse', 'noc', 'security', 'postmaster',
  'hostmaster', 'usenet', 'news', 'webmaster', 'www', 'uucp', 'ftp'
])
const SPECIAL_USE_DOMAINS = ['arpa', 'invalid', 'local', 'localhost', 'onion', 'test']

function emailError (input, reason) {
  return { error: error('value_error', `value is not a valid email address: ${reason}`, input, { reason }) }
}

/**
 * Validate an email address as Pydantic's EmailStr does (email-validator with
 * check_deliverability=False) and return {value: normalisedAddress} or {error}.
 *
 * Only ASCII addresses are supported: email-validator also accepts internationalised
 * addresses (UTF-8 local parts, IDNA domains), which would need a port of the IDNA 2008
 * tables; this app refuses them with a 422 (a documented difference between the apps).
 */
function validateEmail (input) {
  if (input.length > MAX_EMAIL_INPUT && [...input].length > MAX_EMAIL_INPUT) {
    return emailError(input, `Length must not exceed ${MAX_EMAIL_INPUT} characters`)
  }
  if (input.includes('\r') || input.includes('\n')) {
    return emailError(input, 'Carriage return and line feed characters are not allowed')
  }
  const pretty = PRETTY_EMAIL.exec(input)
  const email = (pretty === null ? input : pretty[3]).replace(PY_STRIP, '')

  if (/[^\x00-\x7f]/.test(email)) { // eslint-disable-line no-control-regex
    return emailError(input, 'Internationalized email addresses are not supported.')
  }
  if (email.includes('"')) {
    return emailError(input, 'Quoting the part before the @-sign is not allowed here.')
  }
  if (email.includes('<')) {
    return emailError(input, 'A display name and angle brackets around the email address are not permitted here.')
  }
  const at = email.indexOf('@')
  if (at === -1) return emailError(input, 'An email address must have an @-sign.')
  let local = email.slice(0, at)
  const domainPart = email.slice(at + 1)

  if (local.length === 0) return emailError(input, 'There must be something before the @-sign.')
  if (!DOT_ATOM_TEXT.test(local)) {
    return emailError(input, 'The email address contains invalid characters before the @-sign.')
  }
  if (CASE_INSENSITIVE_MAILBOXES.has(local.toLowerCase())) local = local.toLowerCase()

  if (domainPart.length === 0) return emailError(input, 'There must be something after the @-sign.')
  if (domainPart.startsWith('[') && domainPart.endsWith(']')) {
    return emailError(input, 'A bracketed IP address after the @-sign is not allowed here.')
  }
  if (domainPart.length > DOMAIN_MAX_LENGTH) {
    return emailError(input, 'The email address is too long after the @-sign.')
  }
  if (/[^a-zA-Z0-9.-]/.test(domainPart)) {
    return emailError(input, 'The part after the @-sign contains invalid characters.')
  }
  const domain = domainPart.toLowerCase() // what IDNA's UTS-46 mapping does to ASCII
  if (domain.startsWith('.') || domain.startsWith('-') || domain.endsWith('.') || domain.endsWith('-') ||
      domain.includes('..') || domain.includes('.-') || domain.includes('-.')) {
    return emailError(input, 'An email address cannot have a period or hyphen in that place after the @-sign.')
  }
  const labels = domain.split('.')
  if (labels.some(label => /^(?!xn)..--/.test(label))) {
    return emailError(input, 'An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.')
  }
  if (!DOT_ATOM_HOSTNAME.test(domain)) {
    return emailError(input, 'The email address contains invalid characters after the @-sign.')
  }
  if (labels.some(label => label.length > LABEL_MAX_LENGTH)) {
    return emailError(input, 'After the @-sign, periods cannot be separated by so many characters.')
  }
  if (labels.length < 2) return emailError(input, 'The part after the @-sign is not valid. It should have a period.')
  if (!/[a-z]$/.test(domain)) {
    return emailError(input, 'The part after the @-sign is not valid. It is not within a valid top-level domain.')
  }
  if (SPECIAL_USE_DOMAINS.some(d => domain === d || domain.endsWith('.' + d))) {
    return emailError(input, 'The part after the @-sign is a special-use or reserved name that cannot be used with email.')
  }
  if (domain.includes('xn--')) {
    return emailError(input, 'Internationalized email addresses are not supported.')
  }
  if (local.length + 1 + domain.length > EMAIL_MAX_LENGTH) {
    return emailError(input, 'The email address is too long.')
  }
  return { value: `${local}@${domain}` }
}

// ---- strings ----------------------------------------------------------------------------

/** Pydantic's str checks: Unicode code points (not UTF-16 units), no lone surrogates. */
function checkString (input, minLength, maxLength) {
  if (!input.isWellFormed()) {
    return { error: error('string_unicode', 'Input should be a valid string, unable to parse raw data as a unicode string', input) }
  }
  // Count code points, as Python does: a surrogate pair is one character.
  const length = /[\ud800-\udfff]/.test(input) ? [...input].length : input.length
  if (length < minLength) {
    const s = minLength === 1 ? '' : 's'
    return { error: error('string_too_short', `String should have at least ${minLength} character${s}`, input, { min_length: minLength }) }
  }
  if (length > maxLength) {
    const s = maxLength === 1 ? '' : 's'
    return { error: error('string_too_long', `String should have at most ${maxLength} character${s}`, input, { max_length: maxLength }) }
  }
  return { value: input }
}

module.exports = { parseInt, validateEmail, checkString, error }
