// `{{name}}`: a camel-wasm bean plugin (world `bean`) in JavaScript: named
// methods that `bean` steps of routes call, configured per `[beans.<name>]`
// entry of Camel.toml.

import { hostIncrement, hostLoad } from 'camel:wasm/host@0.2.0';
import { bodyKind, bodyText, pluginError, setHeader, textBody } from './camel_wasm.js';

const config = new Map();

// Runs once per instance with the entry's `[beans.<name>.config]` pairs.
export function init(pairs) {
  for (const [key, value] of pairs) config.set(key, value);
  if (config.get('greeting') === '') throw '`greeting` must not be empty';
}

export function methods() {
  return ['hello', 'count'];
}

export function invoke(method, exchange) {
  const message = exchange.input;
  if (method === 'hello') {
    // Greets the text body, and counts greetings in the host's state.
    if (bodyKind(message.body) === 'empty') throw pluginError('type-conversion', 'expected a text body');
    const greeting = config.get('greeting') ?? 'Hello';
    hostIncrement('greeted', 1n);
    message.body = textBody(`${greeting}, ${bodyText(message.body)}!`);
  } else if (method === 'count') {
    // How many greetings this bean has made, as header `greeted`.
    setHeader(message, 'greeted', Number(hostLoad('greeted') ?? '0'));
  } else {
    throw pluginError('not-found', `no method ${method}; methods: hello, count`);
  }
  return exchange;
}

// Bodies this bean streams out (`produceBody`); it makes none.
export const beanBodySource = {
  next() {
    return undefined;
  },
  cancel() {},
};
