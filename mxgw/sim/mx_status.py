"""Simulator-side MXAccess status building: MXSTATUS_PROXY categories, sources and proxies."""

from __future__ import annotations

from .._proto.mxaccess_gateway import v1 as pb
from ..contract.fields import constructor
from .mx_values import SHIFT

CAT_OK, CAT_PENDING, CAT_WARNING, CAT_COMMUNICATION, CAT_CONFIGURATION = 0, 1, 2, 3, 4
CAT_OPERATIONAL, CAT_SECURITY, CAT_SOFTWARE, CAT_OTHER = 5, 6, 7, 8
SRC_REQUESTING_LMX, SRC_RESPONDING_LMX, SRC_REQUESTING_NMX, SRC_RESPONDING_NMX = 0, 1, 2, 3
SRC_RESPONDING_AO = 5


_CATEGORIES = {c.value - SHIFT: c for c in pb.MxStatusCategory if c.value >= SHIFT}
_SOURCES = {s.value - SHIFT: s for s in pb.MxStatusSource if s.value >= SHIFT}
_new = constructor(pb.MxStatusProxy)  # every event and reply has one: no dataclass init


def status(category: int = CAT_OK, source: int = SRC_RESPONDING_LMX, detail: int = 0,
           text: str = "") -> pb.MxStatusProxy:
    """An MXSTATUS_PROXY with both the proto enums and the native integers."""
    proxy: pb.MxStatusProxy = _new({
        "success": -1 if category == CAT_OK else 0,
        "category": _CATEGORIES.get(category) or pb.MxStatusCategory(category + SHIFT),
        "detected_by": _SOURCES.get(source) or pb.MxStatusSource(source + SHIFT),
        "detail": detail,
        "raw_category": category,
        "raw_detected_by": source,
        "diagnostic_text": text,
    })
    return proxy
