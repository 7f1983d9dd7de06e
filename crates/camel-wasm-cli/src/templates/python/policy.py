"""`{{name}}`: a camel-wasm policy plugin (world `policy`) in Python: it
decides whether an authenticated caller may run a route
(`security_policy: { wasm: <name> }`) or perform an action on a resource (a
permission evaluator). Anything but a grant denies."""

import wit_world
from componentize_py_types import Err
from wit_world.imports import policy_types
from wit_world.imports.policy_types import (
    Check_Permission,
    Check_Route,
    Decision_Deny,
    Decision_Grant,
)

ROLE = []


def require(condition: bool, reason: str) -> policy_types.Decision:
    return Decision_Grant() if condition else Decision_Deny(reason)


class WitWorld(wit_world.WitWorld):
    def init(self, config) -> None:
        """The policy's `config` pairs from Camel.toml; this one needs
        `role`."""
        role = dict(config).get("role")
        if not role:
            raise Err("the configuration needs `role`")
        ROLE.append(role)

    def evaluate(self, check: policy_types.Check) -> policy_types.Decision:
        role = ROLE[0]
        if isinstance(check, Check_Route):
            # Route checks: granted to callers holding the configured role.
            principal = check.value.principal
            return require(role in principal.roles, f"`{principal.subject}` lacks role `{role}`")
        assert isinstance(check, Check_Permission)
        # Permission checks: reading is granted to the role, the rest denied.
        request = check.value
        return require(
            request.action == "read" and role in request.principal.roles,
            f"`{request.principal.subject}` may not {request.action} {request.resource}",
        )
