"""Text -> syntax tree: the Lark LALR parser, limits, and errors that quote the source."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from . import syntax as S
from .errors import DSLSyntaxError

MAX_SOURCE_CHARS = 100_000
MAX_STATEMENTS = 1_000
MAX_NODES = 20_000
MAX_DEPTH = 64  # nesting levels; a chain `a + b + c` (one operator, left to right) is one level
MAX_CHAIN_DEPTH = 128  # operators in a row, chains included: bounds the recursion of later passes
_CHAINS = frozenset({"binop", "and_op", "or_op"})

_FRIENDLY = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "ACCESSOR": "an accessor (@req.<field> or @fs.<view>.<feature>)",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)",
    "$END": "end of program",
}
KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not", "in", "true", "false", "null"})
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def parse(source: str) -> S.Module:
    """Parse ``source`` into a :class:`syntax.Module` or raise :class:`DSLSyntaxError`."""
    if not isinstance(source, str):
        raise DSLSyntaxError(f"a program is text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_CHARS:
        line, column = _position(source, MAX_SOURCE_CHARS)
        raise DSLSyntaxError(
            f"program is {len(source)} characters long; the limit is {MAX_SOURCE_CHARS}",
            line=line, column=column, source=source,
            hint=f"the text from here on is beyond the first {MAX_SOURCE_CHARS} characters",
        )
    try:
        tree = _lark().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    _check_limits(tree, source)
    return _Builder(source).module(tree)


def _describe(terminal: str) -> str:
    if terminal in _FRIENDLY:
        return _FRIENDLY[terminal]
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal
    return f'"{pattern.value}"' if isinstance(pattern, PatternStr) else terminal.lower()


def _expected(names: set[str] | frozenset[str] | None) -> str:
    words = sorted({_describe(n) for n in names or ()})
    if not words:
        return ""
    if len(words) > 8:
        words = words[:8] + ["..."]
    return "expected " + ", ".join(words)


def _syntax_error(exc: UnexpectedInput, source: str) -> DSLSyntaxError:
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    if isinstance(exc, UnexpectedCharacters):
        found = f"unexpected character {source[exc.pos_in_stream]!r}"
        if source[exc.pos_in_stream] == "@":
            hint = "accessors are spelled @req.<field> or @fs.<view>.<feature>"
        else:
            hint = None
        return DSLSyntaxError(found, line=line, column=column, source=source, hint=hint)
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        lines = source.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        return DSLSyntaxError(
            "unexpected end of program", line=line, column=column, source=source,
            hint=_expected(getattr(exc, "expected", None)) or None,
        )
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        return DSLSyntaxError(
            f"unexpected {str(token)!r}",
            line=token.line, column=token.column, source=source,
            hint=_expected(exc.expected) or None,
        )
    return DSLSyntaxError(str(exc).splitlines()[0], line=line, column=column, source=source)


def _position(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of character ``offset`` of ``source``."""
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def _where(node: Tree | Token) -> tuple[int | None, int | None]:
    if isinstance(node, Token):
        return node.line, node.column
    return getattr(node.meta, "line", None), getattr(node.meta, "column", None)


def _limit_error(message: str, node: Tree | Token, source: str, hint: str | None = None) -> DSLSyntaxError:
    line, column = _where(node)
    return DSLSyntaxError(message, line=line, column=column, source=source, hint=hint)


def _check_limits(tree: Tree, source: str) -> None:
    """Iteratively measure the tree so deep input cannot exhaust Python's stack.

    Two depths are measured: nesting (a left-to-right chain of the same kind of operator,
    ``a + b - c`` or ``p and q and r``, counts as one level) and operators in a row (every
    operator counts; it bounds the recursion of the passes after parsing).
    """
    statements = len(tree.children)
    if statements > MAX_STATEMENTS:
        raise _limit_error(
            f"program has {statements} statements; the limit is {MAX_STATEMENTS}",
            tree.children[MAX_STATEMENTS], source,
            hint=f"this is statement {MAX_STATEMENTS + 1}",
        )
    stack: list[tuple[Tree | Token, int, int]] = [(tree, 0, 0)]
    nodes = 0
    while stack:
        node, depth, in_row = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _limit_error(f"program has more than {MAX_NODES} syntax nodes (the limit)",
                               node, source, hint="the limit is passed here")
        if depth > MAX_DEPTH:
            raise _limit_error(f"expression nested deeper than {MAX_DEPTH} levels (the limit)",
                               node, source)
        if in_row > MAX_CHAIN_DEPTH:
            raise _limit_error(
                f"expression has more than {MAX_CHAIN_DEPTH} operators in a row (the limit)",
                node, source, hint="split it into several statements",
            )
        if isinstance(node, Tree):
            for index, child in enumerate(node.children):
                if child is None:
                    continue
                if (not isinstance(child, Tree) or child.data == "statement"
                        or not any(isinstance(c, Tree) for c in child.children)):
                    stack.append((child, depth, in_row))  # a statement or a leaf: no level
                    continue
                chained = index == 0 and child.data == node.data and node.data in _CHAINS
                stack.append((child, depth if chained else depth + 1, in_row + 1))


def _unescape(text: str, token: Token, source: str) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and len(body) >= i + 6 and all(
            c in "0123456789abcdefABCDEF" for c in body[i + 2 : i + 6]
        ):
            code = int(body[i + 2 : i + 6], 16)
            if 0xD800 <= code <= 0xDFFF:
                raise DSLSyntaxError("surrogate code points are not allowed in strings",
                                     line=token.line, column=token.column, source=source)
            out.append(chr(code))
            i += 6
        else:
            raise DSLSyntaxError(
                f"unknown escape '\\{nxt}' in string", line=token.line,
                column=token.column + 1 + i, source=source,
                hint='known escapes: \\\\ \\" \\\' \\n \\t \\r \\0 \\uXXXX',
            )
    return "".join(out)


class _Builder:
    """Lark tree -> syntax nodes (recursion is safe: depth was limited above)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def module(self, tree: Tree) -> S.Module:
        statements = []
        for st in tree.children:
            name, expr = st.children
            self._not_keyword(name)
            statements.append(S.Statement(str(name), self.expr(expr), S.Pos(name.line, name.column)))
        return S.Module(tuple(statements))

    def _not_keyword(self, token: Token) -> None:
        if str(token) in KEYWORDS:
            raise DSLSyntaxError(
                f"{str(token)!r} is a keyword and cannot be used as a name",
                line=token.line, column=token.column, source=self.source,
            )

    def _pos(self, node: Tree | Token) -> S.Pos:
        if isinstance(node, Token):
            return S.Pos(node.line, node.column)
        return S.Pos(node.meta.line, node.meta.column)

    def expr(self, node: Tree | Token) -> S.Node:
        pos = self._pos(node)
        kind = node.data if isinstance(node, Tree) else None
        c = node.children if isinstance(node, Tree) else []
        if kind == "int_lit":
            return S.Literal(pos, int(c[0]), "int")
        if kind == "float_lit":
            value = float(c[0])
            if value in (float("inf"), float("-inf")):
                raise DSLSyntaxError("float literal out of range", line=pos.line,
                                     column=pos.column, source=self.source)
            return S.Literal(pos, value, "float")
        if kind == "string_lit":
            return S.Literal(pos, _unescape(str(c[0]), c[0], self.source), "string")
        if kind == "true_lit":
            return S.Literal(pos, True, "bool")
        if kind == "false_lit":
            return S.Literal(pos, False, "bool")
        if kind == "null_lit":
            return S.Literal(pos, None, "null")
        if kind == "list_lit":
            return S.ListLit(pos, tuple(self.expr(x) for x in c if x is not None))
        if kind in ("name", "call"):
            self._not_keyword(c[0])
        if kind == "name":
            return S.Name(pos, str(c[0]))
        if kind == "accessor":
            return self.accessor(c[0])
        if kind == "call":
            return S.Call(pos, str(c[0]), tuple(self.expr(x) for x in c[1:] if x is not None))
        if kind == "neg":
            return S.Neg(pos, self.expr(c[1]))
        if kind == "not_op":
            return S.Not(pos, self.expr(c[0]))
        if kind == "binop":
            return S.BinOp(self._pos(c[1]), str(c[1]), self.expr(c[0]), self.expr(c[2]))
        if kind == "compare":
            return S.Compare(self._pos(c[1]), str(c[1]), self.expr(c[0]), self.expr(c[2]))
        if kind in ("and_op", "or_op"):
            return S.BoolOp(pos, kind[:-3], self.expr(c[0]), self.expr(c[1]))
        if kind == "if_expr":
            return S.IfElse(pos, self.expr(c[0]), self.expr(c[1]), self.expr(c[2]))
        if kind in ("in_op", "not_in_op"):
            items = self.expr(c[1])
            assert isinstance(items, S.ListLit)
            return S.In(pos, self.expr(c[0]), items, kind == "not_in_op")
        raise DSLSyntaxError(f"unsupported construct {kind!r}", line=pos.line,
                             column=pos.column, source=self.source)

    def accessor(self, token: Token) -> S.Access:
        parts = str(token)[1:].split(".")
        pos = S.Pos(token.line, token.column)
        if parts[0] == "req" and len(parts) == 2:
            return S.Access(pos, "req", parts[1], str(token))
        if parts[0] == "fs" and len(parts) == 3:
            return S.Access(pos, "fs", f"{parts[1]}:{parts[2]}", str(token))
        raise DSLSyntaxError(
            f"unknown accessor {str(token)!r}", line=token.line, column=token.column,
            source=self.source,
            hint="accessors are spelled @req.<field> or @fs.<view>.<feature>",
        )
