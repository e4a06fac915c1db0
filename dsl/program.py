"""The compiled program: what training fits and applies, and what serving evaluates."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ir
from .checker import Checker, CheckedOutput, accessor_text, column_name
from .errors import DSLError, DSLFitError, DSLVersionError
from .fitting import check_constants, fit_constants
from .parser import parse
from .registry import FunctionRegistry
from .types import DType

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame as SparkDataFrame

LANGUAGE_VERSION = 2  # 2 added %, floor, ceil, sin, cos, pi, concat, year, time zones
ARTIFACT_FORMAT = "fresco.dsl.program"


@dataclass(frozen=True)
class Output:
    name: str
    dtype: DType


def input_key(ref: str) -> tuple[str, str]:
    """``placed_at``/``@req.placed_at`` -> request field; ``view:feature``/``@fs.view.feature``
    -> feature."""
    if ref.startswith("@req."):
        return ("req", ref[5:])
    if ref.startswith("@fs."):
        return ("fs", ref[4:].replace(".", ":", 1))
    if ":" in ref:
        return ("fs", ref)
    return ("req", ref)


def _ref_text(kind: str, name: str) -> str:
    return name  # request fields by name, features as "view:feature"


class Program:
    """A checked (and possibly fitted) DSL program. Immutable; ``fit`` returns a new one."""

    def __init__(
        self,
        source: str,
        checked: Sequence[CheckedOutput],
        inputs: Sequence[ir.Input],
        functions: FunctionRegistry | None,
        fitted: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.source = source
        self._checked = tuple(checked)
        self._inputs = tuple(inputs)
        self._functions = functions
        self._fitted = {k: dict(v) for k, v in (fitted or {}).items()}
        self._pairs = [(c.name, c.expr) for c in self._checked]
        self._fitted_nodes = [
            (c, node) for c in self._checked for node in ir.walk(c.expr)
            if isinstance(node, ir.Fitted)
        ]
        self._user_functions = sorted({
            node.name for c in self._checked for node in ir.walk(c.expr)
            if isinstance(node, ir.Call) and functions is not None and node.name in functions
        })
        self._row: Any = None

    # -- what it is --------------------------------------------------------------------------
    @property
    def outputs(self) -> list[Output]:
        """Output names and types, in program order."""
        return [Output(c.name, c.expr.dtype) for c in self._checked]

    @property
    def request_fields(self) -> list[str]:
        """Request fields the program reads, in order of first use."""
        return [i.name for i in self._inputs if i.kind == "req"]

    @property
    def feature_refs(self) -> list[str]:
        """Feature-store features the program reads, as Feast references ``view:feature``."""
        return [i.name for i in self._inputs if i.kind == "fs"]

    @property
    def input_types(self) -> dict[str, DType]:
        """Type of every input, keyed by request field name or ``view:feature``."""
        return {i.name: i.dtype for i in self._inputs}

    @property
    def input_columns(self) -> dict[str, str]:
        """Input reference -> the DataFrame column / request-dict key holding it."""
        return {i.name: i.column for i in self._inputs}

    def column_for(self, ref: str) -> str:
        """Column for a request field (``placed_at`` -> ``placed_at``) or a feature
        (``view:feature`` or ``@fs.view.feature`` -> ``view__feature``)."""
        return column_name(*input_key(ref))

    @property
    def fitted(self) -> dict[str, dict[str, Any]]:
        """Fitted constants by transform key (``<output>#<n>``); empty when not fitted."""
        return {k: dict(v) for k, v in self._fitted.items()}

    @property
    def language_version(self) -> int:
        """The oldest language version that can run this program (what the artifact records,
        so older code still loads programs that use nothing newer)."""
        return max((c.since for c in self._checked), default=1)

    @property
    def needs_fit(self) -> bool:
        return bool(self._fitted_nodes)

    @property
    def is_fitted(self) -> bool:
        return all(node.key in self._fitted for _, node in self._fitted_nodes)

    def ir(self) -> list[tuple[str, ir.Expr]]:
        """The typed intermediate form: (output name, expression) pairs."""
        return list(self._pairs)

    def __repr__(self) -> str:
        outs = ", ".join(f"{o.name}: {o.dtype}" for o in self.outputs)
        state = "fitted" if self.needs_fit and self.is_fitted else (
            "not fitted" if self.needs_fit else "no fitted transforms")
        return f"<Program {outs} ({state})>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Program):
            return NotImplemented
        return (self.source == other.source and self._pairs == other._pairs
                and self._fitted == other._fitted)

    __hash__ = None  # type: ignore[assignment]

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, df: "pd.DataFrame") -> "Program":
        """Fit every fitted transform on training rows ``df``; returns a new, fitted program."""
        from .backends import pandas as pdb

        fitted: dict[str, dict[str, Any]] = {}
        with np.errstate(all="ignore"):
            env = pdb.read_inputs(df, list(self._inputs))
            compiler = pdb.PandasCompiler(len(df), env, fitted, self._functions)
            for c in self._checked:
                for node in ir.walk(c.expr):
                    if isinstance(node, ir.Fitted):
                        values, mask = compiler.compute(node.arg)
                        try:
                            fitted[node.key] = fit_constants(node, values, mask)
                        except DSLFitError as exc:
                            raise DSLFitError(f"cannot fit output {c.name!r}: {exc.message}",
                                              line=c.line, column=c.column,
                                              source=self.source) from None
                env[c.name] = compiler.compute(c.expr)
        return Program(self.source, self._checked, self._inputs, self._functions, fitted)

    def fit_spark(self, df: "SparkDataFrame") -> "Program":
        """:meth:`fit` on a Spark DataFrame: each statistic a Spark aggregate (only the statistics
        reach the driver); the same constants as :meth:`fit` on the same rows, float ones (means,
        standard deviations, interpolated quantiles) to about 1e-12 relative (Spark sums in
        another order). Cache ``df`` first if computing it is costly: each fitted transform reads it."""
        from .backends import spark as sb

        checked = {c.name: c for c in self._checked}
        try:
            fitted = sb.fit(df, self._pairs, list(self._inputs), self._functions)
        except DSLFitError as exc:
            c = checked.get(getattr(exc, "output", ""))
            if c is None:
                raise
            raise DSLFitError(f"cannot fit output {c.name!r}: {exc.message}", line=c.line, column=c.column,
                              source=self.source) from None
        return Program(self.source, self._checked, self._inputs, self._functions, fitted)

    def _require_fitted(self) -> None:
        missing = [(c, n) for c, n in self._fitted_nodes if n.key not in self._fitted]
        if missing:
            c, node = missing[0]
            raise DSLFitError(
                f"{node.kind}() in output {c.name!r} needs constants fitted on training data, "
                "and this program was not fitted",
                line=c.line, column=c.column, source=self.source,
                hint="call program.fit(training_frame) and use the program it returns",
            )

    # -- running -----------------------------------------------------------------------------
    def to_pandas(self, df: "pd.DataFrame") -> "pd.DataFrame":
        """Outputs for every row of ``df`` (columns named by :meth:`column_for`), on its index.

        Nulls: float NaN; Int64/boolean NA; string None; timestamp NaT (UTC, microseconds).
        """
        from .backends import pandas as pdb

        self._require_fitted()
        return pdb.run(df, self._pairs, list(self._inputs), self._fitted, self._functions)

    def to_spark(self, df: "SparkDataFrame") -> "SparkDataFrame":
        """``df`` with the output columns added (native Spark expressions, no Python UDFs for
        built-ins)."""
        from .backends import spark as sb

        self._require_fitted()
        return sb.apply(df, self._pairs, list(self._inputs), self._fitted, self._functions)

    def _evaluator(self) -> Any:
        if self._row is None:
            from .backends.rowwise import RowEvaluator

            self._require_fitted()
            self._row = RowEvaluator(self._pairs, list(self._inputs), self._fitted,
                                     self._functions)
        return self._row

    def evaluate(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Outputs for one request: keys are input columns, values plain Python (None = null;
        timestamps as aware datetimes or ISO 8601 text with an offset)."""
        return self._evaluator().evaluate(row)

    def evaluate_many(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """:meth:`evaluate` for a small batch of requests."""
        evaluate = self._evaluator().evaluate
        return [evaluate(r) for r in rows]

    # -- artifact ----------------------------------------------------------------------------
    def to_json(self) -> str:
        """A small JSON document: source, input types, fitted constants, language version."""
        doc = {
            "format": ARTIFACT_FORMAT,
            "language_version": self.language_version,
            "source": self.source,
            "input_types": {i.name if i.kind == "fs" else i.name: i.dtype.value
                            for i in self._inputs},
            "fitted": self._fitted,
            "user_functions": {
                name: self._functions.get(name).signature()  # type: ignore[union-attr]
                for name in self._user_functions
            },
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str, functions: FunctionRegistry | None = None) -> "Program":
        """Load an artifact written by :meth:`to_json`; user functions must be re-registered
        in ``functions`` with the same signatures."""
        try:
            doc = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise DSLError(f"program artifact is not valid JSON: {exc}") from None
        except RecursionError:
            raise DSLError("program artifact is nested too deeply to be a program") from None
        if not isinstance(doc, dict) or doc.get("format") != ARTIFACT_FORMAT:
            raise DSLError(f"not a DSL program artifact (expected format {ARTIFACT_FORMAT!r})")
        version = doc.get("language_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise DSLError(f"artifact has an invalid language_version {version!r}")
        if version > LANGUAGE_VERSION:
            raise DSLVersionError(
                f"this program was written for DSL language version {version}, but this code "
                f"only knows versions up to {LANGUAGE_VERSION}",
                hint="upgrade fresco (the dsl package) where the program is loaded",
            )
        for name, sig in (doc.get("user_functions") or {}).items():
            fn = functions.get(name) if functions is not None else None
            if fn is None:
                raise DSLError(f"the program uses user function {name!r}; register it in the "
                               "FunctionRegistry passed to Program.from_json")
            if fn.signature() != sig:
                raise DSLError(f"user function {name!r} is registered as {fn.signature()}, "
                               f"but the program was compiled against {sig}")
        types = {k: DType.parse(v) for k, v in (doc.get("input_types") or {}).items()}
        program = compile_program(doc["source"], types, functions)
        fitted = doc.get("fitted") or {}
        nodes = {node.key: node for _, node in program._fitted_nodes}
        unknown = set(fitted) - set(nodes)
        if unknown:
            raise DSLFitError(f"artifact has fitted constants for unknown transforms {sorted(unknown)}")
        checked = {k: check_constants(nodes[k], v) for k, v in fitted.items()}
        return Program(program.source, program._checked, program._inputs, functions, checked)


def compile_program(
    source: str,
    input_types: Mapping[str, DType | str] | None = None,
    functions: FunctionRegistry | None = None,
) -> Program:
    """Parse and type-check ``source``.

    ``input_types`` gives the type of request fields (``"placed_at"`` or ``"@req.placed_at"``)
    and features (``"view:feature"`` or ``"@fs.view.feature"``). Inputs not listed take the
    type their use demands (``hour_of_day(@req.t)`` makes ``t`` a timestamp); when the use
    does not decide, compilation fails asking for a declaration.
    """
    types = {input_key(k): DType.parse(v) for k, v in (input_types or {}).items()}
    module = parse(source)
    checker = Checker(source, types, functions)
    checked = checker.check(module)
    return Program(source, checked, list(checker.inputs.values()), functions)
