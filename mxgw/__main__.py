"""`python -m mxgw`: the `mxgw` command line (as `python -m mxgw.cli`)."""

from .cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
