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
