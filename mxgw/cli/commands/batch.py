"""`batch`: many commands through one process (see mxgw/cli/batch.py)."""

import sys
from dataclasses import dataclass
from typing import Any

from ..context import Context
from ..flags import ConnectionFlags
from . import command


@dataclass
class BatchFlags:
    pass


@command("batch", "Read one command line per stdin line (shell quoting) and run each in this "
         "process, reusing one connection per endpoint (and one simulator for --sim); after "
         "each, print its JSON result or error envelope and a line __MXGW_BATCH_EOR__. An "
         "empty line or EOF ends the batch.",
         "printf 'version\\nopen-session --sim\\n' | mxgw batch", BatchFlags,
         connects=False, streams=True)
async def batch(ctx: Context, conn: ConnectionFlags, flags: BatchFlags) -> Any:
    from ..batch import run_batch

    await run_batch(ctx, sys.stdin)
    return None
