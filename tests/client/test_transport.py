"""The grpclib internals the transport relies on (one function, `transport._adopt`) are
still there in the pinned grpclib: this fails when an upgrade changes them."""

from __future__ import annotations

import grpclib
import grpclib.client
import grpclib.protocol
from h2.config import H2Configuration

from mxgw import ClientOptions
from mxgw.transport import _Protocol, channel_for

from ..conftest import TEST_KEY


async def test_the_adopted_channel_internals_are_the_pinned_grpclibs() -> None:
    assert grpclib.__version__.startswith("0.4."), grpclib.__version__
    channel = channel_for(ClientOptions("127.0.0.1:1", api_key=TEST_KEY, plaintext=True))
    try:
        assert isinstance(channel._h2_config, H2Configuration)
        assert channel._h2_config.normalize_outbound_headers is True
        assert isinstance(channel._protocol_factory(), _Protocol)
        assert callable(grpclib.client.Channel.__connect__)
        assert "_protocol_factory" in vars(grpclib.client.Channel)
        # transport._keepalive_expired: the timer that closes a connection whose ping
        # went unanswered (test_logging.py sees it fire).
        assert "_close_by_ping_handler" in vars(grpclib.protocol.Connection)
    finally:
        channel.close()
