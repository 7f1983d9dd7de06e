// `{{name}}`: a camel-wasm source plugin (world `source`) in JavaScript: it
// starts a route, `from: wasm:{{name}}.wasm?allow-timer=true`. This one
// ticks every second; a webhook asks for `http: { path: '/path' }` in its
// plan instead and is granted an address with `?listen=127.0.0.1:8080`.

import { setHeader, textBody } from './camel_wasm.js';

function newExchange(body, pattern) {
  return { input: { headers: [], body }, output: undefined, properties: [], pattern, correlationId: '' };
}

export function init() {}

export function plan() {
  // Every second, without end (`times: n`: n times).
  return { http: undefined, timer: { periodMs: 1000, times: undefined } };
}

export function onEvent(event) {
  if (event.tag === 'tick') {
    const exchange = newExchange(textBody(`tick ${event.val} from {{name}}`), 'in-only');
    setHeader(exchange.input, 'tick', Number(event.val));
    return { tag: 'submit', val: exchange };
  }
  return { tag: 'submit', val: newExchange(event.val.body, 'in-out') };
}

export function onReply(reply) {
  // `body: undefined` sends the route's reply body as it is.
  return { status: 200, headers: [], body: undefined };
}
