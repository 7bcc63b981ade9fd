"""The library's loggers: every module of ours logs under `mxgw` through `logger(name)`
(mxgw.connection, mxgw.events, mxgw.session, mxgw.durable, mxgw.sim, ...).

The library is silent until the application configures logging: `mxgw` has a
NullHandler (without one, Python prints WARNING records on stderr). It is added here, by
the first module that logs, not by `import mxgw`: a process that loads no such module
(`mxgw version`) does not import `logging` at all.
"""

import logging

logging.getLogger("mxgw").addHandler(logging.NullHandler())


def logger(name: str) -> logging.Logger:
    """The logger `name` (one under `mxgw`), the package's NullHandler in place."""
    return logging.getLogger(name)
