"""The ``fresco`` command: a thin composition root over the packages' public functions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from feature_repo import REPO_DIR


@click.group()
def main() -> None:
    """Fresco: shared features, training, serving and monitoring on one feature catalog."""


@main.command()
@click.option("--orders", default=60_000, show_default=True, help="Orders to generate.")
@click.option("--restaurants", default=200, show_default=True, help="Restaurants to generate.")
@click.option("--repo", type=click.Path(path_type=Path), default=REPO_DIR, show_default=True)
def quickstart(orders: int, restaurants: int, repo: Path) -> None:
    """Run the main job on the embedded default (SQLite + Parquet, no servers)."""
    from fresco.quickstart import run_quickstart

    run_quickstart(repo, orders=orders, restaurants=restaurants, echo=click.echo)


@main.command()
@click.option("--repo", type=click.Path(path_type=Path), default=REPO_DIR, show_default=True)
@click.option("--yaml", "yaml_path", type=click.Path(path_type=Path), default=None,
              help="feature_store.yaml to use (default: the repository's).")
def features(repo: Path, yaml_path: Path | None) -> None:
    """List the feature catalog: type, owner, SLA, consumers, last materialization."""
    from feature_repo import list_catalog, open_store

    entries = list_catalog(open_store(repo, yaml_path))
    if not entries:
        click.echo("The catalog is empty: run `feast apply` in the feature repository first.")
        return
    header = ("FEATURE", "TYPE", "OWNER", "SLA", "FEATURE SERVICES", "LAST MATERIALIZED")
    rows = [
        (
            e.feature + (" (deprecated)" if e.deprecated else ""),
            e.dtype,
            e.owner,
            e.freshness_sla,
            ", ".join(e.feature_services) or "-",
            f"{e.last_materialized:%Y-%m-%d %H:%M} UTC" if e.last_materialized else "never",
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@main.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def services(args: tuple[str, ...]) -> None:
    """Local services for the production stores: start|stop|status|download [cassandra]."""
    from fresco.services.__main__ import main as services_main

    sys.exit(services_main(list(args)))


if __name__ == "__main__":
    main()
