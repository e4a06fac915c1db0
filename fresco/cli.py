"""The ``fresco`` command: a thin composition root over the packages' public functions.

Only ``click`` is imported here at start-up; each command imports what it needs, so
``fresco --help`` and ``fresco models list`` do not pay for Feast, Spark or TensorFlow.
Every command that works on a feature repository finds it by one rule
(:func:`fresco.platform.resolve_repo`): ``--repo``, else ``$FRESCO_FEATURE_REPO``, else the
current directory when it holds a ``feature_store.yaml``.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from fresco.platform.feast_startup import skip_feast_type_checks

skip_feast_type_checks()  # before any command imports Feast: see fresco.platform.feast_startup

from fresco.options import (  # noqa: E402
    UI_PORT, cell_text, echo_table, parse_utc, repo_option, user_errors,
)


@click.group()
def main() -> None:
    """Fresco: shared features, training, serving and monitoring on one feature catalog."""


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--project", default=None, help="Feast project name (default: from DIRECTORY's name).")
@click.option("--owner", default=None, help="Owner of the sample feature views (an e-mail or team).")
@click.option("--production", is_flag=True,
              help="Also write feature_store.production.yaml: Cassandra online, Spark offline.")
@click.option("--no-sample", is_flag=True, help="Leave data/ empty (no sample dataset).")
@user_errors
def init(directory: Path, project: str | None, owner: str | None, production: bool, no_sample: bool) -> None:
    """Create a Fresco project for your own data in DIRECTORY (new or empty)."""
    from fresco.platform import init_project

    result = init_project(directory, project=project, owner=owner, production=production,
                          sample=not no_sample)
    click.echo(f"Created project {result.project} in {result.path}:")
    for path in result.files:
        click.echo(f"  {path.relative_to(result.path)}")
    import textwrap

    from fresco.platform.scaffold import EMBEDDED_STEPS, PRODUCTION_STEPS, steps_text

    sequences = [("Next, on the embedded default (no servers)", EMBEDDED_STEPS)]
    if production:
        sequences.append(("In production (Cassandra online, Spark offline), in this order", PRODUCTION_STEPS))
    for title, steps in sequences:
        click.echo(f"{title}:\n  cd {directory}\n{textwrap.indent(steps_text(steps), '  ')}")


@main.command()
@click.option("--orders", default=60_000, show_default=True, help="Orders to generate.")
@click.option("--restaurants", default=200, show_default=True, help="Restaurants to generate.")
@click.option("--repo", type=click.Path(path_type=Path), default=None,
              help="Where the example's feature repository runs: a new or empty folder gets a copy of "
                   "its definitions (default: the bundled feature_repo/).")
@click.option("--streaming", is_flag=True,
              help="Then start Kafka and the stream job, and show live events changing a prediction.")
def quickstart(orders: int, restaurants: int, repo: Path | None, streaming: bool) -> None:
    """Run the bundled example end to end on the embedded default (SQLite + Parquet, no servers)."""
    from fresco.quickstart import EXAMPLE_REPO, QuickstartFolderError, run_quickstart

    try:
        run_quickstart(repo or EXAMPLE_REPO, orders=orders, restaurants=restaurants, echo=click.echo,
                       streaming=streaming)
    except QuickstartFolderError as err:
        raise click.ClickException(str(err)) from None


@main.command()
@repo_option
@click.option("--start", default=None, help="ISO time (UTC): load every view from here "
              "(default: incremental; a view's first run starts at end - TTL, or at the epoch without TTL).")
@click.option("--end", default=None, help="ISO time (UTC) to load up to (default: now).")
@click.option("--view", "views", multiple=True, help="Only this feature view (repeatable).")
@click.option("--prepare-keyspace", is_flag=True,
              help="Cassandra online store: create the keyspace if missing (replication 1, for a local node).")
@user_errors
def materialize(repo: Path | None, yaml_path: Path | None, start: str | None, end: str | None,
                views: tuple[str, ...], prepare_keyspace: bool) -> None:
    """Load the online store from the offline store, view by view, with progress."""
    import colorama

    from fresco.platform import materialize_incremental, open_materialization_store
    from fresco.platform.materialization import NothingRegistered

    colorama.init()  # Feast colours its lines: stripped when the output is not a terminal

    if prepare_keyspace:
        from fresco.platform import resolve_repo, resolve_yaml
        from fresco.platform.materialization import ensure_keyspace

        click.echo(f"keyspace {ensure_keyspace(resolve_yaml(resolve_repo(repo), yaml_path))} ready", err=True)
    store = open_materialization_store(repo, yaml_path)
    end_at = parse_utc(end, "--end") or datetime.now(timezone.utc)
    try:
        materialize_incremental(store, end_at, list(views) or None, start=parse_utc(start, "--start"), count=True)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    except NothingRegistered as err:
        if not prepare_keyspace:
            raise
        click.echo(f"{err}; then `fresco materialize` loads it", err=True)  # the keyspace was the job


@main.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def services(args: tuple[str, ...]) -> None:
    """Local services (Cassandra, Kafka): start|stop|status|download [cassandra|kafka]."""
    from fresco.platform.services.__main__ import main as services_main

    sys.exit(services_main(list(args)))


def _parse_sets(values: tuple[str, ...]) -> dict[str, object]:
    import yaml

    overrides: dict[str, object] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="--set")
        overrides[key] = yaml.safe_load(value)
    return overrides


@main.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config field, e.g. --set model.hyperparameters.max_depth=4 (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Tag the new model, e.g. churn:staging (repeatable).")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Feature repository (default: the config's features.repo, else $FRESCO_FEATURE_REPO, "
                   "else the current directory).")
@click.option("--yaml", "yaml_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="feature_store.yaml to use (default: the config's features.store_yaml, else "
                   "$FEAST_FS_YAML_FILE_PATH, else the repository's).")
@click.option("--check", is_flag=True, help="Check the config (trainer, files, feature repository, "
                                             "DSL program) and stop, without training.")
@user_errors
def train(config: Path, sets: tuple[str, ...], tags: tuple[str, ...], repo: Path | None,
          yaml_path: Path | None, check: bool) -> None:
    """Train a model from a YAML config; prints its UUID and the report's path."""
    import time

    from fresco.training import ConfigError, ModelRepository, plan_training, train as run_training
    from fresco.training.evaluation import baseline_name

    start = time.perf_counter()

    def progress(message: str) -> None:
        click.echo(f"[{time.perf_counter() - start:7.1f}s] {message}", err=True)

    overrides = _parse_sets(sets)
    if repo is not None:
        overrides["features.repo"] = str(repo.resolve())
    if yaml_path is not None:
        overrides["features.store_yaml"] = str(yaml_path.resolve())
    try:
        plan = plan_training(config, overrides=overrides)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    if check:
        click.echo(f"{config}: valid ({plan.config.model.type} {plan.config.model.task}; "
                   f"{len(plan.program.outputs)} program outputs)")
        return
    result = run_training(plan, progress=progress)
    repo = ModelRepository()
    for tag in tags:
        repo.tag(tag, result.uuid)
    record = result.record
    click.echo(f"model   {record.name} {result.uuid}")
    baseline_kind = baseline_name(record.task)
    for split, lead in (("test", "metrics "), ("validation", " " * 8)):
        baseline = record.baseline[split]
        click.echo(f"{lead}{record.split_label(split)}: " + "  ".join(
            f"{k}={v:.4f} ({baseline_kind} {baseline[k]:.4f})" for k, v in record.metrics[split].items()))
    click.echo(f"report  {result.report_html}")
    for tag in tags:
        click.echo(f"tagged  {tag}")


@main.group()
def models() -> None:
    """The model repository: list, show, compare and tag trained models."""


@models.command("list")
@click.option("--name", default=None, help="Only models with this name.")
def models_list(name: str | None) -> None:
    """Every trained model, newest first."""
    from fresco.training import ModelRepository

    records = ModelRepository().list(name)
    if not records:
        click.echo("No models yet: train one with `fresco train CONFIG`.")
        return
    header = ("UUID", "NAME", "TYPE", "FINISHED (UTC)", "AUTHOR", "TEST (HELD OUT)", "TAGS")
    rows = [
        (r.uuid, r.name, r.model_type, r.finished_at[:19].replace("T", " "), r.author,
         " ".join(f"{k}={v:.3f}" for k, v in list(r.metrics[r.headline].items())[:2])
         + ("" if r.headline == "test" else f" ({r.headline})"),
         ", ".join(r.tags) or "-")
        for r in records
    ]
    echo_table(header, rows)


@models.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="The whole record as JSON.")
def models_show(ref: str, as_json: bool) -> None:
    """One model's record (REF: UUID, UUID prefix or tag)."""
    import json

    from fresco.training import ModelRepository, RepositoryError

    try:
        record = ModelRepository().get(ref)
    except RepositoryError as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(json.dumps(record.to_dict(), indent=2))
        return
    d = record.dataset
    click.echo(f"{record.name} {record.uuid}  ({record.model_type}, {record.task}, label {record.label})")
    click.echo(f"  tags        {', '.join(record.tags) or '-'}")
    click.echo(f"  trained by  {record.author}, {record.started_at} .. {record.finished_at}")
    click.echo(f"  dataset     {d.get('rows'):,} rows ({d.get('train_rows'):,} train / {d.get('validation_rows'):,} "
               f"validation / {d.get('test_rows') or 0:,} test, {d.get('split', {}).get('method')} split), "
               f"hash {str(d.get('content_hash'))[:16]}")
    click.echo(f"  features    {', '.join(d.get('feature_refs', []))}")
    click.echo(f"  inputs      {', '.join(record.inputs)}")
    for split in sorted(record.metrics, key=lambda s: s != record.headline):  # the headline first
        click.echo(f"  {split:<11} " + "  ".join(f"{k}={cell_text(v)}" for k, v in record.metrics[split].items())
                   + f"  [{record.split_label(split)}]")
    for split in (s for s in dict.fromkeys([record.headline, "validation"]) if s in record.baseline):
        click.echo(f"  baseline    {split}: " + "  ".join(f"{k}={cell_text(v)}" for k, v in record.baseline[split].items()))
    top = sorted(record.feature_importance.items(), key=lambda kv: -kv[1])[:5]
    click.echo("  importance  " + "  ".join(f"{k}={v:.3f}" for k, v in top))
    if record.trials:
        click.echo(f"  search      {len(record.trials)} trials")
    _echo_partitions(record.learnt_parameters.get("partitioning"))
    click.echo(f"  report      {record.report_html}")


def _echo_partitions(partitioning: dict | None) -> None:
    """A partitioned model's partitions: rows, and the ancestor each fallen-back one uses, and why."""
    if not partitioning:
        return
    parts = partitioning["partitions"]
    own = sum(1 for p in parts if p["answered_by"] == p["name"])
    click.echo(f"  partitions  {', '.join(partitioning['columns'])}: {own} with their own model, "
               f"{len(parts) - own} answered by an ancestor")
    width = max(len(p["name"]) for p in parts)
    for p in parts:
        validation = p.get("validation") or {}
        versus = (f" [validation: {validation['own']:.4f}, its parent's {validation['parent']:.4f}]"
                  if validation else "")
        fate = "own model" if p["answered_by"] == p["name"] else f"-> {p['answered_by']} ({p['reason']})"
        click.echo(f"    {p['name']:<{width}}  {p['train_rows']:>9,} train rows  {fate}{versus}")


@models.command("compare")
@click.argument("refs", nargs=-1, required=True)
@click.option("--all", "show_all", is_flag=True, help="Also rows where every model has the same value.")
def models_compare(refs: tuple[str, ...], show_all: bool) -> None:
    """Configs and metrics of two or more models side by side."""
    from fresco.training import ModelRepository, RepositoryError, compare_models

    if len(refs) < 2:
        raise click.UsageError("compare needs two or more models")
    repo = ModelRepository()
    try:
        records = [repo.get(r) for r in refs]
    except RepositoryError as err:
        raise click.ClickException(str(err)) from None
    table = compare_models(records)
    header = ("", *(r.uuid[:8] for r in records))
    rows = []
    for key, cells in table.items():
        values = [cell_text(cells.get(r.uuid)) for r in records]
        if show_all or len(set(values)) > 1 or key.startswith("metrics."):
            rows.append((key, *values))
    echo_table(header, rows)


@models.command("tag")
@click.argument("tag")
@click.argument("ref", required=False)
@click.option("--history", is_flag=True, help="Show the tag's moves instead of moving it.")
def models_tag(tag: str, ref: str | None, history: bool) -> None:
    """Point TAG (e.g. churn:production) at model REF; the move is recorded."""
    from fresco.training import ModelRepository, RepositoryError

    repo = ModelRepository()
    if history or ref is None:
        moves = repo.tag_history(tag)
        if not moves:
            raise click.ClickException(f"tag {tag!r} has never been set")
        for m in moves:
            click.echo(f"{m.moved_at}  {m.moved_by}  {m.old_uuid or '-'} -> {m.new_uuid}")
        return
    try:
        move = repo.tag(tag, ref)
    except RepositoryError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{tag} -> {move.new_uuid}" + (f" (was {move.old_uuid})" if move.old_uuid else ""))


@models.group("experiment")
def models_experiment() -> None:
    """Split a tag's traffic between models by weight, sticky per entity (A/B tests)."""


def _parse_arm(arm: str) -> tuple[str, float]:
    """``MODEL=WEIGHT`` -> (model, weight), or a usage error naming the option."""
    model, _, weight = arm.rpartition("=")
    try:
        if model:
            return model, float(weight)
    except ValueError:
        pass
    raise click.BadParameter(f"expected MODEL=WEIGHT, got {arm!r}", param_hint="--arm")


@models_experiment.command("start")
@click.argument("name")
@click.option("--tag", required=True, help="The tag whose requests are split, e.g. churn:production.")
@click.option("--arm", "arms", multiple=True, required=True, metavar="MODEL=WEIGHT",
              help="A model (UUID, prefix or tag) and its weight (repeatable).")
@click.option("--key", "keys", multiple=True, help="Row field the split sticks to (default: the entity keys; a change keeps the running experiment's).")
def experiment_start(name: str, tag: str, arms: tuple[str, ...], keys: tuple[str, ...]) -> None:
    """Start experiment NAME (or change its weights); running services follow within a second."""
    from fresco.training import ModelRepository, RepositoryError

    try:
        record = ModelRepository().set_experiment(name, tag, dict(_parse_arm(a) for a in arms),
                                                  key=list(keys) or None)
    except RepositoryError as err:
        raise click.ClickException(str(err)) from None
    total = sum(record.arms.values())
    click.echo(f"experiment {name} ({record.action}) splits {tag}: " +
               ", ".join(f"{a} {w / total:.0%}" for a, w in record.arms.items()))


@models_experiment.command("stop")
@click.argument("name")
def experiment_stop(name: str) -> None:
    """Stop experiment NAME: its tag routes to the tag's own model again."""
    from fresco.training import ModelRepository, RepositoryError

    try:
        record = ModelRepository().stop_experiment(name)
    except RepositoryError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"experiment {name} stopped; {record.tag} routes to its tagged model")


@models_experiment.command("list")
@click.option("--history", is_flag=True, help="Every start, change and stop instead.")
def experiment_list(history: bool) -> None:
    """Running experiments (or their history)."""
    from fresco.training import ModelRepository

    repo = ModelRepository()
    records = repo.experiment_history() if history else repo.experiments()
    if not records:
        click.echo("No experiments." if not history else "No experiment history.")
    for r in records:
        arms = ", ".join(f"{a}={w:g}" for a, w in r.arms.items())
        action = f"{r.action:<6} " if r.action else ""
        click.echo(f"{r.changed_at[:19].replace('T', ' ')}  {action}{r.name}  {r.tag}  {arms}"
                   + (f"  key={','.join(r.key)}" if r.key else "") + f"  by {r.changed_by}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int, envvar="FRESCO_SERVE_PORT", show_envvar=True)
@repo_option
@click.option("--preload", multiple=True, help="Model tag or UUID to load at start (repeatable).")
@click.option("--workers", default=1, show_default=True, type=int)
@user_errors
def serve(host: str, port: int, repo: Path | None, yaml_path: Path | None, preload: tuple[str, ...],
          workers: int) -> None:
    """Serve predictions over HTTP (BentoML): POST /predict; API docs and "try it" at /."""
    from fresco.serving.server import serve_command, server_env

    env = server_env(repo=repo, yaml_path=yaml_path, preload=list(preload), workers=workers)
    os.environ.update(env)
    os.chdir(env["FRESCO_FEATURE_REPO"])
    command = serve_command(host, port)
    os.execv(command[0], command)


@main.command()
@repo_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default: only this machine reaches it).")
@click.option("--port", default=UI_PORT, show_default=True, type=int)
@user_errors
def ui(repo: Path | None, yaml_path: Path | None, host: str, port: int) -> None:
    """Serve the management plane: web pages and a JSON API (with its OpenAPI document) over the
    catalog, models, tags and audit log. Changes need 'Authorization: Bearer $FRESCO_API_TOKEN'."""
    from fresco.platform import resolve_repo

    root = resolve_repo(repo)  # a missing repository is said before the service's imports
    from fresco.ui import create_app, serve, urls
    from fresco.ui.auth import TOKEN_ENV, mutations_enabled
    from fresco.ui.hosts import is_loopback

    app = create_app(root, yaml_path, loopback=is_loopback(host))
    pages, api, openapi = urls(host, port)
    click.echo(f"Fresco management API for {app.state.sources.repo} at {api}")
    click.echo(f"OpenAPI document: {openapi}")
    click.echo(f"web pages: {pages}")
    click.echo(f"changes need 'Authorization: Bearer <${TOKEN_ENV}>'" if mutations_enabled() else
               f"changes are disabled: set {TOKEN_ENV} to a secret in this command's environment to enable them")
    serve(app, host, port)


@main.group()
def bento() -> None:
    """Package the prediction service with its models as a Bento."""


@bento.command("build")
@click.argument("models", nargs=-1, required=True)
@click.option("--version", default=None, help="The Bento's version (default: generated by BentoML).")
@click.option("--export", "export", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also export the Bento, models included, to this file (e.g. fresco.bento).")
def bento_build(models: tuple[str, ...], version: str | None, export: Path | None) -> None:
    """Build a Bento holding MODELS (tags or UUIDs), their DSL programs and the service."""
    from fresco.serving.bundle import build_bento

    try:
        built = build_bento(list(models), version=version, export=export)
    except LookupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Bento {built.tag} at {built.path}")
    for uuid, bento_tag in built.bundle["models"].items():
        tags = [t for t, u in built.bundle["tags"].items() if u == uuid]
        click.echo(f"  model {uuid} ({bento_tag})" + (f" routed by {', '.join(tags)}" if tags else ""))
    if built.exported:
        click.echo(f"exported to {built.exported} (bentoml import {built.exported})")
    click.echo(f"serve it: FEAST_FS_YAML_FILE_PATH=<feature_store.yaml> bentoml serve {built.tag}")


@main.command("predict-batch")
@click.argument("source")
@click.argument("output")
@click.option("--model", required=True, help="Model tag or UUID, e.g. churn:production.")
@repo_option
@click.option("--timestamp-column", default=None,
              help="Rows' event time for point-in-time features (default: now).")
@click.option("--chunk-rows", type=click.IntRange(min=0), default=None,
              help="Entity rows per point-in-time query for features missing from SOURCE "
                   "(0: one query; default: 20,000 on Feast's file offline store, one query on "
                   "the others).")
@click.option("--no-log", is_flag=True, default=False,
              help="Do not log the predictions to the prediction log (default: logged as the service "
                   "logs them, unless FRESCO_PREDICTION_LOG=off).")
@user_errors
def predict_batch(source: str, output: str, model: str, repo: Path | None, yaml_path: Path | None,
                  timestamp_column: str | None, chunk_rows: int | None, no_log: bool) -> None:
    """Score SOURCE (Parquet path or Hive table) on Spark into OUTPUT (Parquet path or Hive table),
    each row with its prediction_id; the predictions are logged as the service logs them."""
    from fresco.platform.spark import short_input, start_spark_session

    # its JVM starts, then its Python workers import the scoring stack, while Feast is imported here
    spark = start_spark_session("fresco-predict-batch", warm_workers=True, short_job=short_input(source))
    from fresco.serving.routing import current_route
    from fresco.training import ModelRepository

    current_route(ModelRepository(), model)  # an unknown model is said before anything else runs
    from fresco.platform import open_store
    from fresco.serving import predict_batch as run

    store = open_store(repo, yaml_path)
    result = run(source, model, output, store=store, spark=spark.result(), timestamp_column=timestamp_column,
                 chunk_rows=chunk_rows, progress=click.echo, log=not no_log)
    by = ", ".join(f"{uuid} ({rows:,} rows)" for uuid, rows in result.rows_by_model.items())
    split = f", experiment {result.experiment}" if result.experiment else ""
    click.echo(f"{result.rows:,} predictions by {by} ({result.model_tag or 'no tag'}{split}) "
               f"in {result.output}")


from fresco.monitor_commands import monitor  # noqa: E402 - its commands use the options above
from fresco.stream_commands import stream  # noqa: E402
from fresco.features_commands import features  # noqa: E402

main.add_command(monitor)
main.add_command(stream)
main.add_command(features)

if __name__ == "__main__":
    main()
