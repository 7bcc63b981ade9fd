"""API keys with scopes, checked in grpclib's RecvRequest hook before any handler runs."""

from __future__ import annotations

import contextvars
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grpclib.const import Status
from grpclib.events import RecvRequest, listen
from grpclib.exceptions import GRPCError
from grpclib.server import Server

from ..hpack_logging import keep_secrets_out_of_hpack_logs

if TYPE_CHECKING:
    from .galaxy import GalaxyModel

ALL_SCOPES = (
    "session:open", "session:close", "invoke:read", "invoke:write", "invoke:secure",
    "events:read", "metadata:read", "admin",
)

METHOD_SCOPES = {
    "/mxaccess_gateway.v1.MxAccessGateway/OpenSession": "session:open",
    "/mxaccess_gateway.v1.MxAccessGateway/CloseSession": "session:close",
    "/mxaccess_gateway.v1.MxAccessGateway/StreamEvents": "events:read",
    "/mxaccess_gateway.v1.MxAccessGateway/AcknowledgeAlarm": "invoke:write",
    "/mxaccess_gateway.v1.MxAccessGateway/StreamAlarms": "events:read",
    "/mxaccess_gateway.v1.MxAccessGateway/QueryActiveAlarms": "events:read",
    # Invoke is checked per command kind by the handler.
    "/mxaccess_gateway.v1.MxAccessGateway/Invoke": None,
}
GALAXY_PREFIX = "/galaxy_repository.v1.GalaxyRepository/"
SUBTREE_PREFIX = "subtree:"
"""A pseudo-scope `subtree:TagName` limits a key to the objects under TagName (repeatable)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key id (never the secret) and its scopes."""

    key_id: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    @property
    def subtrees(self) -> frozenset[str]:
        """Lower-cased tag names of the Galaxy subtrees this key is limited to (empty: all)."""
        return frozenset(s[len(SUBTREE_PREFIX):].lower() for s in self.scopes
                         if s.startswith(SUBTREE_PREFIX))


current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "mxgw_sim_principal", default=None
)


def generate_key() -> str:
    """A new key in the gateway's `mxgw_<id>_<secret>` form."""
    return f"mxgw_{secrets.token_hex(4)}_{secrets.token_urlsafe(24).replace('_', 'x')}"


def parse_key_spec(spec: str) -> tuple[str, frozenset[str]]:
    """`KEY` (every scope) or `KEY=scope,scope` -> (key, scopes).

    A scope `subtree:TagName` (repeatable) limits the key to the Galaxy objects under
    TagName: other references are refused (per entry in bulk commands).
    """
    key, sep, scope_text = spec.partition("=")
    if not key_id(key):
        raise ValueError("an API key must look like mxgw_<id>_<secret>")
    scopes = frozenset(s.strip() for s in scope_text.split(",") if s.strip()) if sep else frozenset(
        ALL_SCOPES
    )
    unknown = {s for s in scopes - set(ALL_SCOPES)
               if not (s.startswith(SUBTREE_PREFIX) and len(s) > len(SUBTREE_PREFIX))}
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    return key, scopes


def key_id(key: str) -> str | None:
    """The id part of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "mxgw" or not parts[1] or not parts[2]:
        return None
    return parts[1]


class KeyStore:
    """The keys a simulated gateway accepts."""

    def __init__(self, keys: dict[str, frozenset[str]]) -> None:
        self._keys = dict(keys)

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller for an `authorization` header, or UNAUTHENTICATED."""
        if not authorization or not authorization.startswith("Bearer "):
            raise GRPCError(Status.UNAUTHENTICATED, "missing bearer API key")
        presented = authorization[len("Bearer "):].strip()
        for key, scopes in self._keys.items():
            if hmac.compare_digest(key.encode(), presented.encode()):
                return Principal(key_id(key) or "?", scopes)
        raise GRPCError(Status.UNAUTHENTICATED, "invalid API key")

    def install(self, server: Server) -> None:
        """Authenticate every call on `server` and check its method's scope."""
        keep_secrets_out_of_hpack_logs()  # hpack's DEBUG records would show the keys

        async def on_request(event: RecvRequest) -> None:
            header = event.metadata.get("authorization")
            principal = self.authenticate(header if isinstance(header, str) else None)
            scope = METHOD_SCOPES.get(event.method_name)
            if event.method_name.startswith(GALAXY_PREFIX):
                scope = "metadata:read"
            if scope is not None and not principal.allows(scope):
                raise GRPCError(Status.PERMISSION_DENIED, f"API key lacks scope {scope}")
            current_principal.set(principal)

        listen(server, RecvRequest, on_request)


def require(scope: str) -> None:
    """Raise PERMISSION_DENIED unless the current caller has `scope` (no-op without auth)."""
    principal = current_principal.get()
    if principal is not None and not principal.allows(scope):
        raise GRPCError(Status.PERMISSION_DENIED, f"API key lacks scope {scope}")


def refused_reference(galaxy: GalaxyModel, reference: str) -> str | None:
    """Why the current caller's key may not use `reference` (None: it may)."""
    principal = current_principal.get()
    subtrees = principal.subtrees if principal is not None else frozenset()
    if not subtrees:
        return None
    obj = galaxy.find(reference.strip().split(".", 1)[0])
    for _ in range(64):  # containment depth; guards against a cycle
        if obj is None:
            break
        if obj.tag_name.lower() in subtrees:
            return None
        obj = galaxy.find_id(obj.parent_gobject_id) if obj.parent_gobject_id else None
    return f"{reference} is outside the Galaxy subtrees this API key may use"
