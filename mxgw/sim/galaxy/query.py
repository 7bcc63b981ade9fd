"""DiscoverHierarchy / BrowseChildren over a snapshot: filters, selection cache, page tokens.

A page token names the kind of listing, the deploy version, a digest of the filters and
an offset into the filtered result. A token from another deploy or other filters is
refused with INVALID_ARGUMENT, and the caller restarts paging.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import re
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from ..._proto.galaxy_repository import v1 as gr
from .encoding import encode_object
from .snapshot import Snapshot
from .templates import SHAPES

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 5000
"""Larger page sizes are served as this many objects."""
MAX_PAGE_ATTRIBUTES = 40_000
"""A page ends early once it holds this many attributes (about 4 MB)."""
CACHED_SELECTIONS = 8


def invalid(message: str) -> GRPCError:
    return GRPCError(Status.INVALID_ARGUMENT, message)


@dataclass(frozen=True)
class HierarchyFilter:
    """The filters of a DiscoverHierarchy request, normalised."""

    root: tuple[str, int | str] | None
    max_depth: int | None
    category_ids: tuple[int, ...]
    templates: tuple[str, ...]
    """Lower-case; an object matches when its template chain holds any of them."""
    tag_name_glob: str
    alarm_bearing_only: bool
    historized_only: bool

    @classmethod
    def of(cls, request: gr.DiscoverHierarchyRequest) -> HierarchyFilter:
        root: tuple[str, int | str] | None = None
        if request.root_gobject_id is not None:
            root = ("id", request.root_gobject_id)
        elif request.root_tag_name is not None:
            root = ("tag", request.root_tag_name)
        elif request.root_contained_path is not None:
            root = ("path", request.root_contained_path)
        if request.max_depth is not None and request.max_depth < 0:
            raise invalid("max_depth must be >= 0")
        return cls(root, request.max_depth, tuple(sorted(set(request.category_ids))),
                   tuple(sorted({t.lower() for t in request.template_chain_contains})),
                   request.tag_name_glob, request.alarm_bearing_only, request.historized_only)

    def digest(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:16]

    def shapes(self) -> frozenset[int]:
        """The shapes (templates) whose objects pass the template-level filters."""
        allowed = set()
        for index, shape in enumerate(SHAPES):
            chain = {t.lower() for t in shape.template_chain}
            if self.category_ids and shape.category_id not in self.category_ids:
                continue
            if self.templates and not chain.intersection(self.templates):
                continue
            if self.alarm_bearing_only and not shape.alarm_bearing:
                continue
            if self.historized_only and not shape.historized:
                continue
            allowed.add(index)
        return frozenset(allowed)

    def root_position(self, snapshot: Snapshot) -> int | None:
        """The root's position (None: the whole Galaxy); NOT_FOUND if it does not exist."""
        if self.root is None:
            return None
        kind, value = self.root
        if kind == "id":
            pos = snapshot.position_of_id(int(value))
        elif kind == "tag":
            pos = snapshot.position_of_tag(str(value))
        else:
            pos = snapshot.position_of_path(str(value))
        if pos is None:
            raise GRPCError(Status.NOT_FOUND, f"root {kind} {value!r} is not in the Galaxy")
        return pos

    def select(self, snapshot: Snapshot) -> array[int]:
        """Positions of the matching objects, in depth-first order."""
        root = self.root_position(snapshot)
        start, end, base = (0, len(snapshot), 0) if root is None else (
            root, snapshot.ends[root], snapshot.depths[root])
        allowed = self.shapes()
        shapes, depths = snapshot.shapes, snapshot.depths
        positions = (p for p in range(start, end) if shapes[p] in allowed)
        if self.max_depth is not None:
            limit = base + self.max_depth
            positions = (p for p in positions if depths[p] <= limit)
        if self.tag_name_glob:
            match = re.compile(fnmatch.translate(self.tag_name_glob), re.IGNORECASE).match
            positions = (p for p in positions if match(snapshot.tag(p)))
        return array("i", positions)


class SelectionCache:
    """The last few filtered results, by deploy version and filter digest."""

    def __init__(self, size: int = CACHED_SELECTIONS) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[int, str], array[int]] = OrderedDict()

    def get(self, snapshot: Snapshot, flt: HierarchyFilter) -> array[int]:
        key = (snapshot.version, flt.digest())
        found = self._entries.get(key)
        if found is None:
            found = self._entries[key] = flt.select(snapshot)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        return found


def page_size(requested: int) -> int:
    if requested < 0:
        raise invalid("page_size must be >= 0 (0: the default)")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def make_token(kind: str, version: int, digest: str, offset: int) -> str:
    raw = f"{kind}|{version}|{digest}|{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_token(token: str, kind: str, version: int, digest: str) -> int:
    """The offset a page token continues from (0 for no token), or INVALID_ARGUMENT."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        token_kind, token_version, token_digest, offset = raw.split("|")
        position = int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("malformed page token") from None
    if token_kind != kind or token_digest != digest or position < 0:
        raise invalid("page token was issued for other filters: restart paging without it")
    if int(token_version) != version:
        raise invalid("page token is stale: the Galaxy was redeployed; restart paging")
    return position


def page(snapshot: Snapshot, positions: array[int] | list[int], offset: int, size: int,
         with_attributes: bool,
         max_attributes: int = MAX_PAGE_ATTRIBUTES) -> tuple[list[bytes], int]:
    """Up to `size` encoded objects from `offset` (fewer if they hold more than
    `max_attributes` attributes; at least one), and the offset after them."""
    objects: list[bytes] = []
    held = 0
    end = min(offset + size, len(positions))
    while offset < end:
        pos = positions[offset]
        if with_attributes:
            held += len(SHAPES[snapshot.shapes[pos]].attributes)
            if objects and held > max_attributes:
                break
        objects.append(encode_object(snapshot, pos, with_attributes))
        offset += 1
    return objects, offset
