"""Reading MXAccess statuses (an OnWriteComplete's, MxAccessError.statuses) with the two
helpers `mxgw` exports: failure or not, and one line to print."""

from __future__ import annotations

import mxgw
from mxgw import pb

C, S = pb.MxStatusCategory, pb.MxStatusSource


def status(category: pb.MxStatusCategory, detail: int = 0, text: str = "") -> pb.MxStatusProxy:
    return pb.MxStatusProxy(category=category, detected_by=S.REQUESTING_LMX, detail=detail,
                            diagnostic_text=text)


def test_only_an_error_category_is_a_failure() -> None:
    fine = [C.OK, C.PENDING, C.WARNING, C.UNKNOWN, C.UNSPECIFIED]
    failed = [C.COMMUNICATION_ERROR, C.CONFIGURATION_ERROR, C.OPERATIONAL_ERROR,
              C.SECURITY_ERROR, C.SOFTWARE_ERROR, C.OTHER_ERROR]
    assert not any(mxgw.is_error_status(status(c)) for c in fine)
    assert all(mxgw.is_error_status(status(c)) for c in failed)
    assert set(fine) | set(failed) == set(C)  # every category is one or the other


def test_a_status_reads_as_one_line() -> None:
    assert mxgw.describe_status(status(C.SECURITY_ERROR, 5, "write access denied")) == (
        "MX_STATUS_CATEGORY_SECURITY_ERROR detected by MX_STATUS_SOURCE_REQUESTING_LMX "
        "detail 5 (write access denied)")
    assert mxgw.describe_status(status(C.OK)) == (
        "MX_STATUS_CATEGORY_OK detected by MX_STATUS_SOURCE_REQUESTING_LMX detail 0")
