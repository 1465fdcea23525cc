"""Which objects a caption names: Something-Something style brackets, or an explicit list."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from video2policy.tools.perception.errors import PerceptionError

_BRACKETS = re.compile(r"\[([^\[\]]+)\]")
# Something-Something style wordings after which the first named object lies on its side ("Tipping [bottle] over",
# "Knocking [cup] over", "Pushing [can] so that it falls over", "Laying [bottle] on its side")
_TIPPED = re.compile(
    r"\b(tip|tips|tipping|knock|knocks|knocking|topple|topples|toppling)\b.*\bover\b|\bfalls? over\b|\bon its side\b",
    re.IGNORECASE,
)
# "Lifting [cup] up", "Picking [pen] up", "Lifting up [box]", "Raising [bottle]": the first object ends in the air,
# held. Wordings that let it down again ("..., then letting it drop down", "Putting [x] down") do not match.
_HELD = re.compile(r"^\s*(?:lifting|picking|raising|holding)\b(?:\s+up)?\s*\[[^\[\]]+\](?:\s+up)?\s*$", re.IGNORECASE)
# "Dropping [stone] in front of [mug]", "Dropping [pen] onto [book]": the first object is picked up from where it lay
# and let fall; it may be picked up again (a clip shows the drop more than once)
_DROPPED = re.compile(r"^\s*dropping\s*\[", re.IGNORECASE)
# "Throwing [garlic] into [bowl]", "Putting [plush toy] into [bin]", "Putting [pen] in [cup]": the first object
# ends inside the second ("in front of [mug]" does not match: the second bracket must follow the word directly)
_INTO = re.compile(r"\[([^\[\]]+)\]\s+(?:into|inside|in)\s+\[([^\[\]]+)\]", re.IGNORECASE)
# "Pushing [cup] from left to right", "Pushing [stone] with [stick]", "Sliding [remote] to [mouse]": nothing named is
# picked up, everything stays on the table. Pushes that send something off, onto or over something, or make it
# fall, do not match.
_SLID = re.compile(r"^\s*(?:pushing|sliding|nudging|shoving)\s*\[", re.IGNORECASE)
_NOT_SLID = re.compile(r"\b(?:off|onto|on top|over|falls?|into|up|down|drops?)\b", re.IGNORECASE)
# "Covering [ball] with [cup]", "Uncovering [ball]": the hand moves the cover; the covered thing stays where it is.
_COVERED = re.compile(r"^\s*(?:covering|uncovering)\s*\[", re.IGNORECASE)
# "Uncovering [ball]": the first object is hidden under its cover at the start and shows at the end
_UNCOVERING = re.compile(r"^\s*uncovering\s*\[", re.IGNORECASE)
# "Covering [ball] with [cup]": the second object ends put down over the first
_COVER_WITH = re.compile(r"^\s*covering\s*\[([^\[\]]+)\]\s+with\s+\[([^\[\]]+)\]", re.IGNORECASE)


@dataclass(frozen=True)
class NamedObject:
    name: str  # a Python identifier, used in state keys
    label: str  # the words a person used


def identifier(label: str) -> str:
    """'plush toy' -> 'plush_toy'; a name that is not a valid identifier gets an 'obj_' prefix."""
    cleaned = re.sub(r"[^0-9a-zA-Z]+", "_", label.strip().lower()).strip("_") or "obj"
    if not cleaned[0].isalpha() or keyword.iskeyword(cleaned):
        cleaned = f"obj_{cleaned}"
    return cleaned


def parse_objects(caption: str, objects: list[str] | None = None) -> list[NamedObject]:
    """The named objects, in order, without duplicates. `objects` (from --objects) wins over the caption."""
    labels = [o.strip() for o in (objects or []) if o.strip()]
    if not labels:
        labels = [m.strip() for m in _BRACKETS.findall(caption or "") if m.strip()]
    if not labels:
        raise PerceptionError(
            "ground",
            None,
            f"the caption {caption!r} names no object: put object names in square brackets "
            "('Pushing [cup] from right to left') or pass --objects cup,plate",
        )
    found: dict[str, NamedObject] = {}
    for label in labels:
        name = identifier(label)
        found.setdefault(name, NamedObject(name, label))
    return list(found.values())


def tipped_over(caption: str, named: list[NamedObject]) -> str | None:
    """The name of the object the caption says ends on its side (its first named object), or None."""
    if not caption or not named or not _TIPPED.search(_BRACKETS.sub("x", caption)):
        return None
    return named[0].name


def _named_pair(pattern: re.Pattern, caption: str, named: list[NamedObject]) -> tuple[str, str] | None:
    """The names of the two brackets `pattern` captures, when both are distinct named objects, else None."""
    match = pattern.search(caption or "")
    if not match:
        return None
    names = {o.name for o in named}
    first, second = identifier(match.group(1)), identifier(match.group(2))
    return (first, second) if first in names and second in names and first != second else None


def put_into(caption: str, named: list[NamedObject]) -> tuple[str, str] | None:
    """(object, container) names when the caption puts one named object into another, else None."""
    return _named_pair(_INTO, caption, named)


def on_table_throughout(caption: str) -> bool:
    """Whether the caption pushes or slides things along the table, so that nothing it names is lifted."""
    return bool(caption and _SLID.match(caption) and not _NOT_SLID.search(_BRACKETS.sub("x", caption)))


def stays_put(caption: str, named: list[NamedObject]) -> str | None:
    """The name of the object the caption covers or uncovers (its first named object), which does not move."""
    return named[0].name if caption and named and _COVERED.match(caption) else None


def uncovered(caption: str, named: list[NamedObject]) -> str | None:
    """The name of the object the caption uncovers (its first named object): hidden at the start, in view at the
    end, or None."""
    return named[0].name if caption and named and _UNCOVERING.match(caption) else None


def covered_with(caption: str, named: list[NamedObject]) -> tuple[str, str] | None:
    """(covered object, cover) names when the caption covers one named object with another, else None."""
    return _named_pair(_COVER_WITH, caption, named)  # its pattern is anchored at the start


def held_up(caption: str, named: list[NamedObject]) -> str | None:
    """The name of the object the caption says is lifted and held up at the end (its first named object), or None."""
    if not caption or not named or not _HELD.match(caption):
        return None
    return named[0].name


def dropped(caption: str, named: list[NamedObject]) -> str | None:
    """The name of the object the caption drops (its first named object): it is picked up before it falls."""
    return named[0].name if caption and named and _DROPPED.match(caption) else None


def openings(caption: str, named: list[NamedObject]) -> dict[str, str]:
    """Which named objects are open, and on which side: the container the caption puts something into is open at
    the top ("Throwing [garlic] into [bowl]"), the cover it puts over something, or lifts off it, at the bottom
    ("Covering [ball] with [cup]"; "Uncovering [ball]" with one other object named: what hides it)."""
    out = {}
    into = put_into(caption, named)
    if into:
        out[into[1]] = "top"
    cover = covered_with(caption, named)
    hidden = uncovered(caption, named)
    if cover:
        out[cover[1]] = "bottom"
    elif hidden and len(named) == 2:
        out[next(o.name for o in named if o.name != hidden)] = "bottom"
    return out
