"""``kedro mtl ...`` project commands (entry point ``kedro.project_commands``; not named
``cli.py``, which Kedro reserves for a project-wide CLI override)."""

from __future__ import annotations

import json

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
    """List every registered component by kind, name, plugin and description."""
    from mtl_pipeline.registry import get_registry

    registry = get_registry()
    entries = [e.as_dict() for e in registry.entries()]
    if as_json:
        document = {"plugins": registry.origins, "components": entries}
        click.echo(json.dumps(document, indent=2))
        return
    widths = {k: max(len(k), *(len(e[k]) for e in entries)) for k in ("kind", "name", "plugin")}
    header = "  ".join(k.upper().ljust(widths[k]) for k in widths) + "  DESCRIPTION"
    click.echo(header)
    for e in entries:
        click.echo("  ".join(e[k].ljust(widths[k]) for k in widths) + "  " + e["description"])
