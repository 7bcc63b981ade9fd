"""Python values to and from MxValue (the rules live in `mxgw.contract.values`)."""

from .contract.values import (
    TYPE_NAMES,
    MxPython,
    SparseArray,
    canonical_type,
    from_mx_value,
    infer_type,
    to_mx_value,
)

__all__ = ["TYPE_NAMES", "MxPython", "SparseArray", "canonical_type", "from_mx_value",
           "infer_type", "to_mx_value"]
