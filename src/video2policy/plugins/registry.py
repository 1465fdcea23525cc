"""Discovery of behavior plugins through the entry-point group ``video2policy.behaviors``.

Every entry point, built-in or third-party, is loaded the same way. One that fails to import, does not give a
`Behavior`, declares another API version or reuses a taken name is recorded in `Registry.errors` with the reason,
and the others load as usual.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

from video2policy.plugins.api import API_VERSION, Behavior

GROUP = "video2policy.behaviors"


@dataclass
class Registry:
    """The behaviors found, by name; `errors` maps each plugin that failed to a one-paragraph reason."""

    behaviors: dict[str, Behavior] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # name -> "distribution version" or module
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Behavior:
        if name in self.behaviors:
            return self.behaviors[name]
        if name in self.errors:
            raise KeyError(f"behavior {name!r} failed to load: {self.errors[name]}")
        raise KeyError(f"no behavior named {name!r} (available: {', '.join(sorted(self.behaviors)) or 'none'})")

    def all(self) -> list[Behavior]:
        return list(self.behaviors.values())

    def names(self) -> list[str]:
        return list(self.behaviors)

    def match(self, caption: str) -> tuple[Behavior, dict[str, str]] | None:
        """The behavior whose caption pattern fits `caption` most specifically, with role -> caption words."""
        best: tuple[Behavior, dict[str, str], int] | None = None
        for behavior in self.behaviors.values():
            found = behavior.match(caption)
            if found is not None and (best is None or found[1] > best[2]):
                best = (behavior, found[0], found[1])
        return (best[0], best[1]) if best else None

    def add(self, obj: object, source: str, key: str | None = None) -> None:
        """Validate and register one loaded plugin object (a Behavior subclass or instance)."""
        key = key or getattr(obj, "name", None) or source
        try:
            behavior = _instantiate(obj)
        except Exception as exc:
            self.errors[key] = f"{type(exc).__name__}: {exc}"
            return
        problem = _problem(behavior)
        if problem is None and behavior.name in self.behaviors:
            problem = f"name {behavior.name!r} is already taken by {self.sources[behavior.name]}"
        if problem:
            self.errors[behavior.name or key] = problem
            return
        self.behaviors[behavior.name] = behavior
        self.sources[behavior.name] = source


def load_behaviors(extra: Iterable[object] = (), group: str = GROUP) -> Registry:
    """Load every plugin of the entry-point group (built-ins included), then `extra` objects (for tests)."""
    registry = Registry()
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        source = _source(ep)
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must never break the others
            last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f" ({last.filename}:{last.lineno})" if last else ""
            registry.errors[ep.name] = f"{ep.value}: {type(exc).__name__}: {exc}{where}"
            continue
        registry.add(obj, source, key=ep.name)
    for obj in extra:
        registry.add(obj, getattr(obj, "__module__", "extra"))
    return registry


def _source(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else ep.value


def _instantiate(obj: object) -> Behavior:
    if isinstance(obj, type) and issubclass(obj, Behavior):
        return obj()
    if isinstance(obj, Behavior):
        return obj
    raise TypeError(f"entry point gives {obj!r}, not a video2policy.plugins.Behavior subclass or instance")


def _problem(behavior: Behavior) -> str | None:
    if behavior.api_version != API_VERSION:
        return f"written for plugin API version {behavior.api_version}, this video2policy speaks {API_VERSION}"
    if not behavior.name or not behavior.name.isidentifier():
        return f"name {behavior.name!r} must be a non-empty Python identifier"
    if not behavior.roles:
        return "declares no object roles"
    for pattern in behavior.patterns():
        unknown = set(pattern.roles) - set(behavior.roles)
        if unknown:
            return f"caption pattern {pattern.template!r} uses roles {sorted(unknown)} that are not declared"
    return None
