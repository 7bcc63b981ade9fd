"""The grpclib internals the transport relies on (one function, `transport._adopt`) are
still there in the pinned grpclib: this fails when an upgrade changes them."""

from __future__ import annotations

import grpclib
import grpclib.client
import grpclib.protocol
from h2.config import H2Configuration
from h2.connection import H2Connection

from mxgw import ClientOptions, GatewayClient
from mxgw.sim import SimServer
from mxgw.transport import _Channel, _Protocol, channel_for

from ..conftest import TEST_KEY


async def test_the_adopted_channel_internals_are_the_pinned_grpclibs() -> None:
    assert grpclib.__version__.startswith("0.4."), grpclib.__version__
    channel = channel_for(ClientOptions("127.0.0.1:1", api_key=TEST_KEY, plaintext=True))
    try:
        assert isinstance(channel._h2_config, H2Configuration)
        assert channel._h2_config.normalize_outbound_headers is False  # see mxgw.datapath
        assert isinstance(channel._protocol_factory(), _Protocol)
        assert callable(grpclib.client.Channel.__connect__)
        assert "_protocol_factory" in vars(grpclib.client.Channel)
        assert "__connect__" in vars(channel)  # ours, bounded by the connect timeout
        assert "close" in vars(grpclib.client.Channel)  # _Channel.close notes our closing
    finally:
        channel.close()


async def test_the_keepalive_reaches_the_h2_connection_and_grpclibs_statistics(
    sim: SimServer,
) -> None:
    async with GatewayClient.connect(sim.endpoint, api_key=TEST_KEY, plaintext=True) as c:
        await c.open_session_raw("pin")
        channel = c._grpc
        assert isinstance(channel, _Channel)
        protocol = channel.link.protocol
        assert isinstance(protocol, _Protocol)
        assert isinstance(protocol.connection, grpclib.protocol.Connection)
        assert isinstance(protocol.connection._connection, H2Connection)
        assert protocol.connection.last_data_received is not None  # set on DATA received
