"""The simulated Galaxy: a generated, seeded object hierarchy, redeploys, and reference
resolution.

`GalaxyModel.default(objects=N, seed=S)` builds a deterministic Galaxy of N objects (from
the ten upstream test objects up to 100,000 and more): nested areas (sites, units,
lines), platforms, engines, and application objects derived from `$Pump`, `$VFDPump`,
`$Valve`, `$ControlValve`, `$Tank` (containing two valves), `$Motor`, `$Conveyor` and
`$Analyzer`, with 5-50 attributes each. It always holds `Plant`, `Platform_001`,
`AppEngine_001`, `TestMachine_001`..`TestMachine_006` (with `TestChangingInt`, an integer
that changes on its own) and `TestChildObject` (`TestMachine_001.TestChild`).
Objects are derived from a compact snapshot on demand (see `snapshot`).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .defs import AttributeDef, GalaxyObjectDef
from .snapshot import FIRST_DEPLOY, FIXED_COUNT, Counters, Snapshot, generate, redeployed
from .templates import SHAPES

DEFAULT_OBJECTS = 200
"""Objects in `GalaxyModel.default()` unless told otherwise."""


@dataclass(frozen=True)
class Resolved:
    """A reference resolved against the Galaxy."""

    obj: GalaxyObjectDef
    attribute: AttributeDef
    index: int | None
    """1-based element index for `Attr[N]`, None for a scalar or a whole array."""
    whole_array: bool


class ResolveError(Exception):
    """A reference that does not resolve; `detail` is the MXAccess detail code."""

    def __init__(self, detail: int, message: str) -> None:
        super().__init__(message)
        self.detail = detail


INVALID_REFERENCE, INDEX_OUT_OF_RANGE, INVALID_INDEX = 6, 1003, 15
_REFERENCE = re.compile(r"^(?P<tag>[^.\[\]]+)\.(?P<attr>[^\[\]]+?)(?P<index>\[(?P<n>\d*)\])?$")


class GalaxyModel:
    """The deployed Galaxy (`snapshot`), its redeploys, and reference resolution."""

    def __init__(self, objects: int = DEFAULT_OBJECTS, seed: int = 0) -> None:
        if objects < FIXED_COUNT:
            objects = FIXED_COUNT
        self.seed = seed
        self._counters = Counters()
        self.snapshot = Snapshot(generate(objects, seed, self._counters), 1, FIRST_DEPLOY)
        """The current deploy; replaced (never changed) by `redeploy`."""

    @classmethod
    def default(cls, objects: int = DEFAULT_OBJECTS, seed: int = 0) -> GalaxyModel:
        """A generated Galaxy of `objects` objects (at least the ten upstream test objects)."""
        return cls(objects, seed)

    @property
    def version(self) -> int:
        """The deploy (cache) version: 1, then +1 on every redeploy."""
        return self.snapshot.version

    @property
    def deploy_time(self) -> dt.datetime:
        return self.snapshot.deploy_time

    def __len__(self) -> int:
        return len(self.snapshot)

    def iter_objects(self) -> Iterator[GalaxyObjectDef]:
        """Every object in depth-first order, built one at a time."""
        snapshot = self.snapshot
        return (snapshot.object_at(pos) for pos in range(len(snapshot)))

    def objects(self) -> list[GalaxyObjectDef]:
        """Every object in one list: for small Galaxies (prefer `iter_objects`)."""
        return list(self.iter_objects())

    def find(self, tag_name: str) -> GalaxyObjectDef | None:
        snapshot = self.snapshot
        pos = snapshot.position_of_tag(tag_name)
        return None if pos is None else snapshot.object_at(pos)

    def find_id(self, gobject_id: int) -> GalaxyObjectDef | None:
        snapshot = self.snapshot
        pos = snapshot.position_of_id(gobject_id)
        return None if pos is None else snapshot.object_at(pos)

    def redeploy(self, changes: int | None = None,
                 now: dt.datetime | None = None) -> Snapshot:
        """Deploy again: remove `changes` generated objects, add as many new ones, bump
        the version and the deploy time (strictly later than the previous one)."""
        old = self.snapshot
        if changes is None:
            changes = max(1, min(20, len(old) // 100))
        when = now or dt.datetime.now(dt.timezone.utc)
        when = max(when, old.deploy_time + dt.timedelta(milliseconds=1))
        rng = random.Random(self.seed * 1_000_003 + old.version)
        self.snapshot = redeployed(old, rng, self._counters, changes, when)
        return self.snapshot

    def resolve(self, reference: str) -> Resolved:
        """Resolve `Tag.Attr`, `Tag.Attr[]` or `Tag.Attr[N]` (1-based), or raise ResolveError."""
        match = _REFERENCE.match(reference.strip())
        if match is None:
            raise ResolveError(INVALID_REFERENCE, f"malformed reference {reference!r}")
        snapshot = self.snapshot
        pos = snapshot.position_of_tag(match["tag"])
        attribute = None
        if pos is not None:
            attribute = SHAPES[snapshot.shapes[pos]].by_name.get(match["attr"].lower())
        if pos is None or attribute is None:
            raise ResolveError(INVALID_REFERENCE, f"{reference} does not exist")
        obj = snapshot.object_at(pos)
        if match["index"] is None:
            if attribute.is_array:
                raise ResolveError(INDEX_OUT_OF_RANGE, f"{reference} is an array: use [] or [N]")
            return Resolved(obj, attribute, None, False)
        if not attribute.is_array:
            raise ResolveError(INVALID_INDEX, f"{reference}: {attribute.name} is not an array")
        if match["n"] == "":
            return Resolved(obj, attribute, None, True)
        index = int(match["n"])
        if index < 1:
            raise ResolveError(INDEX_OUT_OF_RANGE, f"{reference}: indexes start at 1")
        return Resolved(obj, attribute, index, False)
