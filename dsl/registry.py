"""User functions: registered explicitly from Python with types and a vectorised body."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .library import BUILTINS
from .types import DType

_ALLOWED = (DType.INT, DType.FLOAT, DType.BOOL, DType.STRING)


@dataclass(frozen=True)
class UserFunction:
    """A registered function.

    ``impl`` takes one numpy array per argument (int64, float64, bool, or object arrays of
    str), all of the same length and holding no nulls, and returns an array of that length
    of the return type. Rows where any argument is null never reach it: the result there is
    null. A NaN in a float result is null. The per-request evaluator calls the same
    ``impl`` with arrays of length one, so results are identical on every back end.
    """

    name: str
    arg_types: tuple[DType, ...]
    return_type: DType
    impl: Callable[..., np.ndarray]

    def signature(self) -> dict[str, object]:
        return {"args": [t.value for t in self.arg_types], "returns": self.return_type.value}


class FunctionRegistry:
    """The only way Python code becomes callable from the language."""

    def __init__(self) -> None:
        self._functions: dict[str, UserFunction] = {}

    def register(
        self,
        name: str,
        arg_types: Sequence[DType | str],
        return_type: DType | str,
        impl: Callable[..., np.ndarray],
    ) -> UserFunction:
        """Register ``impl`` as ``name(arg_types...) -> return_type``."""
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"function name {name!r} must be an identifier not starting with _")
        if name in BUILTINS:
            raise ValueError(f"{name!r} is a built-in function and cannot be redefined")
        if name in self._functions:
            raise ValueError(f"function {name!r} is already registered")
        args = tuple(DType.parse(t) for t in arg_types)
        ret = DType.parse(return_type)
        for t in (*args, ret):
            if t not in _ALLOWED:
                raise ValueError(f"user functions take and return int, float, bool or string, not {t}")
        if not callable(impl):
            raise TypeError("impl must be callable")
        fn = UserFunction(name, args, ret, impl)
        self._functions[name] = fn
        return fn

    def function(
        self, arg_types: Sequence[DType | str], return_type: DType | str, name: str | None = None
    ) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
        """Decorator form of :meth:`register`."""

        def decorate(impl: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
            self.register(name or impl.__name__, arg_types, return_type, impl)
            return impl

        return decorate

    def get(self, name: str) -> UserFunction | None:
        return self._functions.get(name)

    def names(self) -> list[str]:
        return sorted(self._functions)

    def __iter__(self) -> Iterator[UserFunction]:
        return iter(self._functions.values())

    def __contains__(self, name: object) -> bool:
        return name in self._functions
