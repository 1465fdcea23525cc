"""The behavior plugin API: what one behavior family (push left, lift up, throw into, ...) gives the system.

A plugin is a `Behavior` subclass (or instance) exposed through the entry-point group ``video2policy.behaviors``.
The built-in families register themselves the same way, so the core never special-cases them. Each hook below has
one docstring saying what it is for; a plugin overrides the ones it needs (in the spirit of simonw/llm's hookspecs).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jinja2
import numpy as np
import torch

API_VERSION = 1  # bump on an incompatible change; plugins declare the version they were written for

_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


# Reference resets put objects no role uses at the back of the table, out of the way: `{{ park_others }}`.
PARK_OTHERS = """        others = [name for name in self.object_names if name not in self.scene_info["objects"]]
        for name, spot in self.random_table_positions(env_ids, others, region=(-0.4, 0.4, 0.3, 0.34)).items():
            self.set_object_pose(name, env_ids, spot)"""


@dataclass(frozen=True)
class ObjectSpec:
    """One object a synthetic scene of this behavior needs: its role, its words and its geometry.

    `shape` is a SceneSpec shape; for ``mesh``, `mesh_kind` names a generator in `plugins.meshes`
    (cup, cover_cup, bowl, bin, mug, ring, cone, rock). `size` is l, w, h in metres.
    """

    role: str | None  # None: a distractor that no role refers to
    label: str
    shape: str
    size: tuple[float, float, float]
    color: tuple[float, float, float, float] = (0.8, 0.3, 0.2, 1.0)
    mass: float = 0.05
    mesh_kind: str | None = None
    friction: float = 1.0


@dataclass(frozen=True)
class CaptionPattern:
    """A Something-Something template with role slots, e.g. ``Pushing [target] with [tool]``."""

    template: str
    regex: re.Pattern = field(compare=False)
    loose: re.Pattern = field(compare=False)
    roles: tuple[str, ...] = ()

    @classmethod
    def compile(cls, template: str) -> CaptionPattern:
        parts = re.split(r"\[(\w+)\]", template)
        literal, roles = parts[0::2], tuple(parts[1::2])
        words = [re.sub(r"(\\ )+", r"\\s+", re.escape(chunk)) for chunk in literal]

        def build(slot: str) -> re.Pattern:
            body = words[0] + "".join(slot.format(role=r) + w for r, w in zip(roles, words[1:], strict=True))
            return re.compile(r"^\s*" + body + r"\s*[.!]?\s*$", re.IGNORECASE)

        return cls(
            template=template,
            regex=build(r"\[(?P<{role}>[^\]]+)\]"),
            loose=build(r"(?:the\s+|a\s+|an\s+)?(?P<{role}>.+?)"),
            roles=roles,
        )

    @property
    def something(self) -> str:
        """The template as Something-Something writes it: every slot is ``[something]``."""
        return re.sub(r"\[\w+\]", "[something]", self.template)

    @property
    def specificity(self) -> int:
        """Literal characters: the longer pattern wins when two match the same caption."""
        return len(re.sub(r"\[\w+\]", "", self.template))

    def match(self, caption: str) -> dict[str, str] | None:
        found = self.regex.match(caption) or self.loose.match(caption)
        return {role: found.group(role).strip() for role in self.roles} if found else None


class Behavior:
    """Base class of a behavior family. Subclasses set the class attributes and override the hooks they need.

    Roles map a role name (``target``, ``tool``, ``container``...) to a description; task code, ground truth and
    the scripted demonstration all receive ``roles``: role -> object name in the scene (a Python identifier).
    """

    api_version: ClassVar[int] = API_VERSION
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    caption_patterns: ClassVar[tuple[str, ...]] = ()
    roles: ClassVar[dict[str, str]] = {}
    prompt_hints: ClassVar[tuple[str, ...]] = ()
    cot_examples: ClassVar[tuple[str, ...]] = ()
    template: ClassVar[str] = ""  # Jinja2 source of the reference task code
    reward_weights: ClassVar[dict[str, float]] = {}  # names used as {{ w.NAME }} in the template
    demo_steps: ClassVar[int] = 120  # control steps a scripted demonstration may take
    # PPO overrides (PPOConfig field names) for training this family, beneath the user's own settings and flags;
    # e.g. grasping wants less initial action noise, so the first random actions do not knock the object away
    train_hyperparameters: ClassVar[dict[str, Any]] = {}

    # --- hooks ----------------------------------------------------------------------------------------------

    def render_task_code(self, roles: dict[str, str], variation: int = 0, labels: dict[str, str] | None = None) -> str:
        """Reference task code for a scene: the template rendered with its object names (the offline coder's
        answer). `variation` > 0 rescales reward weights deterministically; success is never changed."""
        self.check_roles(roles)
        labels = {role: (labels or {}).get(role) or roles[role].replace("_", " ") for role in self.roles}
        context = {
            **roles,
            "roles": roles,
            "labels": labels,
            "class_name": self.class_name(roles),
            "w": {k: _fmt(v) for k, v in self.weights(variation).items()},
            "variation": variation,
            "park_others": PARK_OTHERS,
            **self.template_context(roles),
        }
        return _JINJA.from_string(self.template).render(**context)

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        """Ground-truth success (N,) bool on the state dictionary; used only for evaluation, never shown to agents."""
        raise NotImplementedError(f"behavior {self.name!r} has no ground-truth success check")

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        """A scripted demonstration: actions (N, 7) in [-1, 1] from the state at control step t (synthetic videos)."""
        raise NotImplementedError(f"behavior {self.name!r} has no scripted demonstration")

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        """The objects a synthetic scene of this behavior needs, one per role, with random shapes and sizes."""
        raise NotImplementedError(f"behavior {self.name!r} cannot make synthetic scenes")

    def template_context(self, roles: dict[str, str]) -> dict:
        """Extra template variables (e.g. a direction shared by two mirrored families); default none."""
        return {}

    # --- helpers every plugin gets -----------------------------------------------------------------------------

    def weights(self, variation: int = 0) -> dict[str, float]:
        """Reward weights for a variation: 0 is the reference; others scale each weight by a seeded factor."""
        if variation == 0:
            return dict(self.reward_weights)
        rng = random.Random(f"{self.name}:{variation}")
        return {k: v * rng.choice((0.5, 0.75, 1.25, 1.5, 2.0)) for k, v in self.reward_weights.items()}

    def class_name(self, roles: dict[str, str]) -> str:
        first = roles[next(iter(self.roles))] if self.roles else ""
        camel = "".join(p[:1].upper() + p[1:] for p in f"{self.name}_{first}".split("_") if p)
        return camel if camel.isidentifier() else "BehaviorTask"

    def check_roles(self, roles: dict[str, str]) -> None:
        missing = [r for r in self.roles if r not in roles]
        if missing:
            raise ValueError(f"behavior {self.name!r} needs roles {list(self.roles)}; missing {missing}")
        bad = {r: n for r, n in roles.items() if not str(n).isidentifier()}
        if bad:
            raise ValueError(f"behavior {self.name!r}: object names must be Python identifiers, got {bad}")

    def patterns(self) -> list[CaptionPattern]:
        return [CaptionPattern.compile(p) for p in self.caption_patterns]

    def match(self, caption: str) -> tuple[dict[str, str], int] | None:
        """Role -> caption words and the pattern's specificity, or None."""
        best = None
        for pattern in self.patterns():
            found = pattern.match(caption)
            if found is not None and (best is None or pattern.specificity > best[1]):
                best = (found, pattern.specificity)
        return best

    def caption(self, labels: dict[str, str]) -> str:
        """The first caption pattern filled with labels (the caption of a synthetic video)."""
        text = self.caption_patterns[0]
        for role, label in labels.items():
            text = text.replace(f"[{role}]", f"[{label}]")
        return text

    def describe(self) -> dict:
        """Everything an agent prompt or `v2p behaviors show` needs, as plain data."""
        return {
            "name": self.name,
            "description": self.description,
            "api_version": self.api_version,
            "caption_patterns": list(self.caption_patterns),
            "something_templates": [p.something for p in self.patterns()],
            "roles": dict(self.roles),
            "prompt_hints": list(self.prompt_hints),
            "cot_examples": list(self.cot_examples),
            "reward_weights": dict(self.reward_weights),
            "train_hyperparameters": dict(self.train_hyperparameters),
        }


def _fmt(value: float) -> str:
    text = f"{value:.4g}"
    return text if any(c in text for c in ".e") else text + ".0"
