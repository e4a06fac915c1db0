"""``fresco init DIR``: a working Fresco project for a team's own data.

The project is a Feast feature repository (``feature_store.yaml`` with Fresco's catalog policy
and stores, ``definitions.py`` showing owner, description and freshness SLA) with a model
config and its DSL program under ``models/``, and a small sample dataset under ``data/`` so
that ``feast apply``, ``fresco materialize``, ``fresco train`` and ``fresco serve`` work at
once; the sample is what a team replaces with its own data. The files are the templates in
``fresco/platform/templates/project``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

TEMPLATES = Path(__file__).with_name("templates") / "project"
#: template file -> file in the project (``gitignore`` is stored without its dot).
_RENAMES = {"gitignore": ".gitignore"}
_PRODUCTION_ONLY = {"feature_store.production.yaml"}


if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


class InitError(ValueError):
    """The project cannot be created where asked (the message says why); nothing was written."""


@dataclass
class InitResult:
    """What :func:`init_project` wrote."""

    path: Path
    project: str
    files: list[Path] = field(default_factory=list)


def project_name(text: str) -> str:
    """A Feast project name from a folder name: lower case letters, digits and underscores."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    name = re.sub(r"^[^a-z]+", "", name)
    return name or "fresco_project"


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _production_spark_conf() -> str:
    """Fresco's Spark settings as the production yaml spells them (``${FRESCO_HOME}`` unresolved)."""
    from fresco.platform.spark import spark_conf

    import json

    conf = spark_conf(Path("${FRESCO_HOME}"))
    return "\n".join(f"    {key}: {json.dumps(value)}" for key, value in conf.items())


def _arrow_column(values: "np.ndarray") -> "pa.Array":
    """A numpy column as an Arrow array, built from its buffers: int64, float64, text, and
    ``datetime64[us]`` as UTC microsecond timestamps (what Spark reads)."""
    import numpy as np
    import pyarrow as pa

    if values.dtype.kind in "US":
        encoded = [str(v).encode() for v in values]
        offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int32)
        return pa.Array.from_buffers(pa.string(), len(values), [None, pa.py_buffer(offsets),
                                                                pa.py_buffer(b"".join(encoded))])
    kinds = {"i": (np.int64, pa.int64()), "f": (np.float64, pa.float64()),
             "M": (np.int64, pa.timestamp("us", tz="UTC"))}
    dtype, arrow_type = kinds[values.dtype.kind]
    if values.dtype.kind == "M":
        values = values.astype("datetime64[us]").view(np.int64)
    data = np.ascontiguousarray(values, dtype=dtype)
    return pa.Array.from_buffers(arrow_type, len(data), [None, pa.py_buffer(data)])


def write_sample_data(data_dir: Path, *, customers: int = 200, days: int = 45, orders: int = 6000,
                      seed: int = 0, end: datetime | None = None) -> list[Path]:
    """The sample dataset: daily ``customer_stats`` snapshots and ``labels`` (entity rows).

    Snapshots run daily at 00:00 UTC up to ``end`` (default: today), so a fresh project's
    online store has values inside the view's TTL. A customer's basket value depends on their
    recent order statistics, segment, the hour and the channel, so a model has something to learn.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    # numpy and pyarrow buffers only: importing pandas (which pa.array does) would take most
    # of `fresco init`'s time
    rng = np.random.default_rng(seed)
    end = (end or datetime.now(timezone.utc)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    ids = np.arange(1, customers + 1)
    base = rng.gamma(4.0, 10.0, customers)
    segments = rng.choice(["bargain", "regular", "premium"], customers, p=[0.3, 0.5, 0.2])
    lift = np.array([{"bargain": 0.8, "regular": 1.0, "premium": 1.5}[s] for s in segments])
    first = np.datetime64(start.replace(tzinfo=None), "us")
    snapshots = first + np.arange(days + 1) * np.timedelta64(1, "D")  # daily, start to end inclusive
    stats = {
        "customer_id": np.repeat(ids, len(snapshots)),
        "event_timestamp": np.tile(snapshots, customers),
        "orders_30d": rng.poisson(np.repeat(base / 8, len(snapshots))).astype("int64"),
        "avg_order_value_30d": np.round(np.repeat(base * lift, len(snapshots))
                                        * rng.normal(1, 0.05, customers * len(snapshots)), 2),
        "segment": np.repeat(segments, len(snapshots)),
    }
    who = rng.integers(0, customers, orders)
    ordered_at = first + np.round(rng.uniform(1, days, orders) * 86_400e6).astype("int64").astype("timedelta64[us]")
    channel = rng.choice(["web", "app"], orders, p=[0.6, 0.4])
    hour = (ordered_at - ordered_at.astype("datetime64[D]")).astype("timedelta64[h]").astype("int64")
    value = (base[who] * lift[who] * (1.15 * (channel == "app") + 1.0 * (channel == "web"))
             * (1 + 0.2 * ((hour >= 18) & (hour <= 21))) + rng.normal(0, 3, orders))
    order = np.argsort(ordered_at, kind="stable")
    labels = {
        "customer_id": ids[who].astype("int64")[order],
        "ordered_at": ordered_at[order],
        "channel": channel[order],
        "basket_value": np.round(np.maximum(value, 1.0), 2)[order],
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, columns in (("customer_stats", stats), ("labels", labels)):
        table = pa.Table.from_arrays([_arrow_column(values) for values in columns.values()], names=list(columns))
        path = data_dir / f"{name}.parquet"
        pq.write_table(table, path)
        written.append(path)
    return written


#: The embedded default's sequence, run in the project's folder: (command, what it does).
EMBEDDED_STEPS: tuple[tuple[str, str], ...] = (
    ("feast apply", "register the catalog (policy checked)"),
    ("fresco materialize", "load the online store (SQLite), with progress"),
    ("fresco train models/basket_value.yaml --tag basket_value:production", "train, evaluate, tag"),
    ("fresco serve", "POST /predict on http://127.0.0.1:3000, ready when GET /readyz is 200"),
)

PRODUCTION_YAML = "feature_store.production.yaml"
#: The production sequence (Cassandra online, Spark offline), run in the project's folder.
PRODUCTION_STEPS: tuple[tuple[str, str], ...] = (
    ("fresco services start cassandra", "a local node (a real cluster: its hosts in the yaml)"),
    (f"fresco materialize --yaml {PRODUCTION_YAML} --prepare-keyspace", "create the keyspace (one node)"),
    (f"feast -f {PRODUCTION_YAML} apply", "register the catalog (production registry)"),
    (f"fresco materialize --yaml {PRODUCTION_YAML}", "load Cassandra, with Spark"),
    (f"fresco train models/basket_value.yaml --yaml {PRODUCTION_YAML} --tag basket_value:production",
     "train on Spark"),
    (f"fresco serve --yaml {PRODUCTION_YAML}", "serve from Cassandra"),
)


def steps_text(steps: tuple[tuple[str, str], ...]) -> str:
    """A sequence as a shell block: each command, its purpose as a comment."""
    width = max(len(command) for command, _ in steps) + 2
    return "\n".join(f"{command:<{width}}# {what}" for command, what in steps)


def init_project(path: Path | str, *, project: str | None = None, owner: str | None = None,
                 production: bool = False, sample: bool = True) -> InitResult:
    """Create a Fresco project in ``path`` (a new or empty folder); see the module doc.

    ``production`` also writes ``feature_store.production.yaml`` (Cassandra + Spark); ``sample``
    writes the sample data. Raises :class:`InitError`, writing nothing, when ``path`` is a
    file or a folder that already has files.
    """
    target = Path(path).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise InitError(f"{target} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()):
        existing = sorted(p.name for p in target.iterdir())[:8]
        raise InitError(f"{target} is not empty ({', '.join(existing)}): give a new or empty folder")
    name = project or project_name(target.name)
    if project is not None and project_name(project) != project:
        raise InitError(f"project name {project!r} must be lower case letters, digits and underscores, "
                        f"starting with a letter (e.g. {project_name(project)!r})")
    values = {"project": name, "owner": owner or f"{name}-team@example.com", "keyspace": name,
              "embedded_steps": steps_text(EMBEDDED_STEPS),
              "production_steps": ("\n\nIn production (Cassandra online, Spark offline), in this order:\n\n```bash\n"
                                   + steps_text(PRODUCTION_STEPS) + "\n```") if production else ""}
    if production:
        values["spark_conf"] = _production_spark_conf()
    result = InitResult(target, name)
    target.mkdir(parents=True, exist_ok=True)
    for template in sorted(p for p in TEMPLATES.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        relative = template.relative_to(TEMPLATES)
        if relative.name in _PRODUCTION_ONLY and not production:
            continue
        out = target / relative.parent / _RENAMES.get(relative.name, relative.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(_render(template.read_text(), values))
        result.files.append(out)
    (target / "data").mkdir(exist_ok=True)
    if sample:
        result.files += write_sample_data(target / "data")
    return result
