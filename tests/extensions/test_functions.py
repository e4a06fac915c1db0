"""User DSL functions from entry points (``fresco.dsl_functions``) and from modules a config names."""

from __future__ import annotations

import re
import sys

import pytest

from fresco.dsl import ExtensionError, compile_program, load_functions
from fresco.dsl.registry import FUNCTIONS_GROUP, functions_for
from tests.extensions.distributions import FUNCTIONS_SOURCE, FUNCTIONS_SOURCE_V2

EP = {FUNCTIONS_GROUP: {"distances": "my_ext.funcs:register"}}


def test_entry_point_functions_are_found_with_their_provider(installed) -> None:
    installed("my-ext", "0.1", {"my_ext/__init__.py": "", "my_ext/funcs.py": FUNCTIONS_SOURCE}, EP)
    registry = load_functions()
    assert {"km_to_miles", "items_squared"} <= set(registry.names())
    provider = registry.provider("km_to_miles")
    assert (provider.entry_point, provider.distribution, provider.version, provider.module) == (
        "distances", "my-ext", "0.1", "my_ext.funcs:register")
    program = compile_program("m = km_to_miles(@req.d)", {"d": "float"}, registry)
    assert program.evaluate({"d": 10.0})["m"] == pytest.approx(6.21371)
    assert registry.manifest(["km_to_miles"]) == {"km_to_miles": {
        "args": ["float"], "returns": "float", "provider": provider.to_dict()}}


def test_a_module_named_in_the_config_registers_functions(installed) -> None:
    installed("my-ext", "0.1", {"my_ext/__init__.py": "", "my_ext/funcs.py": FUNCTIONS_SOURCE}, {})
    assert "km_to_miles" not in load_functions()  # no entry point: only when named
    registry = load_functions(["my_ext.funcs"])
    provider = registry.provider("items_squared")
    assert provider.entry_point is None and provider.module == "my_ext.funcs:register"
    assert provider.distribution == "my-ext"  # the distribution that installed the module
    assert "items_squared" in load_functions(["my_ext.funcs:register", "my_ext.funcs"])  # once
    with pytest.raises(ExtensionError, match=r"cannot load user functions from module "
                                             r"'no_such_module:register': ModuleNotFoundError"):
        load_functions(["no_such_module"])


@pytest.mark.parametrize("source, text", [
    ("raise ImportError('numpy 3 is required')", "ImportError: numpy 3 is required"),
    ("register = 42", "loads int 42, not a function register(registry)"),
    ("def register(registry):\n    registry.register('log', ['float'], 'float', abs)\n",
     "'log' is a built-in function and cannot be redefined"),
    ("def register(registry):\n    raise RuntimeError('no licence')\n", "RuntimeError: no licence"),
])
def test_a_broken_entry_point_is_named(installed, source: str, text: str) -> None:
    installed("bad-ext", "1.2", {"bad_ext.py": source}, {FUNCTIONS_GROUP: {"broken": "bad_ext:register"}})
    with pytest.raises(ExtensionError) as err:
        load_functions()
    message = str(err.value)
    assert "entry point 'broken'" in message and "bad-ext 1.2" in message and "bad_ext:register" in message
    assert text in message


def test_two_providers_of_one_name_are_refused_naming_both(installed) -> None:
    installed("my-ext", "0.1", {"my_ext/__init__.py": "", "my_ext/funcs.py": FUNCTIONS_SOURCE}, EP)
    installed("other-ext", "2.0", {"other_ext.py": FUNCTIONS_SOURCE},
              {FUNCTIONS_GROUP: {"more": "other_ext:register"}})
    with pytest.raises(ExtensionError, match="is already registered by entry point") as err:
        load_functions()
    assert "my-ext 0.1" in str(err.value) and "other-ext 2.0" in str(err.value)


def test_a_model_s_functions_are_required_by_name_signature_and_provider(installed) -> None:
    root = installed("my-ext", "0.1", {"my_ext/__init__.py": "", "my_ext/funcs.py": FUNCTIONS_SOURCE}, EP)
    needed = load_functions().manifest(["km_to_miles"])
    assert functions_for(needed).get("km_to_miles").signature() == {"args": ["float"], "returns": "float"}

    sys.path.remove(str(root))
    for mod in [m for m in sys.modules if m.startswith("my_ext")]:
        del sys.modules[mod]
    with pytest.raises(ExtensionError) as err:
        functions_for(needed)
    assert str(err.value) == (
        "the model uses DSL function km_to_miles(float) -> float from entry point 'distances' "
        "(group fresco.dsl_functions, my_ext.funcs:register) of my-ext 0.1, which is not "
        "installed here: install my-ext==0.1 where the model is loaded")

    installed("my-ext", "0.2", {"my_ext/__init__.py": "", "my_ext/funcs.py": FUNCTIONS_SOURCE_V2}, EP)
    with pytest.raises(ExtensionError, match=re.escape(
            "DSL function km_to_miles is km_to_miles(float, float) -> float here (entry point "
            "'distances' (group fresco.dsl_functions, my_ext.funcs:register) of my-ext 0.2), but "
            "the model was trained with km_to_miles(float) -> float (")):
        functions_for(needed)


def test_functions_for_nothing_loads_no_extension(installed) -> None:
    installed("bad-ext", "1.2", {"bad_ext.py": "raise ImportError('broken')"},
              {FUNCTIONS_GROUP: {"broken": "bad_ext:register"}})
    assert functions_for({}).names() == []  # a model without user functions never imports one
