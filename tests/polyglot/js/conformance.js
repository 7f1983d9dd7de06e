// Conformance processor in JavaScript: one behaviour per `case` header (see
// crates/camel-component-wasm/tests/conformance/cases.rs for the list).

import {
  camelCall, getProperty, hostCompareAndSet, hostIncrement, hostLoad, hostStore,
  routeId, setProperty,
} from 'camel:wasm/host@0.2.0';
import {
  BodyProducer, bodyKind, bodyText, errorKind, header, pluginError, prop,
  readStream, removeHeader, setHeader, setProp, textBody,
} from '../../../sdk/js/camel_wasm.js';

let initRuns = 0;
const bodies = new BodyProducer();
const encoder = new TextEncoder();

const CASES = {
  identity: (exchange) => exchange,
  describe(exchange, message) {
    const body = message.body;
    setHeader(message, 'kind', bodyKind(body));
    if (body.tag === 'text') message.body = textBody(body.val.toUpperCase());
    if (body.tag === 'bytes') message.body = { tag: 'bytes', val: Uint8Array.from(body.val).reverse() };
    return exchange;
  },
  headers(exchange, message) {
    setHeader(message, 'greeting', `hello ${header(message, 'name')}`);
    setHeader(message, 'answer', header(message, 'number') + 1);
    setHeader(message, 'flag', true);
    removeHeader(message, 'secret');
    return exchange;
  },
  properties(exchange, message) {
    setProp(exchange, 'seen', `${prop(exchange, 'input')}!`);
    setProperty('via-host', 'yes');
    setHeader(message, 'read', getProperty('input') ?? '');
    return exchange;
  },
  error(exchange, message) {
    const variant = header(message, 'variant');
    throw pluginError(variant, `conformance ${variant}`);
  },
  state(exchange, message) {
    const hits = hostIncrement('hits', 1n);
    const previous = hostLoad('last');
    hostStore('last', bodyText(message.body));
    const stored = hostCompareAndSet('token', undefined, 'first');
    setHeader(message, 'hits', String(hits));
    setHeader(message, 'previous', previous ?? '');
    setHeader(message, 'cas', stored ? 'true' : 'false');
    return exchange;
  },
  call(exchange, message) {
    message.body = textBody(camelCall('direct:helper', bodyText(message.body)));
    return exchange;
  },
  'call-denied'(exchange, message) {
    try {
      camelCall('direct:forbidden', 'x');
      setHeader(message, 'call-error', 'none');
    } catch (thrown) {
      setHeader(message, 'call-error', errorKind(thrown));
    }
    return exchange;
  },
  init(exchange, message) {
    setHeader(message, 'init-runs', String(initRuns));
    return exchange;
  },
  'route-id'(exchange, message) {
    setHeader(message, 'route-id', routeId() ?? '');
    return exchange;
  },
  correlation(exchange, message) {
    setHeader(message, 'correlation', exchange.correlationId);
    return exchange;
  },
  'stream-in'(exchange, message) {
    if (message.body.tag !== 'stream') {
      throw pluginError('type-conversion', `expected a stream body, got ${message.body.tag}`);
    }
    const data = readStream(message.body.val, 1000);
    setHeader(message, 'bytes', String(data.length));
    message.body = textBody(new TextDecoder().decode(data));
    return exchange;
  },
  'stream-out'(exchange, message) {
    const lines = Number(header(message, 'lines'));
    function* chunks() {
      for (let n = 0; n < lines; n += 1) yield encoder.encode(`${n}\n`);
    }
    message.body = bodies.body(chunks());
    return exchange;
  },
  crash() {
    throw new TypeError('conformance crash');
  },
  output(exchange) {
    exchange.output = { headers: [['made-by', { tag: 'text', val: 'output' }]], body: textBody('out') };
    return exchange;
  },
};

export function init() {
  initRuns += 1;
}

export function process(exchange) {
  const message = exchange.input;
  const name = header(message, 'case');
  const handler = CASES[name];
  if (handler === undefined) throw pluginError('not-found', `unknown case ${name}`);
  return handler(exchange, message);
}

export const bodySource = bodies.source();
