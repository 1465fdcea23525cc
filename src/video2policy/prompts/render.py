"""Prompt templates: Jinja files, one folder per agent, rendered with StrictUndefined so a missing variable is an
error rather than a silently empty prompt. The example pool (solved tasks shown to the coder) lives here too."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

PROMPTS_DIR = Path(__file__).parent
POOL_DIR = PROMPTS_DIR / "pool"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PROMPTS_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(agent: str, name: str, **variables: Any) -> str:
    """Render prompts/<agent>/<name>.j2."""
    return _environment().get_template(f"{agent}/{name}.j2").render(**variables).strip() + "\n"


def messages(agent: str, **variables: Any) -> list[dict[str, str]]:
    """The agent's system and user messages."""
    return [
        {"role": "system", "content": render(agent, "system", **variables)},
        {"role": "user", "content": render(agent, "user", **variables)},
    ]


_CODE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def example_pool(extra_dir: Path | None = None, limit: int = 4) -> list[dict[str, str]]:
    """Solved tasks as examples: the built-in pool (reach and grasp a block), then solved tasks from `extra_dir`
    (newest first), each {title, code}."""
    files = sorted(POOL_DIR.glob("*.md"))
    if extra_dir is not None and Path(extra_dir).is_dir():
        files += sorted(Path(extra_dir).glob("*.md"), key=lambda p: p.stat().st_mtime, reverse=True)
    pool = []
    for path in files:
        text = path.read_text()
        match = _CODE.search(text)
        if match:
            title = text.splitlines()[0].lstrip("# ").strip()
            pool.append({"title": title, "code": match.group(1).strip()})
    return pool[:limit]


def add_to_pool(pool_dir: Path, name: str, title: str, code: str) -> Path:
    """A solved task joins the pool: a markdown file with a title line and the code."""
    pool_dir.mkdir(parents=True, exist_ok=True)
    path = pool_dir / f"{re.sub(r'[^A-Za-z0-9_-]+', '_', name)}.md"
    path.write_text(f"# {title}\n\n```python\n{code.strip()}\n```\n")
    return path
