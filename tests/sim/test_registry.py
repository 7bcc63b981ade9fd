"""The command table is assembled explicitly from the handler modules' own tables."""

from __future__ import annotations

import pytest

from mxgw._proto.mxaccess_gateway import v1 as pb
from mxgw.sim import alarm_commands, bulk_commands, single_commands
from mxgw.sim.invoke import HANDLERS
from mxgw.sim.registry import HandlerTable, Result, merged
from mxgw.sim.session import SimSession

K = pb.MxCommandKind


def test_the_table_holds_every_handler_module_and_nothing_else() -> None:
    assert HANDLERS == {**single_commands.HANDLERS.entries, **bulk_commands.HANDLERS.entries,
                        **alarm_commands.HANDLERS.entries}
    assert K.ACKNOWLEDGE_ALARM_BY_NAME in alarm_commands.HANDLERS.entries
    assert K.REGISTER in single_commands.HANDLERS.entries
    assert K.WRITE_BULK in bulk_commands.HANDLERS.entries
    assert K.UNSPECIFIED not in HANDLERS


async def _nothing(session: SimSession, cmd: object) -> Result:
    return None


def test_a_kind_handled_twice_is_refused() -> None:
    one, other = HandlerTable(), HandlerTable()
    one.handles(K.REGISTER)(_nothing)
    other.handles(K.REGISTER)(_nothing)
    with pytest.raises(ValueError, match="REGISTER"):
        merged(one, other)
    with pytest.raises(ValueError, match="REGISTER"):
        one.handles(K.REGISTER)(_nothing)


def test_the_dispatch_table_takes_arms_from_the_contract_layer() -> None:
    """Payload arms, bulk entries and result arms are the contract layer's, not retyped."""
    from mxgw.contract import commands

    for kind, entry in HANDLERS.items():
        assert entry.arm is commands.ARMS[kind]
    assert HANDLERS[K.READ_BULK].arm.entries == "tag_addresses"
    assert HANDLERS[K.WRITE_BULK].arm.result == "bulk_write"
    assert HANDLERS[K.REGISTER].arm.name == "register_command"
