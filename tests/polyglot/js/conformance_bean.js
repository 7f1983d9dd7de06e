// Conformance bean in JavaScript: methods `greet` and `config`, configured
// by `init` (see crates/camel-component-wasm/tests/conformance/cases.rs).

import { bodyText, pluginError, textBody } from '../../../sdk/js/camel_wasm.js';

const config = new Map();

export function init(pairs) {
  for (const [key, value] of pairs) config.set(key, value);
  if (!config.has('greeting')) throw 'missing config key `greeting`';
}

export function methods() {
  return ['greet', 'config'];
}

export function invoke(method, exchange) {
  const message = exchange.input;
  if (method === 'greet') {
    message.body = textBody(`${config.get('greeting')}, ${bodyText(message.body)}`);
  } else if (method === 'config') {
    const pairs = [...config.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    message.body = textBody(pairs.map(([k, v]) => `${k}=${v}`).join(','));
  } else {
    throw pluginError('not-found', `no method ${method}; methods: greet, config`);
  }
  return exchange;
}

export const beanBodySource = {
  next() {
    throw pluginError('not-found', 'this bean produces no bodies');
  },
  cancel() {},
};
