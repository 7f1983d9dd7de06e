// Thin helpers over the bindings componentize-js generates for the
// `camel:wasm@0.2.0` worlds: typed header and property access (JSON values
// decoded), body kinds as JavaScript values, and the WIT `error` variant as
// an exception. Import it from the plugin (`import { header } from
// './camel_wasm.js'`); componentize-js bundles relative imports.

import { produceBody } from 'camel:wasm/host@0.2.0';

/** The WIT `error` variant as an exception: `throw pluginError('failed', '…')`.
 *  `kind` is one of failed, type-conversion, not-found, denied,
 *  limit-exceeded, io, timeout. */
export function pluginError(kind, message) {
  const error = new Error(`${kind}: ${message}`);
  error.payload = { tag: kind, val: message };
  return error;
}

/** The variant name of a WIT `error` thrown by a host function. */
export function errorKind(thrown) {
  const payload = thrown && thrown.payload !== undefined ? thrown.payload : thrown;
  return payload && typeof payload.tag === 'string' ? payload.tag : 'failed';
}

function decode(value) {
  return value.tag === 'text' ? value.val : JSON.parse(value.val);
}

function encode(value) {
  return typeof value === 'string'
    ? { tag: 'text', val: value }
    : { tag: 'json', val: JSON.stringify(value) };
}

function get(fields, name) {
  const entry = fields.find(([key]) => key === name);
  return entry === undefined ? undefined : decode(entry[1]);
}

function set(fields, name, value) {
  const encoded = encode(value);
  const entry = fields.find(([key]) => key === name);
  if (entry === undefined) fields.push([name, encoded]);
  else entry[1] = encoded;
}

/** A header's value (strings as they are, other JSON values decoded), or undefined. */
export const header = (message, name) => get(message.headers, name);
/** Sets a header: a string travels as text, anything else as JSON. */
export const setHeader = (message, name, value) => set(message.headers, name, value);
/** Removes a header if present. */
export function removeHeader(message, name) {
  message.headers = message.headers.filter(([key]) => key !== name);
}
/** An exchange property's value, decoded like `header`, or undefined. */
export const prop = (exchange, name) => get(exchange.properties, name);
/** Sets an exchange property in the returned exchange. */
export const setProp = (exchange, name, value) => set(exchange.properties, name, value);

/** `empty`, `text`, `bytes`, `json`, `xml` or `stream`. */
export const bodyKind = (body) => body.tag;

/** Reads a `stream` body to its end, `piece` bytes at a time. */
export function readStream(stream, piece = 64 * 1024) {
  const parts = [];
  let total = 0;
  for (;;) {
    const chunk = stream.read(piece);
    if (chunk.length === 0) break;
    parts.push(chunk);
    total += chunk.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The body as text: text, JSON and XML as they are, bytes decoded as
 *  UTF-8, a stream read to its end. */
export function bodyText(body) {
  switch (body.tag) {
    case 'empty': return '';
    case 'text': case 'json': case 'xml': return body.val;
    case 'bytes': return new TextDecoder().decode(body.val);
    case 'stream': return new TextDecoder().decode(readStream(body.val));
    default: throw pluginError('type-conversion', `unknown body kind ${body.tag}`);
  }
}

export const textBody = (text) => ({ tag: 'text', val: text });
export const bytesBody = (bytes) => ({ tag: 'bytes', val: bytes });
export const jsonBody = (value) => ({ tag: 'json', val: JSON.stringify(value) });

/** Bodies a plugin streams out. `body(chunks)` returns a `stream` body the
 *  host pulls from the iterable (of Uint8Array) after the call; export the
 *  producer as the world's body source:
 *  `export const bodySource = bodies.source();` (beans: `beanBodySource`). */
export class BodyProducer {
  constructor() {
    this.open = new Map();
    this.nextId = 0;
  }

  body(chunks) {
    this.nextId += 1;
    this.open.set(this.nextId, { chunks: chunks[Symbol.iterator](), pending: new Uint8Array(0) });
    return { tag: 'stream', val: produceBody(this.nextId) };
  }

  next(id, max) {
    const entry = this.open.get(id);
    if (entry === undefined) throw pluginError('not-found', `no produced body ${id}`);
    while (entry.pending.length === 0) {
      const step = entry.chunks.next();
      if (step.done) {
        this.open.delete(id);
        return undefined;
      }
      entry.pending = step.value;
    }
    const out = entry.pending.slice(0, max);
    entry.pending = entry.pending.slice(max);
    return out;
  }

  cancel(id) {
    this.open.delete(id);
  }

  source() {
    return { next: (id, max) => this.next(id, max), cancel: (id) => this.cancel(id) };
  }
}
