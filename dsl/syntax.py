"""Untyped syntax tree produced by the parser; every node knows where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pos:
    line: int
    column: int


@dataclass(frozen=True)
class Node:
    pos: Pos


@dataclass(frozen=True)
class Literal(Node):
    value: Any  # int, float, bool, str or None
    kind: str  # "int", "float", "bool", "string", "null"


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Access(Node):
    kind: str  # "req" or "fs"
    name: str  # request field, or "view:feature"
    text: str  # as written, e.g. "@fs.view.feature"


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # + - * / %
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str  # == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # and, or
    left: Node
    right: Node


@dataclass(frozen=True)
class IfElse(Node):
    cond: Node
    then: Node
    other: Node


@dataclass(frozen=True)
class In(Node):
    operand: Node
    items: ListLit
    negate: bool


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Statement:
    name: str
    expr: Node
    pos: Pos


@dataclass(frozen=True)
class Module:
    statements: tuple[Statement, ...]
