"""A user's program written against mxgw.sync, for the type checker only (`mypy --strict
mxgw tests`, run by tests/test_static.py; pytest does not collect it): the blocking calls
have the async API's real signatures, not `Any`. Each `assert_type` states what a call
returns; each misuse is an error mypy must report, or its `type: ignore` is unused, which
--strict (warn_unused_ignores) reports instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

import mxgw.sync
from mxgw import BulkResults, DeployEvent, GalaxyObject, WriteItem, pb
from mxgw.durable import DurableEvent, DurableHealth

if TYPE_CHECKING:
    from typing_extensions import assert_type


def program() -> None:
    with mxgw.sync.connect("gateway:5001", api_key="k", ca_file="ca.pem",
                           timeout=5.0) as client:
        assert_type(client, mxgw.sync.Client)
        mxgw.sync.connect(plaintext="yes")  # type: ignore[arg-type]
        mxgw.sync.connect(no_such_option=1)  # type: ignore[call-arg]
        with client.open_session("typed") as session:
            assert_type(session, mxgw.sync.Session)
            assert_type(session.client, mxgw.sync.Client)
            server = session.register("typed")
            assert_type(server, int)
            session.register(1)  # type: ignore[arg-type]
            session.register()  # type: ignore[call-arg]
            item = session.add_item(server, "Tag.Attribute")
            assert_type(session.advise(server, item), pb.MxCommandReply)
            assert_type(session.write(server, item, 1, type_name="int32"), pb.MxCommandReply)
            session.write(server, item, 1, type_nam="int32")  # type: ignore[call-arg]
            assert_type(session.write_bulk(server, [(item, 1), WriteItem(item, 2)]),
                        BulkResults[pb.BulkWriteResult])
            assert_type(session.read_bulk(server, ["Tag.Attribute"], timeout_ms=100),
                        BulkResults[pb.BulkReadResult])
            assert_type(session.close(), pb.CloseSessionReply)
            with session.events(timeout=1.0) as events:
                assert_type(events, mxgw.sync.Events)
                for event in events:
                    assert_type(event, pb.MxEvent)
                assert_type(events.last_sequence, int)
                assert_type(events.timed_out, bool)
            session.events(timeout="1")  # type: ignore[arg-type]
        assert_type(client.query_active_alarms("Galaxy!"), list[pb.ActiveAlarmSnapshot])
        assert_type(client.acknowledge_alarm("Galaxy!A.B.C", "ok", operator="me"),
                    pb.AcknowledgeAlarmReply)
        client.acknowledge_alarm("Galaxy!A.B.C", "ok")  # type: ignore[call-arg]
        with client.alarm_view("Galaxy!", timeout=2.0) as view:
            assert_type(view, mxgw.sync.AlarmView)
            assert_type(view.active, Mapping[str, pb.ActiveAlarmSnapshot])
            for change in view:
                assert_type(change, mxgw.sync.AlarmChange)
        client.ensure_connected()  # mirrored from the base class both clients share
        assert_type(client.with_timeout(1.0), mxgw.sync.Client)
        galaxy = client.galaxy()
        assert_type(galaxy, mxgw.sync.Galaxy)
        galaxy.ensure_connected()
        assert_type(galaxy.with_timeout(1.0), mxgw.sync.Galaxy)
        objects = galaxy.iter_hierarchy(tag_name_glob="Pump_*")
        for obj in objects:
            assert_type(obj, GalaxyObject)
        assert_type(objects.total_object_count, int | None)
        assert_type(galaxy.browse_children(0), list[GalaxyObject])
        assert_type(galaxy.get_last_deploy_time(), dt.datetime | None)
        for deploy in galaxy.watch_deploy_events():
            assert_type(deploy, DeployEvent)
        for message in client.stream_alarms():
            assert_type(message, pb.AlarmFeedMessage)
        with client.durable_session("typed", max_attempts=3) as durable:
            assert_type(durable, mxgw.sync.DurableSession)
            assert_type(durable.register("typed"), int)
            assert_type(durable.health(), DurableHealth)
            for durable_event in durable.events(timeout=1.0):
                assert_type(durable_event, DurableEvent)
    with mxgw.sync.connect_galaxy() as own_galaxy:
        assert_type(own_galaxy, mxgw.sync.Galaxy)
