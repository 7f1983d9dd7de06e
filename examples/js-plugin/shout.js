// A JavaScript plugin for the `processor` world of camel:wasm@0.2.0:
// upper-cases a text body and sets the header `shouted` (the same plugin as
// examples/embedding/guests/shout, in JavaScript). Build it with
// componentize-js: see README.md beside this file.

import { routeId } from 'camel:wasm/host@0.2.0';
import { bodyText, pluginError, setHeader, textBody } from '../../sdk/js/camel_wasm.js';

export function init() {}

export function process(exchange) {
  const message = exchange.input;
  if (message.body.tag === 'empty') throw pluginError('type-conversion', 'expected a text body');
  message.body = textBody(bodyText(message.body).toUpperCase());
  setHeader(message, 'shouted', true);
  setHeader(message, 'route', routeId() ?? 'none');
  return exchange;
}

// This plugin streams no bodies out; the world still exports the source.
export const bodySource = {
  next() {
    return undefined;
  },
  cancel() {},
};
