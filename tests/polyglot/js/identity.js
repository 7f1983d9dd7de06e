// Identity processor in JavaScript: returns the exchange unchanged (the
// per-exchange cost of a JavaScript plugin, for benches/languages.rs).

export function init() {}

export function process(exchange) {
  return exchange;
}

export const bodySource = {
  next() {
    return undefined;
  },
  cancel() {},
};
