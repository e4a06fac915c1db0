"""The typed intermediate form every back end compiles from.

Nodes are immutable; each carries its result ``dtype``. The checker inserts every implicit
conversion as an explicit :class:`Cast`, so back ends never guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .types import DType


@dataclass(frozen=True, slots=True)
class Expr:
    dtype: DType

    def children(self) -> tuple["Expr", ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    value: Any  # None for null


@dataclass(frozen=True, slots=True)
class Input(Expr):
    kind: str  # "req" or "fs"
    name: str  # request field, or "view:feature"
    column: str  # the column holding it in a DataFrame / the key in a request dict


@dataclass(frozen=True, slots=True)
class Ref(Expr):
    name: str  # an earlier output


@dataclass(frozen=True, slots=True)
class Cast(Expr):
    arg: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: str  # "neg" or "not"
    arg: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    op: str  # + - * / % (arithmetic), == != < <= > >= (comparison), and or (Kleene logic)
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class IfElse(Expr):
    cond: Expr
    then: Expr
    other: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.cond, self.then, self.other)


@dataclass(frozen=True, slots=True)
class IsIn(Expr):
    arg: Expr
    values: tuple[Any, ...]  # constants of arg's dtype
    negate: bool

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)


@dataclass(frozen=True, slots=True)
class Call(Expr):
    name: str  # a built-in or a registered user function
    args: tuple[Expr, ...]
    consts: tuple[Any, ...] = ()  # literal parameters, e.g. bucket edges

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True, slots=True)
class Fitted(Expr):
    kind: str  # standardize, minmax_scale, quantile_bucketize, categorical
    arg: Expr
    key: str  # where its constants live in Program.fitted
    options: tuple[Any, ...] = ()

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)


ARITH = frozenset({"+", "-", "*", "/", "%"})
COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})
LOGIC = frozenset({"and", "or"})


def walk(expr: Expr) -> Iterator[Expr]:
    """Post-order traversal (children before parents)."""
    for child in expr.children():
        yield from walk(child)
    yield expr


def is_simple(expr: Expr) -> bool:
    """True when evaluating the node twice costs nothing (no need to share it)."""
    return isinstance(expr, (Literal, Input, Ref))
