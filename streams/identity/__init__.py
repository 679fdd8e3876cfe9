"""Identity stitching: identifiers linked into people with one stable key.
The graph, its rules and its log format are pure; `replica` keeps every
worker's copy of the graph from the identity log, `sink` stores decisions."""

from streams.identity.graph import (
    Change,
    Decision,
    Evidence,
    IdentityGraph,
    Link,
    Move,
    Reason,
    evidence_of,
)
from streams.identity.rules import KINDS, IdentityRules, key_order, parse_kinds

__all__ = [
    "KINDS",
    "Change",
    "Decision",
    "Evidence",
    "IdentityGraph",
    "IdentityRules",
    "Link",
    "Move",
    "Reason",
    "evidence_of",
    "key_order",
    "parse_kinds",
]
