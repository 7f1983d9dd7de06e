// `{{name}}`: a camel-wasm policy plugin (world `policy`) in JavaScript: it
// decides whether an authenticated caller may run a route
// (`security_policy: { wasm: <name> }`) or perform an action on a resource
// (a permission evaluator). Anything but a grant denies.

let role;

const require = (condition, reason) => (condition ? { tag: 'grant' } : { tag: 'deny', val: reason });

// The policy's `config` pairs from Camel.toml; this one needs `role`.
export function init(pairs) {
  role = new Map(pairs).get('role');
  if (!role) throw 'the configuration needs `role`';
}

export function evaluate(check) {
  if (check.tag === 'route') {
    // Route checks: granted to callers holding the configured role.
    const { principal } = check.val;
    return require(principal.roles.includes(role), `\`${principal.subject}\` lacks role \`${role}\``);
  }
  // Permission checks: reading is granted to the role, the rest denied.
  const { principal, action, resource } = check.val;
  return require(
    action === 'read' && principal.roles.includes(role),
    `\`${principal.subject}\` may not ${action} ${resource}`,
  );
}
