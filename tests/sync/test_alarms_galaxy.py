"""The blocking Galaxy client and alarm calls against a simulator in another process
(its alarms change only when a test acknowledges one)."""

from __future__ import annotations

import pytest

import mxgw
import mxgw.sync
from mxgw import pb

from ..conftest import TEST_KEY
from .conftest import Gateway

ACTIVE_REF = "Galaxy!Plant.TestMachine_001.TestAlarm001"     # active, unacknowledged at start
ACKED_REF = "Galaxy!Plant.TestMachine_002.TestAlarm001"      # acknowledged at start
K, S = pb.AlarmTransitionKind, pb.AlarmConditionState


def test_iter_hierarchy_is_a_plain_iterator_over_the_same_objects(
        client: mxgw.sync.Client) -> None:
    galaxy = client.galaxy()
    listed = galaxy.discover_hierarchy(tag_name_glob="TestMachine_*")
    assert len(listed) == 6  # TestMachine_001 .. 006
    before = galaxy.pages_fetched
    objects = galaxy.iter_hierarchy(tag_name_glob="TestMachine_*", page_size=3)
    assert objects.total_object_count is None  # no page yet
    iterated = [obj.tag_name for obj in objects]
    assert iterated == [obj.tag_name for obj in listed]
    assert objects.total_object_count == 6  # for a progress display
    assert galaxy.pages_fetched - before == 2  # pages of 3
    top = galaxy.browse_children(0)
    assert top and all(isinstance(obj, mxgw.GalaxyObject) for obj in top)
    assert galaxy.test_connection() is True
    quick = galaxy.with_timeout(5)
    quick.ensure_connected()
    quick.close()  # leaves the connection to its owner
    assert galaxy.test_connection() is True and not galaxy.closed
    with pytest.raises(mxgw.ConfigurationError):
        galaxy.iter_hierarchy(max_depth=-1)


def test_connect_galaxy_owns_its_connection(gateway: Gateway) -> None:
    with mxgw.sync.connect_galaxy(gateway.endpoint, api_key=TEST_KEY,
                                  plaintext=True) as galaxy:
        deploys = galaxy.watch_deploy_events()
        current = next(deploys)
        assert isinstance(current, mxgw.DeployEvent)
        deploy_time = galaxy.get_last_deploy_time()
        assert deploy_time is not None and deploy_time.tzinfo is not None
    assert galaxy.closed and deploys.closed
    with pytest.raises(mxgw.ConfigurationError, match="closed"):
        galaxy.test_connection()


def test_the_deploy_watch_is_a_plain_iterator_with_its_health(client: mxgw.sync.Client) -> None:
    galaxy = client.galaxy()
    with galaxy.deploy_watch() as watch:
        change = next(watch)
        assert isinstance(change, mxgw.DeployChange) and not change.synthetic
        assert change.time_of_last_deploy == galaxy.get_last_deploy_time()
        assert watch.state.value == "connected" and watch.reconnects == 0
        assert watch.last_event_at is not None
    assert watch.closed and watch.state is mxgw.DurableState.CLOSED


def test_query_acknowledge_and_the_alarm_view_without_await(
        client: mxgw.sync.Client) -> None:
    active = {a.alarm_full_reference: a.current_state for a in client.query_active_alarms()}
    assert active[ACTIVE_REF] == S.ACTIVE and active[ACKED_REF] == S.ACTIVE_ACKED
    with client.alarm_view("Galaxy!Plant", timeout=10) as view:  # the snapshot, taken here
        assert view.active[ACTIVE_REF].current_state == S.ACTIVE
        assert view.by_urgency()[0].current_state == S.ACTIVE
        client.acknowledge_alarm(ACTIVE_REF, "from a script", operator="Operator1")
        change = next(view)
        assert (change.reference, change.kind, change.synthetic) == (
            ACTIVE_REF, K.ACKNOWLEDGE, False)
        assert view.active[ACTIVE_REF].current_state == S.ACTIVE_ACKED
        assert view.provider is not None
    assert view.closed
    with pytest.raises(mxgw.AlarmAcknowledgeError):
        client.acknowledge_alarm("Galaxy!NoSuchArea.NoSuchTag.NoAlarm", "x",
                                 operator="Operator1")
    feed = client.stream_alarms("Galaxy!Plant")
    first = next(feed)
    assert first.active_alarm is not None
    feed.close()


def test_an_alarm_view_whose_for_loop_times_out_stays_open(
        client: mxgw.sync.Client) -> None:
    view = client.alarm_view("Galaxy!NoSuchArea", timeout=0.3)
    with view:
        assert dict(view.active) == {}
        assert list(view) == [] and view.timed_out and not view.closed
    assert view.closed
