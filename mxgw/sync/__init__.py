"""mxgw.sync: the client library without `await`, for scripts and notebooks.

    import mxgw.sync

    with mxgw.sync.connect() as client, client.open_session("my-script") as session:
        server = session.register("my-script")
        item = session.add_item(server, "TestMachine_001.TestChangingInt")
        session.advise(server, item)
        for event in session.events(timeout=10):
            print(event.on_data_change.value)
            break

Each object mirrors its async counterpart (`GatewayClient`, `Session`, `AlarmView`,
`GalaxyRepositoryClient`, `DurableSession`): the same calls, parameters and errors, and
streams as plain iterators. No thread: a client owns a private event loop, and each call
runs it until that call is done; between calls nothing runs, so a stream's events wait
in the connection's buffers. One thread uses a client at a time. Inside a running event
loop (async code, a Jupyter cell) every call raises RunningLoopError: use the async API
there. Ctrl-C during a call cancels it cleanly and raises KeyboardInterrupt; the client
and its sessions stay usable. A client never closed is closed once nothing uses its
connection any more (or at exit), with a ResourceWarning, as an unclosed file is.
"""

from ..errors import RunningLoopError
from .alarms import AlarmChange, AlarmView
from .client import Client, connect, connect_galaxy
from .durable import DurableSession
from .galaxy import DeployWatch, Galaxy, HierarchyObjects
from .session import Events, Session
from .streams import Stream

__all__ = [
    "AlarmChange",
    "AlarmView",
    "Client",
    "DeployWatch",
    "DurableSession",
    "Events",
    "Galaxy",
    "HierarchyObjects",
    "RunningLoopError",
    "Session",
    "Stream",
    "connect",
    "connect_galaxy",
]
