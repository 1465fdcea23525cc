"""Behavior plugins: the API (`Behavior`), discovery through entry points (`load_behaviors`), built-in families.

See docs/plugins.md for how to write one.
"""

from video2policy.plugins.api import API_VERSION, Behavior, CaptionPattern, ObjectSpec
from video2policy.plugins.registry import GROUP, Registry, load_behaviors

__all__ = ["API_VERSION", "GROUP", "Behavior", "CaptionPattern", "ObjectSpec", "Registry", "load_behaviors"]
