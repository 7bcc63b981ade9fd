"""The simulated Galaxy users that AuthenticateUser, ArchestrAUserToId and WriteSecured know."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimUser:
    """One user: name, password, MXAccess user id, GUID, and whether it may verify writes."""

    name: str
    password: str
    user_id: int
    may_verify: bool

    @property
    def guid(self) -> str:
        return f"00000000-0000-0000-0000-{self.user_id:012d}"


DEFAULT_USERS = (
    SimUser("operator", "operator", 101, False),
    SimUser("supervisor", "supervisor", 102, True),
    SimUser("engineer", "engineer", 103, True),
)


class Users:
    """Lookup of the simulated users (`DOMAIN\\user` names are accepted)."""

    def __init__(self, users: tuple[SimUser, ...] = DEFAULT_USERS) -> None:
        self._by_name = {u.name.lower(): u for u in users}
        self._by_id = {u.user_id: u for u in users}
        self._by_guid = {u.guid: u for u in users}

    def authenticate(self, user_name: str, password: str) -> int | None:
        """The user id for a correct name and password, else None."""
        user = self._by_name.get(user_name.split("\\")[-1].lower())
        return user.user_id if user is not None and user.password == password else None

    def valid(self, user_id: int) -> bool:
        return user_id in self._by_id

    def can_verify(self, user_id: int) -> bool:
        user = self._by_id.get(user_id)
        return user is not None and user.may_verify

    def from_guid(self, guid: str) -> int | None:
        user = self._by_guid.get(guid.strip().strip("{}").lower())
        return user.user_id if user is not None else None
