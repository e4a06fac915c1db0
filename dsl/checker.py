"""Syntax tree -> typed IR: name resolution, type inference and checking, constant folding."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import ir
from . import syntax as S
from .errors import DSLTypeError
from .library import (
    BUILTINS,
    CAST_FUNCTIONS,
    CONSTANTS,
    INT_IDENTITY,
    OPERATOR_SINCE,
    ZONE_SINCE,
    Signature,
)
from .registry import FunctionRegistry
from .timezones import zone_names
from .types import INT64_MAX, INT64_MIN, DType, common_type

InputKey = tuple[str, str]  # ("req", field) or ("fs", "view:feature")


@dataclass(frozen=True)
class CheckedOutput:
    name: str
    expr: ir.Expr
    line: int
    column: int
    since: int = 1  # the language version its source needs


def feature_column(ref: str) -> str:
    """``view:feature`` -> ``view__feature``: the column a feature is read from, in training
    frames and online lookups alike (Feast's full feature name)."""
    view, feature = ref.split(":", 1)
    return f"{view}__{feature}"


def column_name(kind: str, name: str) -> str:
    """The DataFrame column (and request-dict key) an input is read from."""
    return name if kind == "req" else feature_column(name)


def accessor_text(kind: str, name: str) -> str:
    return f"@req.{name}" if kind == "req" else "@fs." + name.replace(":", ".", 1)


def suggest(name: str, candidates: Sequence[str]) -> str | None:
    """``did you mean 'x'?`` for the closest candidate, if any is close."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {match[0]!r}?" if match else None


def _conversion_hint(found: DType, allowed: frozenset[DType]) -> str | None:
    """How to turn a value of type ``found`` into one a parameter accepts, when there is a way."""
    if DType.STRING not in allowed:
        return None
    if found in (DType.INT, DType.BOOL):
        return "convert it with string(...)"
    if found is DType.FLOAT:
        return "string() takes ints and bools: e.g. string(int(x)) or string(floor(x))"
    return None


class Checker:
    def __init__(
        self,
        source: str,
        input_types: Mapping[InputKey, DType],
        functions: FunctionRegistry | None,
    ) -> None:
        self.source = source
        self.types: dict[InputKey, DType] = dict(input_types)
        self.functions = functions or FunctionRegistry()
        self.inputs: dict[InputKey, ir.Input] = {}
        self.outputs: dict[str, ir.Expr] = {}
        self.output_pos: dict[str, S.Pos] = {}
        self._all_names: dict[str, S.Pos] = {}
        self._stmt = ""
        self._fitted_count = 0
        self._since = 1

    # -- entry -----------------------------------------------------------------------------
    def check(self, module: S.Module) -> list[CheckedOutput]:
        if not module.statements:
            raise DSLTypeError("the program defines no outputs", line=1, column=1,
                               source=self.source, hint="write at least one `name = expression`")
        for st in module.statements:
            if st.name in self._all_names:
                first = self._all_names[st.name]
                self.fail(st.pos, f"output {st.name!r} is defined twice (first at line {first.line})")
            self._all_names[st.name] = st.pos
        result = []
        for st in module.statements:
            self._stmt, self._fitted_count, self._since = st.name, 0, 1
            expr = self.expr(st.expr)
            if expr.dtype is DType.NULL:
                self.fail(st.expr.pos, f"the type of output {st.name!r} cannot be inferred (it is "
                          "always null)", hint="give the null a type, e.g. float(null)")
            self.outputs[st.name] = expr
            self.output_pos[st.name] = st.pos
            result.append(CheckedOutput(st.name, expr, st.pos.line, st.pos.column, self._since))
        columns: dict[str, str] = {}
        for inp in self.inputs.values():
            text = accessor_text(inp.kind, inp.name)
            if inp.column in columns and columns[inp.column] != text:
                raise DSLTypeError(f"{text} and {columns[inp.column]} both read column {inp.column!r}")
            columns[inp.column] = text
            if inp.column in self.outputs:
                pos = self.output_pos[inp.column]
                self.fail(pos, f"output {inp.column!r} has the name of the input column of {text}",
                          hint="rename the output")
        return result

    # -- helpers ---------------------------------------------------------------------------
    def fail(self, pos: S.Pos, message: str, hint: str | None = None) -> None:
        raise DSLTypeError(message, line=pos.line, column=pos.column, source=self.source, hint=hint)

    def coerce(self, expr: ir.Expr, target: DType, pos: S.Pos) -> ir.Expr:
        if expr.dtype is target:
            return expr
        if expr.dtype is DType.NULL or (isinstance(expr, ir.Literal) and expr.value is None):
            return ir.Literal(target, None)
        if expr.dtype is DType.INT and target is DType.FLOAT:
            if isinstance(expr, ir.Literal):
                return ir.Literal(DType.FLOAT, float(expr.value))
            return ir.Cast(DType.FLOAT, expr)
        self.fail(pos, f"expected {target}, found {expr.dtype}")
        raise AssertionError

    def needs(self, version: int) -> None:
        """Record that the statement being checked needs language ``version``."""
        self._since = max(self._since, version)

    def _undeclared(self, node: S.Node) -> bool:
        return isinstance(node, S.Access) and (node.kind, node.name) not in self.types

    def group(self, nodes: Sequence[S.Node], hint: DType | None = None) -> list[ir.Expr]:
        """Check sibling operands; undeclared inputs among them take their siblings' type."""
        typed: dict[int, ir.Expr] = {}
        for i, node in enumerate(nodes):
            if not self._undeclared(node):
                typed[i] = self.expr(node)
        known: DType | None = None
        for e in typed.values():
            if e.dtype is DType.NULL:
                continue
            known = e.dtype if known is None else (common_type(known, e.dtype) or known)
        for i, node in enumerate(nodes):
            if i not in typed:
                typed[i] = self.expr(node, known or hint)
        return [typed[i] for i in range(len(nodes))]

    @staticmethod
    def _null(expr: ir.Expr) -> bool:
        return isinstance(expr, ir.Literal) and expr.value is None

    # -- expressions -----------------------------------------------------------------------
    def expr(self, node: S.Node, expected: DType | None = None) -> ir.Expr:
        return _DISPATCH[type(node)](self, node, expected)

    def _literal(self, node: S.Literal, expected: DType | None) -> ir.Expr:
        if node.kind == "int":
            if not INT64_MIN <= node.value <= INT64_MAX:
                self.fail(node.pos, f"integer literal {node.value} is outside the int64 range")
            return ir.Literal(DType.INT, node.value)
        return ir.Literal(DType.NULL if node.kind == "null" else DType(node.kind), node.value)

    def _listlit(self, node: S.ListLit, expected: DType | None) -> ir.Expr:
        self.fail(node.pos, "a list can only follow `in` or be a constant argument such as "
                  "bucket edges")
        raise AssertionError

    def _name(self, node: S.Name, expected: DType | None) -> ir.Expr:
        if node.id in self.outputs:
            return ir.Ref(self.outputs[node.id].dtype, node.id)
        if node.id in self._all_names:
            later = self._all_names[node.id]
            if node.id == self._stmt:
                self.fail(node.pos, f"output {node.id!r} cannot use itself")
            self.fail(node.pos, f"{node.id!r} is defined later (line {later.line}); an output "
                      "can only use outputs defined above it")
        hint = suggest(node.id, list(self.outputs))
        if hint is None and node.id in BUILTINS:
            hint = f"{node.id!r} is a function; call it as {node.id}(...)"
        if hint is None:
            hint = (f"inputs are read with @req.{node.id} (request field) or "
                    "@fs.<view>.<feature> (feature store)")
        self.fail(node.pos, f"unknown name {node.id!r}", hint=hint)
        raise AssertionError

    def _access(self, node: S.Access, expected: DType | None) -> ir.Expr:
        key = (node.kind, node.name)
        dtype = self.types.get(key)
        if dtype is None:
            if expected is None or expected is DType.NULL:
                self.fail(node.pos, f"cannot infer the type of {node.text}",
                          hint=f"declare it: input_types={{{node.name!r}: DType.FLOAT}} (or "
                          "int, bool, string, timestamp)")
            dtype = self.types[key] = expected
        inp = self.inputs.get(key)
        if inp is None:
            inp = self.inputs[key] = ir.Input(dtype, node.kind, node.name,
                                              column_name(node.kind, node.name))
        return inp

    def _neg(self, node: S.Neg, expected: DType | None) -> ir.Expr:
        if isinstance(node.operand, S.Literal) and node.operand.kind in ("int", "float"):
            value = -node.operand.value
            if node.operand.kind == "int" and not INT64_MIN <= value <= INT64_MAX:
                self.fail(node.pos, f"integer literal {value} is outside the int64 range")
            return ir.Literal(DType(node.operand.kind), value)
        arg = self.expr(node.operand, expected or DType.FLOAT)
        if self._null(arg):
            return arg
        if not arg.dtype.is_numeric:
            self.fail(node.pos, f"unary minus needs a number, found {arg.dtype}")
        return ir.Unary(arg.dtype, "neg", arg)

    def _not(self, node: S.Not, expected: DType | None) -> ir.Expr:
        arg = self.expr(node.operand, DType.BOOL)
        if self._null(arg):
            return ir.Literal(DType.BOOL, None)
        if arg.dtype is not DType.BOOL:
            self.fail(node.operand.pos, f"`not` needs a bool, found {arg.dtype}")
        return ir.Unary(DType.BOOL, "not", arg)

    def _binop(self, node: S.BinOp, expected: DType | None) -> ir.Expr:
        self.needs(OPERATOR_SINCE.get(node.op, 1))
        left, right = self.group([node.left, node.right], DType.FLOAT)
        for side, e in ((node.left, left), (node.right, right)):
            if not (e.dtype.is_numeric or e.dtype is DType.NULL):
                self.fail(side.pos, f"`{node.op}` needs numbers, found {e.dtype}",
                          hint="timestamps: use minutes_between(start, end)"
                          if e.dtype is DType.TIMESTAMP else None)
        if node.op == "/":
            dtype = DType.FLOAT
        else:
            dtype = common_type(left.dtype, right.dtype) or DType.FLOAT
        if self._null(left) or self._null(right):
            return ir.Literal(dtype, None)
        if dtype is DType.NULL:
            return ir.Literal(DType.NULL, None)
        return ir.Binary(dtype, node.op, self.coerce(left, dtype, node.left.pos),
                         self.coerce(right, dtype, node.right.pos))

    def _compare(self, node: S.Compare, expected: DType | None) -> ir.Expr:
        left, right = self.group([node.left, node.right])
        if self._null(left) or self._null(right):
            return ir.Literal(DType.BOOL, None)
        common = common_type(left.dtype, right.dtype)
        if common is None:
            self.fail(node.pos, f"cannot compare {left.dtype} with {right.dtype}")
        if common is DType.BOOL and node.op not in ("==", "!="):
            self.fail(node.pos, f"bools can only be compared with == and !=, not {node.op}")
        return ir.Binary(DType.BOOL, node.op, self.coerce(left, common, node.left.pos),
                         self.coerce(right, common, node.right.pos))

    def _boolop(self, node: S.BoolOp, expected: DType | None) -> ir.Expr:
        left, right = (self.expr(n, DType.BOOL) for n in (node.left, node.right))
        for side, e in ((node.left, left), (node.right, right)):
            if e.dtype not in (DType.BOOL, DType.NULL):
                self.fail(side.pos, f"`{node.op}` needs bools, found {e.dtype}")
        return ir.Binary(DType.BOOL, node.op, self.coerce(left, DType.BOOL, node.pos),
                         self.coerce(right, DType.BOOL, node.pos))

    def _ifelse(self, node: S.IfElse, expected: DType | None) -> ir.Expr:
        cond = self.expr(node.cond, DType.BOOL)
        if cond.dtype not in (DType.BOOL, DType.NULL):
            self.fail(node.cond.pos, f"the condition of `if` must be a bool, found {cond.dtype}")
        then, other = self.group([node.then, node.other], expected)
        dtype = common_type(then.dtype, other.dtype)
        if dtype is None:
            self.fail(node.pos, f"the branches of `if` have different types: {then.dtype} and "
                      f"{other.dtype}")
        if self._null(cond) or dtype is DType.NULL:
            return ir.Literal(dtype, None)
        return ir.IfElse(dtype, cond, self.coerce(then, dtype, node.then.pos),
                         self.coerce(other, dtype, node.other.pos))

    def _constant(self, node: S.Node, what: str) -> ir.Literal:
        if isinstance(node, S.Literal):
            lit = self._literal(node, None)
        elif isinstance(node, S.Neg) and isinstance(node.operand, S.Literal):
            lit = self._neg(node, None)
        else:
            self.fail(node.pos, f"{what} must be a literal constant")
            raise AssertionError
        assert isinstance(lit, ir.Literal)
        return lit

    def _in(self, node: S.In, expected: DType | None) -> ir.Expr:
        items = [self._constant(n, "an element of an `in` list") for n in node.items.items]
        dtype: DType = DType.NULL
        for item, n in zip(items, node.items.items):
            if item.value is None:
                self.fail(n.pos, "null cannot be an element of an `in` list",
                          hint="use is_null(x) to test for null")
            common = common_type(dtype, item.dtype)
            if common is None:
                self.fail(n.pos, f"the `in` list mixes {dtype} and {item.dtype}")
            dtype = common
        arg = self.expr(node.operand, None if dtype is DType.NULL else dtype)
        if self._null(arg):
            return ir.Literal(DType.BOOL, None)
        common = common_type(arg.dtype, dtype)
        if common is None:
            self.fail(node.pos, f"cannot look for a {arg.dtype} in a list of {dtype}")
        if common is DType.FLOAT:
            values = tuple(float(i.value) for i in items)
        else:
            values = tuple(i.value for i in items)
        return ir.IsIn(DType.BOOL, self.coerce(arg, common, node.operand.pos), values, node.negate)

    # -- calls -----------------------------------------------------------------------------
    def _call(self, node: S.Call, expected: DType | None) -> ir.Expr:
        sig = BUILTINS.get(node.name)
        if sig is not None:
            return self._builtin(node, sig, expected)
        user = self.functions.get(node.name)
        if user is not None:
            return self._user(node, user)
        known = sorted(set(BUILTINS) | set(self.functions.names()))
        self.fail(node.pos, f"unknown function {node.name!r}",
                  hint=suggest(node.name, known) or "see dsl/README.md for the function list")
        raise AssertionError

    def _arity(self, node: S.Call, low: int, high: int | None) -> None:
        n = len(node.args)
        if n < low or (high is not None and n > high):
            want = (f"{low}" if high == low else f"{low} or more" if high is None
                    else f"{low} to {high}")
            self.fail(node.pos, f"{node.name}() takes {want} arguments, found {n}")

    def _builtin(self, node: S.Call, sig: Signature, expected: DType | None) -> ir.Expr:
        self.needs(sig.since)
        if sig.name in CONSTANTS:
            self._arity(node, 0, 0)
            return ir.Literal(sig.returns, CONSTANTS[sig.name])  # type: ignore[arg-type]
        n_consts = len(sig.consts)
        n_params = len(sig.params)
        if sig.variadic:
            self._arity(node, sig.min_args or n_params, None)
        else:
            self._arity(node, n_params + n_consts - sig.optional_consts, n_params + n_consts)
        arg_nodes = node.args if sig.variadic else node.args[:n_params]
        const_nodes = node.args[len(arg_nodes):]
        hint = sig.cast_args
        if hint is None:
            allowed = sig.params[0]
            hint = next(iter(allowed)) if len(allowed) == 1 else (
                DType.FLOAT if allowed == frozenset({DType.INT, DType.FLOAT}) else None)
        if hint is None and sig.returns == "common" and expected not in (None, DType.NULL):
            hint = expected
        if sig.cast_args is not None:  # every argument becomes cast_args: infer exactly that
            args = [self.expr(n, sig.cast_args) for n in arg_nodes]
        else:
            args = self.group(arg_nodes, hint)
        for i, (a, n) in enumerate(zip(args, arg_nodes)):
            allowed = sig.params[min(i, n_params - 1)]
            if a.dtype is not DType.NULL and a.dtype not in allowed:
                names = " or ".join(sorted(t.value for t in allowed))
                self.fail(n.pos, f"argument {i + 1} of {node.name}() must be {names}, "
                          f"found {a.dtype}", hint=_conversion_hint(a.dtype, allowed))
        consts = tuple(self._const_param(kind, cn, node.name)
                       for kind, cn in zip(sig.consts, const_nodes))
        if sig.returns == "common":
            dtype: DType = DType.NULL
            for a, n in zip(args, arg_nodes):
                c = common_type(dtype, a.dtype)
                if c is None:
                    self.fail(n.pos, f"the arguments of {node.name}() have different types: "
                              f"{dtype} and {a.dtype}")
                dtype = c
            target = dtype
        else:
            dtype = sig.returns  # type: ignore[assignment]
            target = sig.cast_args  # type: ignore[assignment]
        if not sig.null_safe and any(self._null(a) for a in args):
            return ir.Literal(dtype, None)
        if target is not None and target is not DType.NULL:
            args = [self.coerce(a, target, n.pos) for a, n in zip(args, arg_nodes)]
        if node.name == "is_null":
            return ir.Call(DType.BOOL, "is_null", tuple(args))
        if dtype is DType.NULL:
            return ir.Literal(DType.NULL, None)
        if node.name in CAST_FUNCTIONS:
            (arg,) = args
            return arg if arg.dtype is dtype else ir.Cast(dtype, arg)
        if node.name in INT_IDENTITY and args[0].dtype is DType.INT:
            return args[0]
        if sig.fitted:
            key = f"{self._stmt}#{self._fitted_count}"
            self._fitted_count += 1
            return ir.Fitted(dtype, node.name, args[0], key, consts)
        return ir.Call(dtype, node.name, tuple(args), consts)

    def _const_param(self, kind: str, node: S.Node, fname: str) -> Any:
        if kind == "zone":
            return self._zone(node, fname)
        if kind == "int":
            lit = self._constant(node, f"this argument of {fname}()")
            if lit.dtype is not DType.INT or lit.value < 1:
                self.fail(node.pos, f"this argument of {fname}() must be a positive integer")
            if fname == "quantile_bucketize" and not 2 <= lit.value <= 1000:
                self.fail(node.pos, "quantile_bucketize() takes 2 to 1000 buckets")
            return lit.value
        if not isinstance(node, S.ListLit):
            self.fail(node.pos, f"the edges of {fname}() must be a list of numbers, e.g. [0, 1.5, 10]")
        edges = []
        for item in node.items:  # type: ignore[attr-defined]
            lit = self._constant(item, "a bucket edge")
            if not lit.dtype.is_numeric:
                self.fail(item.pos, f"bucket edges must be numbers, found {lit.dtype}")
            edges.append(float(lit.value))
        if not edges:
            self.fail(node.pos, "bucketize() needs at least one edge")
        if any(b <= a for a, b in zip(edges, edges[1:])):
            self.fail(node.pos, "bucket edges must be strictly increasing")
        return tuple(edges)

    def _zone(self, node: S.Node, fname: str) -> str:
        """A literal IANA zone name; unknown names are refused with the closest known one."""
        if not (isinstance(node, S.Literal) and node.kind == "string"):
            self.fail(node.pos, f"the time zone of {fname}() must be a literal string such as "
                      '"Europe/Paris"')
            raise AssertionError
        zone: str = node.value
        self.needs(ZONE_SINCE)
        if zone not in zone_names():
            self.fail(node.pos, f"unknown time zone {zone!r}",
                      hint=suggest(zone, sorted(zone_names()))
                      or 'time zones are IANA names such as "America/New_York" or "UTC"')
        return zone

    def _user(self, node: S.Call, fn: Any) -> ir.Expr:
        self._arity(node, len(fn.arg_types), len(fn.arg_types))
        args = [self.expr(n, t) for n, t in zip(node.args, fn.arg_types)]
        out = []
        for i, (a, n, t) in enumerate(zip(args, node.args, fn.arg_types)):
            if a.dtype is not DType.NULL and common_type(a.dtype, t) is not t:
                self.fail(n.pos, f"argument {i + 1} of {node.name}() must be {t}, found {a.dtype}")
            out.append(self.coerce(a, t, n.pos))
        if any(self._null(a) for a in args):
            return ir.Literal(fn.return_type, None)
        return ir.Call(fn.return_type, node.name, tuple(out))


_DISPATCH = {
    S.Literal: Checker._literal,
    S.ListLit: Checker._listlit,
    S.Name: Checker._name,
    S.Access: Checker._access,
    S.Neg: Checker._neg,
    S.Not: Checker._not,
    S.BinOp: Checker._binop,
    S.Compare: Checker._compare,
    S.BoolOp: Checker._boolop,
    S.IfElse: Checker._ifelse,
    S.In: Checker._in,
    S.Call: Checker._call,
}
