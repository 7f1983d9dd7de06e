// `{{name}}`: a camel-wasm processor plugin (world `processor`) in
// JavaScript, a route step `wasm:{{name}}.wasm`.

import { bodyKind, bodyText, setHeader, textBody } from './camel_wasm.js';

// Runs once per instance, before its first exchange; `throw 'why'` fails the
// route's start.
export function init() {}

// Called for every exchange that reaches the step: prefixes a text body and
// adds a header. `throw pluginError(kind, message)` (from camel_wasm.js)
// fails the exchange with that error.
export function process(exchange) {
  const message = exchange.input;
  const text = bodyKind(message.body) === 'empty' ? '' : bodyText(message.body);
  message.body = textBody(`[{{name}}] ${text}`);
  setHeader(message, 'processed-by', '{{name}}');
  return exchange;
}

// Bodies this plugin streams out (`produceBody`); it makes none.
export const bodySource = {
  next() {
    return undefined;
  },
  cancel() {},
};
