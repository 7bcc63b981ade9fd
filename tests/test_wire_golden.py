"""Golden wire tests: our betterproto2 bindings and Google's protobuf runtime agree on bytes.

The Google bindings are generated from the same protos/ with grpcio-tools for this session.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import json_format

from mxgw import pb

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def google_pb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("google_pb")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'protos'}",
         f"--python_out={out}", "mxaccess_gateway.proto", "galaxy_repository.proto"],
        check=True, cwd=ROOT / "protos",
    )
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("mxaccess_gateway_pb2")
    finally:
        sys.path.remove(str(out))


def register_ok_reply() -> pb.MxCommandReply:
    """Fixture 1: a Register reply, hresult 0, return value int32 12, one OK status."""
    return pb.MxCommandReply(
        session_id="session-0123456789abcdef0123456789abcdef",
        correlation_id="c-1",
        kind=pb.MxCommandKind.REGISTER,
        protocol_status=pb.ProtocolStatus(code=pb.ProtocolStatusCode.OK),
        hresult=0,
        return_value=pb.MxValue(data_type=pb.MxDataType.INTEGER, variant_type="VT_I4",
                                int32_value=12),
        statuses=[pb.MxStatusProxy(success=-1, category=pb.MxStatusCategory.OK,
                                   detected_by=pb.MxStatusSource.RESPONDING_LMX,
                                   raw_category=0, raw_detected_by=1)],
        register=pb.RegisterReply(server_handle=12),
    )


def write_failure_reply() -> pb.MxCommandReply:
    """Fixture 2: a Write reply with MXACCESS_FAILURE, hresult 0x80040200, a null return
    value and two statuses whose raw numbers do not match the native enums."""
    return pb.MxCommandReply(
        session_id="session-0123456789abcdef0123456789abcdef",
        correlation_id="c-2",
        kind=pb.MxCommandKind.WRITE,
        protocol_status=pb.ProtocolStatus(code=pb.ProtocolStatusCode.MXACCESS_FAILURE,
                                          message="write failed"),
        hresult=-2147220992,
        return_value=pb.MxValue(data_type=pb.MxDataType.NO_DATA, variant_type="VT_EMPTY",
                                is_null=True),
        statuses=[
            pb.MxStatusProxy(category=pb.MxStatusCategory.SECURITY_ERROR,
                             detected_by=pb.MxStatusSource.RESPONDING_LMX, detail=321,
                             raw_category=8, raw_detected_by=3),
            pb.MxStatusProxy(category=pb.MxStatusCategory.OPERATIONAL_ERROR,
                             detected_by=pb.MxStatusSource.RESPONDING_NMX, detail=902,
                             raw_category=7, raw_detected_by=5),
        ],
    )


def google_register_ok(g: ModuleType) -> object:
    return g.MxCommandReply(
        session_id="session-0123456789abcdef0123456789abcdef", correlation_id="c-1",
        kind=g.MX_COMMAND_KIND_REGISTER,
        protocol_status=g.ProtocolStatus(code=g.PROTOCOL_STATUS_CODE_OK), hresult=0,
        return_value=g.MxValue(data_type=g.MX_DATA_TYPE_INTEGER, variant_type="VT_I4",
                               int32_value=12),
        statuses=[g.MxStatusProxy(success=-1, category=g.MX_STATUS_CATEGORY_OK,
                                  detected_by=g.MX_STATUS_SOURCE_RESPONDING_LMX,
                                  raw_category=0, raw_detected_by=1)],
        register=g.RegisterReply(server_handle=12),
    )


def google_write_failure(g: ModuleType) -> object:
    return g.MxCommandReply(
        session_id="session-0123456789abcdef0123456789abcdef", correlation_id="c-2",
        kind=g.MX_COMMAND_KIND_WRITE,
        protocol_status=g.ProtocolStatus(code=g.PROTOCOL_STATUS_CODE_MXACCESS_FAILURE,
                                         message="write failed"),
        hresult=-2147220992,
        return_value=g.MxValue(data_type=g.MX_DATA_TYPE_NO_DATA, variant_type="VT_EMPTY",
                               is_null=True),
        statuses=[
            g.MxStatusProxy(category=g.MX_STATUS_CATEGORY_SECURITY_ERROR,
                            detected_by=g.MX_STATUS_SOURCE_RESPONDING_LMX, detail=321,
                            raw_category=8, raw_detected_by=3),
            g.MxStatusProxy(category=g.MX_STATUS_CATEGORY_OPERATIONAL_ERROR,
                            detected_by=g.MX_STATUS_SOURCE_RESPONDING_NMX, detail=902,
                            raw_category=7, raw_detected_by=5),
        ],
    )


CASES = [(register_ok_reply, google_register_ok), (write_failure_reply, google_write_failure)]


@pytest.mark.parametrize(("ours", "theirs"), CASES, ids=["register-ok", "write-failure"])
def test_bytes_match_google_protobuf(google_pb: ModuleType, ours, theirs) -> None:  # type: ignore[no-untyped-def]
    expected = theirs(google_pb).SerializeToString(deterministic=True)
    assert bytes(ours()) == expected
    assert pb.MxCommandReply.parse(expected) == ours()


@pytest.mark.parametrize(("ours", "theirs"), CASES, ids=["register-ok", "write-failure"])
def test_json_round_trips_through_google_json_format(google_pb: ModuleType, ours, theirs) -> None:  # type: ignore[no-untyped-def]
    ours_json = ours().to_json()
    parsed = json_format.Parse(ours_json, google_pb.MxCommandReply())
    assert parsed == theirs(google_pb)
    back = pb.MxCommandReply.from_json(json_format.MessageToJson(parsed))
    assert back == ours()
    assert '"MX_COMMAND_KIND_' in ours_json and '"PROTOCOL_STATUS_CODE_' in ours_json


def test_write_failure_fixture_is_detected_as_mxaccess_failure() -> None:
    from mxgw.failures import mxaccess_failure

    failure = mxaccess_failure(write_failure_reply())
    assert failure is not None
    assert failure.hresult == -2147220992
    assert "0x80040200" in str(failure) and "detail 321" in str(failure)
    assert mxaccess_failure(register_ok_reply()) is None
