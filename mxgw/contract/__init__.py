"""The contract layer: every wire fact of the gateway stated once, over the generated code.

Neutral ground: the client library and the simulator both import it; it imports nothing
of either (nor of the CLI).

- `codec`: the one fast protobuf codec (parse keeping unknown fields, encode, JSON).
- `commands`: pure, validated builders of every MxCommand kind; kind <-> arm derived
  from the generated `MxCommand`.
- `values`: the MxValue table and Python <-> MxValue conversion.
- `checks`: input checks (int32 ranges, handles, aware UTC datetimes, non-empty text).
- `events`: facts of the event stream (the replay-gap sentinel).
"""
