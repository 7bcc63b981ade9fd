"""The simulated Galaxy's vocabulary: native numbers, attribute and object definitions."""

from __future__ import annotations

from dataclasses import dataclass, field

# MXAccess's native data type numbers (the MxDataType enum on the wire is each plus 2).
MX_BOOLEAN, MX_INTEGER, MX_FLOAT, MX_DOUBLE, MX_STRING, MX_TIME, MX_ELAPSED = 1, 2, 3, 4, 5, 6, 7
DATA_TYPE_NAMES = {
    -1: "Unknown", 0: "NoData", 1: "Boolean", 2: "Integer", 3: "Float", 4: "Double",
    5: "String", 6: "Time", 7: "ElapsedTime", 8: "ReferenceType", 9: "StatusType",
    10: "DataTypeEnum", 11: "SecurityClassificationEnum", 12: "DataQualityType",
    13: "QualifiedEnum", 14: "QualifiedStruct", 15: "InternationalizedString", 16: "BigString",
}
# Security classifications.
FREE_ACCESS, OPERATE, SECURED_WRITE, VERIFIED_WRITE, TUNE, CONFIGURE, VIEW_ONLY = range(7)
# Object categories (template_definition.category_id).
CATEGORY_PLATFORM, CATEGORY_APP_ENGINE, CATEGORY_APPLICATION_OBJECT = 1, 3, 10
CATEGORY_AREA = 13
# mx_attribute_category of user-defined (dynamic) attributes.
ATTRIBUTE_CATEGORY_DYNAMIC = 2


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
        return self.category_id == CATEGORY_AREA
