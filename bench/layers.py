"""Where a bench client's CPU goes, by layer: a sampling profiler charged to the caller.

`LayerSampler` samples the running Python frame on `ITIMER_VIRTUAL` (the process's *user*
CPU time; Linux checks it at each scheduler tick, so a sample every tick, 4 ms at
HZ=250) and charges the sample to the layer of the innermost frame that belongs to one:

- a C function (a builtin, `bytes.join`, `socket.send`, a dict lookup) has no frame, so
  its time lands on the Python frame that called it;
- standard-library helpers (`enum`, `uuid`, `contextlib`, `typing`, `dataclasses`,
  `logging`, ...) are charged to whichever layer called them, except asyncio and
  selectors (the event loop is a layer of its own);
- code with no file (dataclass-generated `__init__`, exec-generated readers) goes to the
  layer of the module of its `self`, or of its name (`<mxgw reader of ...>`: the codec).

Kernel time is not sampled: it is `ru_stime` of `getrusage`, measured beside. The
sampler costs one signal handler run per tick (well under 1% of the CPU).
Unlike cProfile it adds no cost per Python call, so call-heavy layers (h2, hpack) are not
inflated against the ones that spend their time inside C (the codec's `bytes` work).
"""

from __future__ import annotations

import resource
import signal
import sysconfig
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

LAYERS = ("ours", "ours: transport", "codec", "grpclib", "multidict", "h2", "hyperframe",
          "hpack", "asyncio", "floor", "bench", "other")
"""Sampled layers, in the order tables list them (then `kernel`, from rusage). `ours`
is mxgw's client and contract layers; `ours: transport` its grpclib protocol subclass
and data path (`mxgw/transport.py`, `mxgw/datapath.py`); `codec` the encoders and
readers, `mxgw/_proto` and betterproto2 (message objects); `floor` bench/floor.py;
`bench` the workload loops of bench/clients.py."""

_BENCH = Path(__file__).resolve().parent
_STDLIB = str(Path(sysconfig.get_paths()["stdlib"]).resolve())
_BY_PATH = (
    ("/site-packages/grpclib/", "grpclib"),
    ("/site-packages/multidict/", "multidict"),
    ("/site-packages/h2/", "h2"),
    ("/site-packages/hyperframe/", "hyperframe"),
    ("/site-packages/hpack/", "hpack"),
    ("/site-packages/betterproto2/", "codec"),
    ("/mxgw/_proto/", "codec"),
    ("/mxgw/contract/encode.py", "codec"),
    ("/mxgw/contract/decode.py", "codec"),
    ("/mxgw/contract/codec.py", "codec"),
    ("/mxgw/contract/fields.py", "codec"),
    ("/mxgw/datapath.py", "ours: transport"),
    ("/mxgw/transport.py", "ours: transport"),
    ("/mxgw/", "ours"),
    (f"{_BENCH}/floor.py", "floor"),
    (f"{_BENCH}/", "bench"),
    ("/asyncio/", "asyncio"),
    (f"{_STDLIB}/selectors.py", "asyncio"),
)
_BY_MODULE = (("mxgw._proto", "codec"), ("betterproto2", "codec"), ("mxgw", "ours"),
              ("grpclib", "grpclib"), ("h2", "h2"), ("hpack", "hpack"),
              ("hyperframe", "hyperframe"), ("multidict", "multidict"))


def layer_of_path(path: str) -> str | None:
    """The layer of a source file; None for the standard library (charged to its caller)."""
    for marker, layer in _BY_PATH:
        if marker in path:
            return layer
    if path.startswith(_STDLIB):
        return None
    return "other"


def layer_of_module(module: str) -> str | None:
    for prefix, layer in _BY_MODULE:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


class LayerSampler:
    """Samples of user CPU by layer, between `start` and `stop`."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self._paths: dict[str, str | None] = {}
        self._usage: resource.struct_rusage | None = None

    def start(self) -> None:
        self.counts.clear()
        signal.signal(signal.SIGVTALRM, self._sample)
        self._usage = resource.getrusage(resource.RUSAGE_SELF)
        signal.setitimer(signal.ITIMER_VIRTUAL, self.interval, self.interval)

    def stop(self) -> dict[str, Any]:
        """{"samples": {layer: count}, "utime": s, "stime": s} since `start`."""
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, signal.SIG_DFL)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        assert self._usage is not None
        return {"samples": dict(self.counts), "utime": usage.ru_utime - self._usage.ru_utime,
                "stime": usage.ru_stime - self._usage.ru_stime}

    def _sample(self, signum: int, frame: FrameType | None) -> None:
        self.counts[self._layer_of(frame)] += 1

    def _layer_of(self, frame: FrameType | None) -> str:
        paths = self._paths
        while frame is not None:
            code = frame.f_code
            path = code.co_filename
            if path.startswith("<"):
                layer = self._unfiled(frame, path)
            elif path in paths:
                layer = paths[path]
            else:
                layer = paths[path] = layer_of_path(str(Path(path).resolve()))
            if layer is not None:
                return layer
            frame = frame.f_back
        return "other"

    @staticmethod
    def _unfiled(frame: FrameType, path: str) -> str | None:
        if path.startswith("<mxgw "):
            return "codec"  # the exec-generated encoders and readers
        owner = frame.f_locals.get("self")
        if owner is not None:
            return layer_of_module(type(owner).__module__)
        return layer_of_module(str(frame.f_globals.get("__name__", "")))


# ---------------------------------------------------------------------- cProfile, for contrast

def profile_layers(path: str) -> dict[str, float]:
    """Seconds by layer of a cProfile stats file (`bench/run.py --profile`): each
    function's own time goes to its layer; a builtin's or a standard-library function's
    (other than asyncio's) to its callers', in proportion to the calls' time. cProfile
    adds a cost to every Python call, so it overstates call-heavy layers: a contrast to
    the sampler, not a replacement."""
    import pstats

    stats: dict[Any, Any] = pstats.Stats(path).stats  # type: ignore[attr-defined]
    memo: dict[Any, dict[str, float]] = {}

    def own_layer(func: Any) -> str | None:
        filename = func[0]
        if filename == "~" or filename.startswith("<frozen"):
            return None
        if filename.startswith("<mxgw "):
            return "codec"
        if filename.startswith("<"):
            return "codec" if func[2] == "__init__" else None  # dataclass __init__: messages
        return layer_of_path(str(Path(filename).resolve()))

    def shares(func: Any, depth: int = 0) -> dict[str, float]:
        """How `func`'s own time divides among layers (1.0 in all)."""
        if func in memo:
            return memo[func]
        layer = own_layer(func)
        if layer is not None or depth > 8 or func not in stats:
            memo[func] = {layer or "other": 1.0}
            return memo[func]
        callers = stats[func][4]
        total = sum(entry[2] for entry in callers.values()) or 1.0
        out: dict[str, float] = {}
        for caller, entry in callers.items():
            for name, part in shares(caller, depth + 1).items():
                out[name] = out.get(name, 0.0) + part * entry[2] / total
        memo[func] = out or {"other": 1.0}
        return memo[func]

    seconds: dict[str, float] = {}
    for func, (_, _, own, _, _) in stats.items():
        for name, part in shares(func).items():
            seconds[name] = seconds.get(name, 0.0) + own * part
    return seconds


def main() -> None:
    """python bench/layers.py STATS.prof...: each file's time by layer, in per cent."""
    import sys

    for path in sys.argv[1:]:
        seconds = profile_layers(path)
        total = sum(seconds.values()) or 1.0
        parts = ", ".join(f"{name} {seconds[name] / total * 100:.0f}%"
                          for name in sorted(seconds, key=seconds.__getitem__, reverse=True)
                          if seconds[name] / total >= 0.005)
        print(f"{path}: {total:.2f} s under cProfile: {parts}")


if __name__ == "__main__":
    main()
