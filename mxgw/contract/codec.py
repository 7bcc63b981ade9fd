"""The one protobuf codec of the generated messages: parse, encode and protobuf-JSON.

betterproto2's own code spends tens of microseconds per small message (and resolves
type hints again on every `to_dict`), which dominates a bulk reply of thousands of
results or a busy event stream. Each generated class gets one plan per job, read once
from the metadata the generated code declares (so a regenerated contract needs no change
here):

- `parse(cls, data)` (`decode.py`): the message `cls.parse(data)` gives, strictly: one
  MalformedMessageError for anything that is not valid protobuf, and the fields this
  contract does not know kept, so `bytes(message)` gives back the bytes received.
- `encode(message)` (`encode.py`): the bytes of `bytes(message)`.
- `to_json(message)` (`protojson.py`): the protobuf-JSON the CLI prints.
- `fields(cls)` / `oneof_arms(cls, group)` (`fields.py`): what the generated code
  declares about each field; the only module touching betterproto2's private state.
"""

from .decode import MAX_DEPTH, parse
from .encode import Encoded, encode, varint
from .fields import FieldSpec, fields, oneof_arms
from .protojson import to_json

__all__ = ["MAX_DEPTH", "Encoded", "FieldSpec", "encode", "fields", "oneof_arms", "parse",
           "to_json", "varint"]
