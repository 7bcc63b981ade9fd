"""The simulated MXAccess Gateway: both services over real gRPC, for trying and testing.

It uses the generated code only and never imports the client. What each module holds:
see docs/simulator.md.
"""

from .event_log import EventLimits
from .faults import FaultConfig
from .runtime import RuntimeConfig
from .server import SimConfig, SimServer

__all__ = ["EventLimits", "FaultConfig", "RuntimeConfig", "SimConfig", "SimServer"]
