"""User functions: registered explicitly from Python with types and a vectorised body.

Functions reach a registry in three ways: :meth:`FunctionRegistry.register` from Python; an
installed distribution's ``fresco.dsl_functions`` entry points; a module a model config
names (``features.functions``). The last two go through :func:`load_functions`, which
training and serving both use, and each function remembers its :class:`Provider` so a
model's artifact can name what it needs (:meth:`FunctionRegistry.manifest`) and serving can
require it back (:func:`functions_for`).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata as metadata
import importlib.util
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .library import BUILTINS
from .types import DType

_ALLOWED = (DType.INT, DType.FLOAT, DType.BOOL, DType.STRING)

#: Entry point group of user DSL functions: each entry point loads ``register(registry)``.
FUNCTIONS_GROUP = "fresco.dsl_functions"


class ExtensionError(Exception):
    """An extension (user functions, a trainer) cannot be loaded, or one a model needs is
    not installed; the message names the entry point or module and the distribution."""


@dataclass(frozen=True)
class Provider:
    """Where an extension came from: an entry point of an installed distribution, or a
    module a config named (``entry_point`` None). ``module`` is ``package.module:attr``."""

    module: str
    entry_point: str | None = None
    group: str | None = None
    distribution: str | None = None
    version: str | None = None

    def describe(self) -> str:
        """``entry point 'x' (group g, pkg.mod:attr) of dist 1.0`` or ``module pkg.mod:attr``."""
        of = f" of {self.distribution} {self.version}" if self.distribution else ""
        if self.entry_point is None:
            return f"module {self.module}{of}"
        return f"entry point {self.entry_point!r} (group {self.group}, {self.module}){of}"

    def install_hint(self) -> str:
        """What to do where the extension is missing."""
        if self.distribution:
            return f"install {self.distribution}=={self.version} where the model is loaded"
        return f"make module {self.module.split(':')[0]} importable where the model is loaded"

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Provider":
        return cls(str(data["module"]), data.get("entry_point"), data.get("group"),
                   data.get("distribution"), data.get("version"))


def installed_entry_points(group: str, names: Collection[str] | None = None) -> list[metadata.EntryPoint]:
    """The entry points of ``group`` in the installed distributions (only ``names``, if given)."""
    found = metadata.entry_points(group=group)
    return [ep for ep in found if names is None or ep.name in names]


def entry_point_provider(ep: metadata.EntryPoint) -> Provider:
    """The provider of entry point ``ep`` (its distribution's name and version)."""
    dist = ep.dist
    return Provider(ep.value, ep.name, ep.group, dist.metadata["Name"] if dist else None,
                    dist.version if dist else None)


def load_entry_point(ep: metadata.EntryPoint, what: str) -> tuple[Any, Provider]:
    """The object ``ep`` names and its provider; an import failure is an :class:`ExtensionError`
    naming the entry point, its distribution and module."""
    provider = entry_point_provider(ep)
    try:
        return ep.load(), provider
    except Exception as exc:
        raise ExtensionError(f"cannot load {what} from {provider.describe()}: "
                             f"{type(exc).__name__}: {exc}") from exc


@functools.lru_cache(maxsize=4)
def _packages_distributions(path: tuple[str, ...]) -> Mapping[str, list[str]]:
    """Top-level package -> distributions, for one ``sys.path`` (reading every RECORD takes
    a second in a large environment: once per process and path)."""
    return metadata.packages_distributions()


def module_provider(path: str, default_attr: str) -> Provider:
    """The provider of ``package.module[:attr]`` (with the distribution that installed it)."""
    module, _, attr = path.partition(":")
    dists = _packages_distributions(tuple(sys.path)).get(module.split(".")[0], [])
    version = None
    if dists:
        try:
            version = metadata.version(dists[0])
        except metadata.PackageNotFoundError:
            dists = []
    return Provider(f"{module}:{attr or default_attr}", distribution=dists[0] if dists else None,
                    version=version)


def load_module_object(path: str, default_attr: str, what: str) -> tuple[Any, Provider]:
    """The object ``package.module[:attr]`` names (attr defaults to ``default_attr``)."""
    module, _, attr = path.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr or default_attr)
    except Exception as exc:
        raise ExtensionError(f"cannot load {what} from module {path!r}: "
                             f"{type(exc).__name__}: {exc}") from exc
    return obj, module_provider(path, default_attr)


def signature_text(name: str, signature: Mapping[str, Any]) -> str:
    """``name(float, int) -> float`` from a signature dict (``args``, ``returns``)."""
    return f"{name}({', '.join(signature['args'])}) -> {signature['returns']}"


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

    def describe(self) -> str:
        """``name(float, int) -> float``."""
        return signature_text(self.name, self.signature())


class FunctionRegistry:
    """The only way Python code becomes callable from the language."""

    def __init__(self) -> None:
        self._functions: dict[str, UserFunction] = {}
        self._providers: dict[str, Provider] = {}
        self._loading: Provider | None = None

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
            earlier = self._providers.get(name)
            by = f" by {earlier.describe()}" if earlier else ""
            raise ValueError(f"function {name!r} is already registered{by}")
        args = tuple(DType.parse(t) for t in arg_types)
        ret = DType.parse(return_type)
        for t in (*args, ret):
            if t not in _ALLOWED:
                raise ValueError(f"user functions take and return int, float, bool or string, not {t}")
        if not callable(impl):
            raise TypeError("impl must be callable")
        fn = UserFunction(name, args, ret, impl)
        self._functions[name] = fn
        if self._loading is not None:
            self._providers[name] = self._loading
        return fn

    def extend(self, register: Any, provider: Provider) -> list[str]:
        """Call ``register(self)`` (an extension's function) and record ``provider`` for every
        function it registers; returns their names. Any failure is an :class:`ExtensionError`
        naming the provider."""
        if not callable(register):
            raise ExtensionError(f"{provider.describe()} loads {type(register).__name__} "
                                 f"{register!r:.60}, not a function register(registry)")
        before = set(self._functions)
        self._loading = provider
        try:
            register(self)
        except Exception as exc:
            raise ExtensionError(f"user functions of {provider.describe()}: "
                                 f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._loading = None
        return sorted(set(self._functions) - before)

    def provider(self, name: str) -> Provider | None:
        """Where function ``name`` came from (None: registered from Python directly)."""
        return self._providers.get(name)

    def manifest(self, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What a model artifact records of the functions ``names``: signature and provider."""
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            fn = self._functions[name]
            provider = self._providers.get(name)
            out[name] = {**fn.signature(), "provider": provider.to_dict() if provider else None}
        return out

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


def load_functions(
    modules: Sequence[str] = (), entry_points: Collection[str] | None = None
) -> FunctionRegistry:
    """A registry of the installed ``fresco.dsl_functions`` entry points (all, or only those
    named in ``entry_points``) and of ``modules`` (``package.module[:function]``, function
    default ``register``). Each entry point and module gives a callable
    ``register(registry: FunctionRegistry) -> None``. Training and serving both resolve user
    functions here."""
    registry = FunctionRegistry()
    for ep in installed_entry_points(FUNCTIONS_GROUP, entry_points):
        registry.extend(*load_entry_point(ep, "user functions"))
    normalised = (p if ":" in p else f"{p}:register" for p in modules)
    for path in dict.fromkeys(normalised):  # a module named twice registers once
        registry.extend(*load_module_object(path, "register", "user functions"))
    return registry


def _importable(path: str) -> bool:
    try:
        return importlib.util.find_spec(path.split(":")[0]) is not None
    except ModuleNotFoundError:
        return False


def functions_for(required: Mapping[str, Mapping[str, Any]]) -> FunctionRegistry:
    """The registry for a model whose artifact needs ``required`` (a :meth:`~FunctionRegistry.manifest`):
    loads only the entry points and modules that provided them at training and refuses, with
    an :class:`ExtensionError` naming the function and what to install, a function that is
    missing or has another signature."""
    if not required:
        return FunctionRegistry()
    providers = {name: Provider.from_dict(e["provider"]) if e.get("provider") else None
                 for name, e in required.items()}
    known = [p for p in providers.values() if p is not None]
    registry = load_functions(
        modules=[p.module for p in known if p.entry_point is None and _importable(p.module)],
        entry_points={p.entry_point for p in known if p.entry_point is not None},
    )
    for name, entry in sorted(required.items()):
        wanted = signature_text(name, entry)
        provider = providers[name]
        origin = (provider.describe() if provider else
                  "Python code (registered without an entry point or a config module)")
        fn = registry.get(name)
        if fn is None:
            hint = provider.install_hint() if provider else (
                f"provide it through a {FUNCTIONS_GROUP} entry point and retrain")
            raise ExtensionError(f"the model uses DSL function {wanted} from {origin}, which is "
                                 f"not installed here: {hint}")
        if fn.signature() != {"args": list(entry["args"]), "returns": entry["returns"]}:
            here = registry.provider(name)
            raise ExtensionError(
                f"DSL function {name} is {fn.describe()} here "
                f"({here.describe() if here else 'Python code'}), "
                f"but the model was trained with {wanted} ({origin})"
                + (f": {provider.install_hint()}" if provider else ""))
    return registry
