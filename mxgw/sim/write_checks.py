"""Write validation as MXAccess does it: security classification, users, coercion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._proto.mxaccess_gateway import v1 as pb
from .galaxy import SECURED_WRITE, VERIFIED_WRITE, VIEW_ONLY, Resolved
from .mx_status import CAT_OK, CAT_OPERATIONAL, CAT_SECURITY, SRC_RESPONDING_AO, status
from .mx_values import WrongType, coerce, default_value
from .users import Users

# MXAccess detail codes (MxStatusProxy.detail) of a write that is refused.
WRONG_DATA_TYPE, NOT_WRITEABLE = 13, 1007
SECURED_WRITE_DETAIL, VERIFIED_WRITE_DETAIL = 1012, 1013
USER_LACKS_RIGHTS, VERIFIER_LACKS_RIGHTS = 1016, 1017


@dataclass(frozen=True)
class WriteOutcome:
    """What an accepted write reports in OnWriteComplete, and the value it sets."""

    status: pb.MxStatusProxy
    value: Any = None
    """The coerced value: the whole value, or one element when `index` is set."""
    index: int | None = None
    """1-based element index of an `Attr[N]` write."""

    @property
    def ok(self) -> bool:
        return self.status.raw_category == CAT_OK

    def applied_to(self, current: Any) -> Any:
        """The attribute's value after this write."""
        if self.index is None:
            return self.value
        items = list(current)
        if self.index <= len(items):
            items[self.index - 1] = self.value
        return items


def _refuse(detail: int, text: str) -> WriteOutcome:
    return WriteOutcome(status(CAT_SECURITY, SRC_RESPONDING_AO, detail, text))


def write_outcome(resolved: Resolved, current: Any, *, supervisory: bool, secured: bool,
                  value: pb.MxValue, users: Users, user_id: int,
                  verifier_id: int) -> WriteOutcome:
    """Check a write against the attribute's security and coerce its value."""
    attribute = resolved.attribute
    if attribute.security == VIEW_ONLY:
        return _refuse(NOT_WRITEABLE, f"{attribute.name} is not writeable")
    if secured and not users.valid(user_id):
        return _refuse(USER_LACKS_RIGHTS, f"user id {user_id} is not authenticated")
    if not supervisory:  # a supervisory advise writes as the client: no login needed
        if attribute.security == SECURED_WRITE and not secured:
            return _refuse(SECURED_WRITE_DETAIL,
                           f"{attribute.name} is SecuredWrite: use WriteSecured")
        if attribute.security == VERIFIED_WRITE:
            if not secured:
                return _refuse(VERIFIED_WRITE_DETAIL, f"{attribute.name} is VerifiedWrite: "
                               "use WriteSecured with a verifier")
            if verifier_id == user_id or not users.can_verify(verifier_id):
                return _refuse(VERIFIER_LACKS_RIGHTS,
                               f"verifier {verifier_id} lacks verify rights")
    ok = status(CAT_OK, SRC_RESPONDING_AO)
    try:
        if resolved.index is not None:
            if resolved.index > len(current):
                raise WrongType(f"index {resolved.index} (out of range)")
            return WriteOutcome(ok, coerce(value, attribute.data_type, False), resolved.index)
        return WriteOutcome(ok, _coerce_whole(value, attribute.data_type, attribute.is_array))
    except WrongType as exc:
        return WriteOutcome(status(CAT_OPERATIONAL, SRC_RESPONDING_AO, WRONG_DATA_TYPE,
                                   f"cannot convert {exc} to {attribute.name}'s type"))


def _coerce_whole(value: pb.MxValue, data_type: int, is_array: bool) -> Any:
    """A whole value (`Attr` or `Attr[]`); a sparse array resets unlisted positions."""
    if value.sparse_array_value is None:
        return coerce(value, data_type, is_array)
    if not is_array:
        raise WrongType("a sparse array")
    sparse = value.sparse_array_value
    result = [default_value(data_type)] * sparse.total_length
    for element in sparse.elements:
        if element.index >= sparse.total_length or element.value is None:
            raise WrongType(f"sparse index {element.index}")
        result[element.index] = coerce(element.value, data_type, False)
    return result
