"""The alarms the simulated Galaxy carries: which exist, their references, types and severities.

An attribute with `alarm=True` (the Galaxy Repository's `is_alarm`) bears alarms:

- a Boolean one is a discrete alarm (`DSC`) named after the attribute:
  `Galaxy!Plant.TestMachine_001.TestAlarm001`;
- a numeric one carries limit alarms `HiHi`, `Hi` and `Lo` (LIMITS):
  `Galaxy!Line_00002.Tank_00012.Level.HiHi`.

The group (the part between `!` and the first `.`) is the object's area: its nearest
ancestor that is an area. Nothing is enumerated up front: a reference is resolved against
the current deploy when it is used, so a Galaxy of 100,000 objects costs nothing here.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from ..contract import checks
from ..errors import ConfigurationError
from .galaxy import MX_BOOLEAN, MX_DOUBLE, MX_FLOAT, MX_INTEGER, AttributeDef, GalaxyModel, Snapshot
from .galaxy.templates import SHAPES

PROVIDER = "Galaxy"
"""The alarm provider name of the Galaxy's alarms (the part before `!`)."""

DSC_SEVERITY = 500
LIMITS: tuple[tuple[str, float, int], ...] = (
    ("HiHi", 95.0, 100), ("Hi", 85.0, 250), ("Lo", 10.0, 250),
)
"""The limit alarms of a numeric alarm attribute: (type name, limit, severity); a lower
severity is more urgent, as InTouch ranks priorities."""

_GUID_NAMESPACE = uuid.NAMESPACE_URL


def alarm_guid(reference: str) -> str:
    """An alarm's stable GUID: `uuid5(NAMESPACE_URL, reference)`, the reference spelled as
    the feed spells it (the simulator's choice; the real provider assigns its own)."""
    return str(uuid.uuid5(_GUID_NAMESPACE, reference))


class MalformedReference(ValueError):
    """An alarm reference that is not `Provider!Group.Tag`."""


@dataclass(frozen=True)
class AlarmDef:
    """One alarm of the Galaxy, as its provider describes it."""

    reference: str
    """`Galaxy!<Area>.<Tag>.<Attribute>` (and `.<Type>` for a limit alarm)."""
    source_object: str
    """The tag name of the object that bears it."""
    attribute: AttributeDef
    type_name: str
    severity: int
    area: str
    description: str
    limit: float | None = None
    """The limit of a limit alarm (None: a discrete alarm)."""

    @property
    def guid(self) -> str:
        return alarm_guid(self.reference)

    @property
    def is_limit(self) -> bool:
        return self.limit is not None


def split_reference(reference: str) -> tuple[str, str, str]:
    """`Provider!Group.Tag` split as the gateway splits it, or MalformedReference."""
    try:
        return checks.alarm_reference("alarm reference", reference)
    except ConfigurationError as exc:
        raise MalformedReference(str(exc)) from None


def area_of(snapshot: Snapshot, pos: int) -> str:
    """The tag name of the object's nearest area ancestor ("" if it has none)."""
    parent = snapshot.parents[pos]
    while parent >= 0:
        if snapshot.is_area(parent):
            return snapshot.tag(parent)
        parent = snapshot.parents[parent]
    return ""


def alarms_at(snapshot: Snapshot, pos: int) -> list[AlarmDef]:
    """The alarms of the object at `pos` (none for an object without alarm attributes or
    outside every area)."""
    shape = SHAPES[snapshot.shapes[pos]]
    if not shape.alarm_bearing:
        return []
    area = area_of(snapshot, pos)
    if not area:
        return []
    tag = snapshot.tag(pos)
    found: list[AlarmDef] = []
    for attribute in shape.attributes:
        if not attribute.alarm:
            continue
        base = f"{PROVIDER}!{area}.{tag}.{attribute.name}"
        if attribute.data_type == MX_BOOLEAN:
            found.append(AlarmDef(base, tag, attribute, "DSC", DSC_SEVERITY, area,
                                  f"{tag} {attribute.name} alarm"))
        elif attribute.data_type in (MX_DOUBLE, MX_FLOAT, MX_INTEGER):
            found.extend(
                AlarmDef(f"{base}.{type_name}", tag, attribute, type_name, severity, area,
                         f"{tag} {attribute.name} {type_name} limit {limit:g}", limit)
                for type_name, limit, severity in LIMITS)
    return found


class AlarmCatalog:
    """Looks up the Galaxy's alarms in its current deploy."""

    def __init__(self, galaxy: GalaxyModel) -> None:
        self.galaxy = galaxy

    def find(self, reference: str) -> AlarmDef | None:
        """The alarm a reference names (any case), None if the Galaxy has no such alarm;
        MalformedReference if it is not `Provider!Group.Tag`."""
        provider, _, rest = split_reference(reference)
        if provider.lower() != PROVIDER.lower():
            return None
        snapshot = self.galaxy.snapshot
        pos = snapshot.position_of_tag(rest.partition(".")[0])
        if pos is None:
            return None
        wanted = reference.lower()
        return next((a for a in alarms_at(snapshot, pos) if a.reference.lower() == wanted),
                    None)

    def of_tag(self, tag_name: str) -> list[AlarmDef]:
        """The alarms of one object, by tag name."""
        snapshot = self.galaxy.snapshot
        pos = snapshot.position_of_tag(tag_name)
        return [] if pos is None else alarms_at(snapshot, pos)

    def first_limit_alarm(self) -> AlarmDef | None:
        """The first limit alarm in depth-first order (the first tank's `Level.HiHi`)."""
        snapshot = self.galaxy.snapshot
        for pos in range(len(snapshot)):
            limit = next((a for a in alarms_at(snapshot, pos) if a.is_limit), None)
            if limit is not None:
                return limit
        return None

    def random_alarms(self, rng: random.Random, tries: int = 64) -> Iterator[AlarmDef]:
        """Alarms picked at random: objects at random positions, one of their alarms."""
        snapshot = self.galaxy.snapshot
        for _ in range(tries):
            alarms = alarms_at(snapshot, rng.randrange(len(snapshot)))
            if alarms:
                yield rng.choice(alarms)
