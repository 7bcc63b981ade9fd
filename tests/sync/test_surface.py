"""Each blocking class offers every public call of its async twin, so a method added to
the async API without its blocking form fails here."""

from __future__ import annotations

import inspect

import pytest

import mxgw
import mxgw.sync

PAIRS = [(mxgw.GatewayClient, mxgw.sync.Client), (mxgw.Session, mxgw.sync.Session),
         (mxgw.GalaxyRepositoryClient, mxgw.sync.Galaxy), (mxgw.AlarmView, mxgw.sync.AlarmView),
         (mxgw.DurableSession, mxgw.sync.DurableSession), (mxgw.EventStream, mxgw.sync.Events),
         (mxgw.DeployWatch, mxgw.sync.DeployWatch)]
ELSEWHERE = {
    "SERVICE": "the service path, not a call",
    "connect": "mxgw.sync.connect and mxgw.sync.connect_galaxy",
    "owner": "the connection's owner is the async client's business",
    "aclose": "close()",
    "open": "client.durable_session(...) (AlarmView.open is mirrored)",
}


@pytest.mark.parametrize(("async_class", "sync_class"), PAIRS,
                         ids=[sync.__name__ for _, sync in PAIRS])
def test_every_public_call_has_its_blocking_form(async_class: type, sync_class: type) -> None:
    public = {name for name in dir(async_class) if not name.startswith("_")}
    missing = {name for name in public - set(ELSEWHERE) if not hasattr(sync_class, name)}
    assert not missing, f"mxgw.sync.{sync_class.__name__} lacks {sorted(missing)}"
    if async_class is mxgw.AlarmView:
        assert hasattr(sync_class, "open")


def test_a_mirrored_call_shows_its_async_twins_parameters_and_doc() -> None:
    assert inspect.signature(mxgw.sync.Session.write) == inspect.signature(mxgw.Session.write)
    assert mxgw.sync.Session.write.__doc__ == mxgw.Session.write.__doc__
