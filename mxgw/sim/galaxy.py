"""The simulated Galaxy: objects, their attributes, and reference resolution.

Walking-skeleton version: the upstream test objects only. The generated, paged Galaxy
of any size replaces the object list; `resolve` keeps its contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Native MxDataType numbers (MXACCESS.md).
MX_BOOLEAN, MX_INTEGER, MX_FLOAT, MX_DOUBLE, MX_STRING, MX_TIME, MX_ELAPSED = 1, 2, 3, 4, 5, 6, 7
DATA_TYPE_NAMES = {
    -1: "Unknown", 0: "NoData", 1: "Boolean", 2: "Integer", 3: "Float", 4: "Double",
    5: "String", 6: "Time", 7: "ElapsedTime", 8: "ReferenceType", 9: "StatusType",
    10: "DataTypeEnum", 11: "SecurityClassificationEnum", 12: "DataQualityType",
    13: "QualifiedEnum", 14: "QualifiedStruct", 15: "InternationalizedString", 16: "BigString",
}
# Security classifications.
FREE_ACCESS, OPERATE, SECURED_WRITE, VERIFIED_WRITE, TUNE, CONFIGURE, VIEW_ONLY = range(7)


@dataclass(frozen=True)
class AttributeDef:
    """One attribute of an object."""

    name: str
    data_type: int
    is_array: bool = False
    array_length: int = 0
    security: int = OPERATE
    historized: bool = False
    alarm: bool = False
    change_period_ms: int = 0
    """How often the value changes on its own (0: only when written)."""


@dataclass(frozen=True)
class GalaxyObjectDef:
    """One deployed object."""

    gobject_id: int
    tag_name: str
    contained_name: str
    parent_gobject_id: int
    category_id: int
    template_chain: tuple[str, ...]
    attributes: tuple[AttributeDef, ...] = field(default_factory=tuple)
    hierarchical_name: str = ""

    @property
    def is_area(self) -> bool:
        return self.category_id == 13


TEST_MACHINE_ATTRIBUTES = (
    AttributeDef("TestChangingInt", MX_INTEGER, historized=True, change_period_ms=1000),
    AttributeDef("TestInt", MX_INTEGER),
    AttributeDef("TestBool", MX_BOOLEAN),
    AttributeDef("TestFloat", MX_FLOAT),
    AttributeDef("TestDouble", MX_DOUBLE, change_period_ms=500),
    AttributeDef("TestString", MX_STRING),
    AttributeDef("TestTime", MX_TIME),
    AttributeDef("TestIntArray", MX_INTEGER, is_array=True, array_length=5),
    AttributeDef("SecuredSetpoint", MX_DOUBLE, security=SECURED_WRITE),
    AttributeDef("VerifiedSetpoint", MX_DOUBLE, security=VERIFIED_WRITE),
    AttributeDef("ReadOnlyValue", MX_INTEGER, security=VIEW_ONLY),
)


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
    """Objects by id and tag name, and reference resolution."""

    def __init__(self, objects: list[GalaxyObjectDef]) -> None:
        self._by_id = {o.gobject_id: o for o in objects}
        self._by_tag = {o.tag_name.lower(): o for o in objects}

    @classmethod
    def default(cls) -> GalaxyModel:
        """The upstream test Galaxy: TestMachine_001..006 and TestChildObject."""
        objects = [
            GalaxyObjectDef(1, "Plant", "Plant", 0, 13, ("$Area",)),
            GalaxyObjectDef(2, "Platform_001", "Platform_001", 1, 1, ("$WinPlatform",)),
            GalaxyObjectDef(3, "AppEngine_001", "AppEngine_001", 1, 3, ("$AppEngine",)),
        ]
        for n in range(1, 7):
            objects.append(GalaxyObjectDef(
                3 + n, f"TestMachine_{n:03d}", f"TestMachine_{n:03d}", 1, 10,
                ("$TestMachine", "$UserDefined"), TEST_MACHINE_ATTRIBUTES,
            ))
        objects.append(GalaxyObjectDef(
            10, "TestChildObject", "TestChild", 4, 10, ("$TestChild", "$UserDefined"),
            (AttributeDef("TestInt", MX_INTEGER),),
        ))
        return cls(objects)

    def objects(self) -> list[GalaxyObjectDef]:
        return list(self._by_id.values())

    def find(self, tag_name: str) -> GalaxyObjectDef | None:
        return self._by_tag.get(tag_name.lower())

    def resolve(self, reference: str) -> Resolved:
        """Resolve `Tag.Attr`, `Tag.Attr[]` or `Tag.Attr[N]` (1-based), or raise ResolveError."""
        match = _REFERENCE.match(reference.strip())
        if match is None:
            raise ResolveError(INVALID_REFERENCE, f"malformed reference {reference!r}")
        obj = self.find(match["tag"])
        attribute = None
        if obj is not None:
            attribute = next(
                (a for a in obj.attributes if a.name.lower() == match["attr"].lower()), None
            )
        if obj is None or attribute is None:
            raise ResolveError(INVALID_REFERENCE, f"{reference} does not exist")
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
