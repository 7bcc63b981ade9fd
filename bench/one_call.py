"""Cold start: one whole process that connects, makes one `Invoke` (a Write) and exits.

    python bench/one_call.py mxgw ENDPOINT
    python bench/one_call.py grpcio ENDPOINT PB2_DIR

The grpcio variant is what a grpcio.aio user writes: the generated stub, Google's
messages. The API key comes from MXGW_BENCH_KEY (bench/run.py sets it).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid


async def with_mxgw(endpoint: str, key: str) -> None:
    from mxgw import GatewayClient

    async with GatewayClient.connect(endpoint, api_key=key, plaintext=True) as client:
        await client.session("bench").write(1, 7, 42, type_name="int32")


async def with_grpcio(endpoint: str, key: str, pb2_dir: str) -> None:
    sys.path.insert(0, pb2_dir)
    import grpc
    import mxaccess_gateway_pb2 as pb2  # type: ignore[import-not-found]  # generated
    import mxaccess_gateway_pb2_grpc as pb2_grpc  # type: ignore[import-not-found]

    async with grpc.aio.insecure_channel(endpoint) as channel:
        stub = pb2_grpc.MxAccessGatewayStub(channel)
        command = pb2.MxCommand(kind=pb2.MX_COMMAND_KIND_WRITE, write_command=pb2.WriteCommand(
            server_handle=1, item_handle=7, value=pb2.MxValue(
                data_type=pb2.MX_DATA_TYPE_INTEGER, variant_type="VT_I4", int32_value=42)))
        reply = await stub.Invoke(
            pb2.MxCommandRequest(session_id="bench", command=command,
                                 client_correlation_id=uuid.uuid4().hex),
            metadata=(("authorization", f"Bearer {key}"),), timeout=30)
        if reply.protocol_status.code != pb2.PROTOCOL_STATUS_CODE_OK:
            raise SystemExit(f"protocol status {reply.protocol_status.code}")


if __name__ == "__main__":
    stack, endpoint = sys.argv[1], sys.argv[2]
    key = os.environ["MXGW_BENCH_KEY"]
    if stack == "mxgw":
        asyncio.run(with_mxgw(endpoint, key))
    else:
        asyncio.run(with_grpcio(endpoint, key, sys.argv[3]))
