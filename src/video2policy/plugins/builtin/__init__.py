"""The built-in behavior families: the paper's nine Something-Something behaviors and three self-recorded ones.

Each module holds one family; pyproject.toml registers every one under the `video2policy.behaviors` entry-point
group, exactly as a third-party plugin would be registered.
"""
