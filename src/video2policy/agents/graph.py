"""The LangGraph state machine of one run (DESIGN.md, 'Flow of one run').

analyze ─Send×K─▶ code (coder + sandbox repair turns) ─▶ pick (critic; optional human review)
  ─▶ sample_rewards (M variants) ─▶ train (executor) ─▶ reflect ─┬─▶ train   (N iterations)
                                                                 └─▶ evaluate ─▶ report
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from video2policy.agents.context import RunContext
from video2policy.agents.nodes import Nodes


def merge_candidates(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates from parallel coders, one per k (a re-run coder replaces its earlier record)."""
    by_k = {c["k"]: c for c in old or []}
    by_k.update({c["k"]: c for c in new or []})
    return [by_k[k] for k in sorted(by_k)]


class RunState(TypedDict, total=False):
    behavior_hint: str | None
    brief: dict[str, Any]
    candidates: Annotated[list[dict[str, Any]], merge_candidates]
    picked: dict[str, Any] | None
    rejected: list[int]
    iteration: int
    variants: list[dict[str, Any]]
    results: list[dict[str, Any]]
    history: Annotated[list[dict[str, Any]], operator.add]
    best: dict[str, Any] | None
    feedback_used: int
    done: bool
    evaluation: dict[str, Any]
    report: str
    status: str


def build_graph(ctx: RunContext) -> StateGraph:
    nodes = Nodes(ctx)
    graph = StateGraph(RunState)
    graph.add_node("analyze", nodes.analyze)
    graph.add_node("code", nodes.code)
    graph.add_node("pick", nodes.pick)
    graph.add_node("sample_rewards", nodes.sample_rewards)
    graph.add_node("train", nodes.train)
    graph.add_node("reflect", nodes.reflect)
    graph.add_node("evaluate", nodes.evaluate)
    graph.add_node("report", nodes.report)
    graph.add_edge(START, "analyze")
    graph.add_conditional_edges("analyze", nodes.route_coders, ["code"])
    graph.add_edge("code", "pick")
    graph.add_conditional_edges("pick", nodes.route_after_pick, ["pick", "sample_rewards", "report"])
    graph.add_edge("sample_rewards", "train")
    graph.add_edge("train", "reflect")
    graph.add_conditional_edges("reflect", nodes.route_after_reflect, ["train", "evaluate"])
    graph.add_edge("evaluate", "report")
    graph.add_edge("report", END)
    return graph
