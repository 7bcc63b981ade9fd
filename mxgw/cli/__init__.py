"""The `mxgw` command line: every client operation, deterministic JSON, a batch driver."""
