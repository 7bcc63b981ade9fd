"""`version`."""

import sys
from dataclasses import dataclass, field
from typing import Any

from ... import __version__
from ..context import Context
from ..flags import ConnectionFlags
from . import command


@dataclass
class VersionFlags:
    json: bool = field(default=False, metadata={"help": "print JSON"})


def _version_text(result: dict[str, str]) -> str:
    return f"{result['name']} {result['version']} (python {result['python']})"


@command("version", "Print the mxgw version.", "mxgw version --json", VersionFlags,
         connects=False, text=_version_text, needs_loop=False)
async def version(ctx: Context, conn: ConnectionFlags, flags: VersionFlags) -> Any:
    return {"name": "mxgw", "version": __version__, "python": sys.version.split()[0]}
