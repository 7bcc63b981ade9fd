"""One deploy of the simulated Galaxy in compact form, its generation and its redeploy.

Objects are kept in depth-first (pre-)order in a few parallel `array`s of small integers
(id, parent position, end of subtree, depth, shape, number): about 20 bytes an object,
so 100,000 objects take about 2 MB. Names, attributes and messages are derived on demand.
The subtree of the object at position `p` is the range `p .. ends[p] - 1`.
"""

from __future__ import annotations

import datetime as dt
import random
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .defs import CATEGORY_AREA, GalaxyObjectDef
from .templates import (
    CONTAINED,
    ENGINE,
    LINE,
    LINE_OBJECTS,
    LINE_WEIGHTS,
    PLATFORM,
    SHAPES,
    SITE,
    TEST_CHILD,
    TEST_MACHINE,
    UNIT,
)

Record = tuple[int, int, int, int]
"""(gobject_id, depth, shape index, number), in depth-first order."""

UNITS_PER_SITE, LINES_PER_UNIT, OBJECTS_PER_LINE = 10, 10, 200
_CUM_WEIGHTS = tuple(sum(LINE_WEIGHTS[:n + 1]) for n in range(len(LINE_WEIGHTS)))
FIRST_DEPLOY = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

# The upstream test objects, always present: (id, depth, shape, number), fixed names by id.
FIXED_RECORDS: tuple[Record, ...] = (
    (1, 0, SITE, 0), (2, 1, PLATFORM, 1), (3, 1, ENGINE, 1), (4, 1, TEST_MACHINE, 1),
    (10, 2, TEST_CHILD, 0), (5, 1, TEST_MACHINE, 2), (6, 1, TEST_MACHINE, 3),
    (7, 1, TEST_MACHINE, 4), (8, 1, TEST_MACHINE, 5), (9, 1, TEST_MACHINE, 6),
)
FIXED_NAMES = {1: "Plant", 10: "TestChildObject"}
FIXED_COUNT = len(FIXED_RECORDS)
FIXED_IDS = frozenset(r[0] for r in FIXED_RECORDS)


class Snapshot:
    """The objects of one deploy; immutable once built."""

    def __init__(self, records: Iterable[Record], version: int, deploy_time: dt.datetime) -> None:
        self.version = version
        self.deploy_time = deploy_time
        self.ids, self.parents, self.ends = array("i"), array("i"), array("i")
        self.depths, self.shapes, self.numbers = array("b"), array("B"), array("i")
        self.attribute_count = 0
        stack: list[int] = []
        for pos, (gobject_id, depth, shape, number) in enumerate(records):
            if depth > len(stack):
                raise ValueError(f"record {gobject_id} skips a level")
            while len(stack) > depth:
                self.ends[stack.pop()] = pos
            self.ids.append(gobject_id)
            self.parents.append(stack[-1] if stack else -1)
            self.ends.append(0)
            self.depths.append(depth)
            self.shapes.append(shape)
            self.numbers.append(number)
            self.attribute_count += len(SHAPES[shape].attributes)
            stack.append(pos)
        for pos in stack:
            self.ends[pos] = len(self.ids)
        self._build_indexes()

    def _build_indexes(self) -> None:
        """Position by gobject id, and by tag name: fixed names in a dict, `<prefix>_<n>`
        names in one array per prefix indexed by n (no strings built, no sorting)."""
        self._by_id = array("i", [-1]) * (max(self.ids, default=0) + 1)
        self._fixed_tags: dict[str, int] = {}
        self._by_number: dict[str, array[int]] = {}
        for pos, gobject_id in enumerate(self.ids):
            self._by_id[gobject_id] = pos
            name = FIXED_NAMES.get(gobject_id)
            if name is not None:
                self._fixed_tags[name.lower()] = pos
                continue
            numbers = self._by_number.setdefault(SHAPES[self.shapes[pos]].prefix.lower(),
                                                 array("i"))
            number = self.numbers[pos]
            if number >= len(numbers):
                numbers.extend([-1] * (number + 1 - len(numbers)))
            numbers[number] = pos

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------------ names

    def tag(self, pos: int) -> str:
        name = FIXED_NAMES.get(self.ids[pos])
        return name if name is not None else SHAPES[self.shapes[pos]].tag(self.numbers[pos])

    def tag_key(self, pos: int) -> str:
        return self.tag(pos).lower()

    def contained_name(self, pos: int) -> str:
        return SHAPES[self.shapes[pos]].contained_name or self.tag(pos)

    def hierarchical_name(self, pos: int) -> str:
        """`Container.Contained` for an object contained by another, else the tag name."""
        if SHAPES[self.shapes[pos]].contained_name and self.parents[pos] >= 0:
            return f"{self.hierarchical_name(self.parents[pos])}.{self.contained_name(pos)}"
        return self.tag(pos)

    # ------------------------------------------------------------------ lookups

    def position_of_id(self, gobject_id: int) -> int | None:
        if 0 <= gobject_id < len(self._by_id) and self._by_id[gobject_id] >= 0:
            return self._by_id[gobject_id]
        return None

    def position_of_tag(self, tag_name: str) -> int | None:
        key = tag_name.lower()
        pos = self._fixed_tags.get(key)
        if pos is not None:
            return pos
        prefix, _, digits = key.rpartition("_")
        numbers = self._by_number.get(prefix)
        if numbers is None or not (digits.isascii() and digits.isdigit()):
            return None
        number = int(digits)
        if number >= len(numbers) or numbers[number] < 0:
            return None
        pos = numbers[number]
        return pos if self.tag_key(pos) == key else None  # `Pump_1` is not `Pump_00001`

    def children(self, pos: int) -> Iterator[int]:
        """Positions of the direct children of `pos` (-1: the top-level objects)."""
        child, end = (0, len(self.ids)) if pos < 0 else (pos + 1, self.ends[pos])
        while child < end:
            yield child
            child = self.ends[child]

    def position_of_path(self, path: str) -> int | None:
        """The object at a contained path (`Plant/TestMachine_001/TestChild`; `.` works too)."""
        pos = -1
        for part in path.replace(".", "/").strip("/").split("/"):
            wanted = part.strip().lower()
            pos = next((c for c in self.children(pos)
                        if self.contained_name(c).lower() == wanted), -2)
            if pos == -2:
                return None
        return pos if pos >= 0 else None

    def is_area(self, pos: int) -> bool:
        return SHAPES[self.shapes[pos]].category_id == CATEGORY_AREA

    def object_at(self, pos: int) -> GalaxyObjectDef:
        shape = SHAPES[self.shapes[pos]]
        parent = self.parents[pos]
        return GalaxyObjectDef(
            gobject_id=self.ids[pos], tag_name=self.tag(pos),
            contained_name=self.contained_name(pos),
            parent_gobject_id=self.ids[parent] if parent >= 0 else 0,
            category_id=shape.category_id, template_chain=shape.template_chain,
            attributes=shape.attributes, hierarchical_name=self.hierarchical_name(pos))

    def records(self) -> Iterator[Record]:
        for pos in range(len(self.ids)):
            yield self.ids[pos], self.depths[pos], self.shapes[pos], self.numbers[pos]


@dataclass
class Counters:
    """Next gobject id and next tag number of every prefix, kept across redeploys."""

    next_id: int = max(FIXED_IDS) + 1
    numbers: dict[str, int] = field(default_factory=lambda: {"Platform": 2, "AppEngine": 2})

    def record(self, depth: int, shape: int) -> Record:
        prefix = SHAPES[shape].prefix
        number = self.numbers.get(prefix, 1)
        self.numbers[prefix] = number + 1
        gobject_id = self.next_id
        self.next_id += 1
        return gobject_id, depth, shape, number


def _line_object(rng: random.Random, counters: Counters, depth: int,
                 budget: int) -> list[Record]:
    shape = rng.choices(LINE_OBJECTS, cum_weights=_CUM_WEIGHTS)[0]
    children = CONTAINED.get(shape, ())
    if len(children) + 1 > budget:
        shape, children = LINE_OBJECTS[0], ()
    return [counters.record(depth, shape)] + [counters.record(depth + 1, c) for c in children]


def generate(size: int, seed: int, counters: Counters) -> Iterator[Record]:
    """A Galaxy of `size` objects (at least the fixed ones) in depth-first order:
    sites holding a platform, an engine and units; units holding lines; lines holding
    application objects (tanks contain an inlet and an outlet valve)."""
    rng = random.Random(seed)
    yield from FIXED_RECORDS
    budget = size - FIXED_COUNT
    while budget > 0:
        for depth, shape in ((0, SITE), (1, PLATFORM), (1, ENGINE)):
            if budget > 0:
                yield counters.record(depth, shape)
                budget -= 1
        for _ in range(UNITS_PER_SITE):
            if budget <= 0:
                break
            yield counters.record(1, UNIT)
            budget -= 1
            for _ in range(LINES_PER_UNIT):
                if budget <= 0:
                    break
                yield counters.record(2, LINE)
                budget -= 1
                held = 0
                while budget > 0 and held < OBJECTS_PER_LINE:
                    records = _line_object(rng, counters, 3, budget)
                    yield from records
                    held += len(records)
                    budget -= len(records)


def redeployed(old: Snapshot, rng: random.Random, counters: Counters, changes: int,
               deploy_time: dt.datetime) -> Snapshot:
    """The next deploy: `changes` generated objects removed (with what they contain) and
    as many new ones added to random lines (to the first area if there is no line)."""
    removed: set[int] = set()
    lines: list[int] = []
    for _ in range(changes * 50):
        if len(removed) >= changes and len(lines) >= changes:
            break
        pos = rng.randrange(len(old))
        shape = old.shapes[pos]
        if shape in LINE_OBJECTS and len(removed) < changes:
            removed.add(pos)
        elif shape == LINE and len(lines) < changes:
            lines.append(pos)
    inserts: dict[int, list[Record]] = {}
    for n in range(changes):
        parent = lines[n % len(lines)] if lines else 0
        new = _line_object(rng, counters, old.depths[parent] + 1, 3)
        inserts.setdefault(old.ends[parent], []).extend(new)

    def records() -> Iterator[Record]:
        pos = 0
        while pos <= len(old):
            yield from inserts.get(pos, ())
            if pos == len(old):
                return
            if pos in removed:
                pos = old.ends[pos]
                continue
            yield old.ids[pos], old.depths[pos], old.shapes[pos], old.numbers[pos]
            pos += 1

    return Snapshot(records(), old.version + 1, deploy_time)
