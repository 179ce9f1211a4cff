"""``kedro mtl ...`` project commands (entry point ``kedro.project_commands``; not named
``cli.py``, which Kedro reserves for a project-wide CLI override)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click


@click.group(name="mtl_pipeline")
def commands() -> None:
    """mtl_pipeline project commands."""


@commands.group(name="mtl")
def mtl() -> None:
    """Multi-task learning tools: inspect plugins and components."""


@mtl.command(name="plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List every registered component by kind, name, plugin and description.

    JSON document: ``api_version`` (the plugin API this mtl_pipeline provides),
    ``plugins`` ({plugin name: origin}), ``disabled`` (plugins skipped by
    MTL_PIPELINE_DISABLE_PLUGINS) and ``components`` ([{kind, name, plugin, description}]).
    """
    from mtl_pipeline import PLUGIN_API_VERSION
    from mtl_pipeline.errors import PluginError
    from mtl_pipeline.registry import get_registry

    try:
        registry = get_registry()
    except PluginError as exc:
        # A broken plugin is the very thing this command is run to diagnose: print the
        # message naming it, not a traceback through pluggy and importlib.
        raise click.ClickException(str(exc)) from exc
    entries = [e.as_dict() for e in registry.entries()]
    if as_json:
        document = {
            "api_version": PLUGIN_API_VERSION,
            "plugins": registry.origins,
            "disabled": registry.disabled,
            "components": entries,
        }
        click.echo(json.dumps(document, indent=2))
        return
    if not entries:
        click.echo("No components registered (are all plugins disabled?).")
        return
    widths = {k: max(len(k), *(len(e[k]) for e in entries)) for k in ("kind", "name", "plugin")}
    header = "  ".join(k.upper().ljust(widths[k]) for k in widths) + "  DESCRIPTION"
    click.echo(header)
    for e in entries:
        click.echo("  ".join(e[k].ljust(widths[k]) for k in widths) + "  " + e["description"])
    if registry.disabled:
        click.echo(f"\nDisabled plugins: {', '.join(registry.disabled)}")


@mtl.command(name="groups")
@click.option(
    "--affinity",
    "affinity_path",
    default="data/08_reporting/task_affinity.json",
    show_default=True,
    help="task_affinity.json (training.task_affinity) or the experiments grid's affinity.csv.",
)
@click.option("--groups", "n_groups", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def groups(affinity_path: str, n_groups: int, top: int, as_json: bool) -> None:
    """Best split of the tasks into GROUPS groups by within-group affinity (exhaustive)."""
    from mtl_pipeline.errors import MTLError
    from mtl_pipeline.experiments import grouping

    try:
        affinity = grouping.load_affinity(affinity_path)
        result = grouping.summary(affinity, n_groups, top)
    except (MTLError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    rankings = [
        grouping.Grouping(r["score"], tuple(tuple(g) for g in r["groups"]))
        for r in result["rankings"]
    ]
    click.echo(grouping.format_groupings(rankings))
    click.echo("\nRecommended: train each group of the best grouping as its own run:")
    for line in result["recommended_runs"]:
        click.echo(f"  {line}")


# --- batch prediction from the shell ------------------------------------------
@mtl.command(name="predict")
@click.option("--task", required=True, help="Task to predict (one of the model's tasks).")
@click.option(
    "--input",
    "input_path",
    required=True,
    help="Input file (.csv, .tsv, .jsonl, .parquet, .conllu).",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    help="Output file; format from the extension (.csv, .parquet, .jsonl).",
)
@click.option(
    "--model",
    "model_dir",
    default="data/06_models/mtl_model",
    show_default=True,
    help="A directory written by MultiTaskModel.save.",
)
@click.option("--reader", default=None, help="Reader name (default: from the input extension).")
@click.option(
    "--text-fields",
    default=None,
    help="Comma-separated input columns holding the text (default: as at training time).",
)
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
@click.option(
    "--overwrite", is_flag=True, help="Replace OUTPUT if it exists (never the input file)."
)
@click.option(
    "--trust-remote-code",
    is_flag=True,
    default=False,
    help="Allow the model directory's own Python code to run (off: such a model is refused).",
)
def predict(
    task: str,
    input_path: str,
    output_path: str,
    model_dir: str,
    reader: str | None,
    text_fields: str | None,
    batch_size: int,
    device: str,
    overwrite: bool,
    trust_remote_code: bool,
) -> None:
    """Predict TASK for every row of INPUT and write the rows plus a `predicted` column.

    The same reading and checks as `kedro run --pipelines predict`, without a Kedro run:
    any input and output path, any exported model directory. OUTPUT is checked (format,
    not the input, not an existing file unless --overwrite) before anything is predicted,
    and written atomically.
    """
    from mtl_pipeline.errors import ConfigError, MTLError
    from mtl_pipeline.pipelines.predict.nodes import (
        check_task,
        predict_frame,
        read_input,
        resolve_text_fields,
    )
    from mtl_pipeline.pipelines.predict.table_dataset import write_table

    try:
        from mtl_pipeline.modeling.multitask_model import MultiTaskModel

        check_output_path(input_path, output_path, overwrite)
        check_device(device)
        if not Path(model_dir).is_dir():
            raise ConfigError(
                f"--model {model_dir}: no such directory (resolved to {Path(model_dir).resolve()}); "
                "expected a model directory written by `kedro run` (data/06_models/mtl_model) "
                "or MultiTaskModel.save."
            )
        frame = read_input(input_path, reader)
        model = MultiTaskModel.load(model_dir, device=device, trust_remote_code=trust_remote_code)
        check_task(model, task)
        explicit = [f.strip() for f in text_fields.split(",") if f.strip()] if text_fields else None
        fields = resolve_text_fields(task, explicit, model.card, _project_tasks)
        result = predict_frame(model, task, frame, fields, batch_size, source=input_path)
        write_table(result, output_path)
    except MTLError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {len(result)} predictions for {task} to {output_path}", err=True)


def check_output_path(input_path: str, output_path: str, overwrite: bool) -> None:
    """Refuse, before any prediction: an unsupported output format, the input file itself
    (compared after resolving links and relative parts, and by inode), and an existing
    output file unless ``overwrite``."""
    from mtl_pipeline.errors import ConfigError, DataError
    from mtl_pipeline.pipelines.predict.table_dataset import FORMATS, check_table_path

    try:
        check_table_path(output_path)
    except DataError as exc:  # DataError names the path; this is an option, say which
        raise ConfigError(
            f"--output {output_path}: unsupported format {Path(output_path).suffix!r}; expected "
            f"one of {', '.join(FORMATS)}."
        ) from exc
    source, target = Path(input_path), Path(output_path)
    same = source.resolve() == target.resolve()
    if not same and source.exists() and target.exists():
        try:
            same = os.path.samefile(source, target)
        except OSError:
            same = False
    if same:
        raise ConfigError(
            f"--output {output_path}: is the input file {input_path}; predictions never "
            "replace the input. Choose another output path."
        )
    if target.is_dir():
        raise ConfigError(f"--output {output_path}: is a directory; expected a file path.")
    if target.exists() and not overwrite:
        raise ConfigError(
            f"--output {output_path}: already exists; pass --overwrite to replace it, or "
            "choose another path."
        )


def check_device(device: str) -> None:
    """``--device`` names a device this machine has (before the model is loaded)."""
    from mtl_pipeline.config import DEVICE_PATTERN
    from mtl_pipeline.errors import ConfigError

    if device == "auto" or not DEVICE_PATTERN.match(device):
        raise ConfigError(f"--device {device}: expected cpu, cuda, cuda:N or mps.")
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"--device {device}: CUDA is not available here (torch {torch.__version__}, "
                f"CUDA build: {torch.version.cuda or 'none'}); use --device cpu."
            )
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"--device {device}: this machine has {torch.cuda.device_count()} CUDA "
                f"device(s) (cuda:0..cuda:{torch.cuda.device_count() - 1})."
            )
    if device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps: MPS is not available here; use --device cpu.")


def _project_tasks() -> dict:
    """``tasks`` from this project's conf (base + local), for models saved without a card."""
    from mtl_pipeline import project_tasks

    try:
        return dict(project_tasks.project_config_loader()["parameters"].get("tasks") or {})
    except Exception:  # no conf here: the caller then asks for --text-fields
        return {}
