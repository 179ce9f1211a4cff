"""MLflow experiment tracking: a Kedro hook for the run, a plugin observer for the steps.

Why not kedro-mlflow: version 2.0.3 does declare Kedro 1.x support, but it needs the full
``mlflow`` server package (whose current release pins pyarrow below the version this
project uses), it switches itself on for every ``kedro run`` as soon as it is installed
(a ``kedro.hooks`` entry point), its artifact logging wraps catalog entries in its own
dataset types (so the base catalog would need the optional extra), and it cannot see
inside the one training node, where the per-step losses and task weights are. The MLflow
client API does all of this in a few lines and stays off unless asked for.

* ``MlflowTrackingHooks`` (Kedro hooks, registered in settings.py) does nothing unless
  ``tracking.mlflow.enabled``. Then, before the first node: one MLflow run, every
  parameter (flattened to dotted keys) and run tags; after the last node: final
  per-task evaluation metrics, report files and plots, and the model directory.
* ``MlflowStepObserver`` (an mtl_pipeline plugin, registered on the project's plugin
  manager for the duration of the run) sends per-step losses, task weights, learning rate
  and gradient norm, buffered and sent every ``log_every`` steps with ``log_batch``, plus
  every periodic evaluation. The trainer calls it in-process, so step metrics are logged
  under the sequential and thread runners; under ParallelRunner the training node runs in
  a worker process and only the run-level logging happens.

mlflow is imported only when tracking is enabled: the hook costs nothing otherwise, and
the project does not depend on mlflow (optional extra ``mlflow``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from mtl_pipeline.hookspecs import hookimpl

logger = logging.getLogger(__name__)

OBSERVER_NAME = "mlflow_tracking"
#: MLflow limits (``mlflow.utils.validation``): values per param, entries per log_batch.
MAX_PARAM_LENGTH = 6000
MAX_PARAMS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
#: Catalog outputs logged as artifacts (when the run wrote them), by artifact folder.
ARTIFACT_DATASETS = {
    "reporting": ("metrics", "summary", "learning_curves", "task_mixture_plot"),
    "training": ("training_history", "task_mixture"),
}
#: Artifact folder for every other output under data/08_reporting (plots others add).
REPORTING_DIR = "data/08_reporting"


def flatten_params(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"training.loss.name": "equal", ...}``: nested dicts become dotted keys.

    Lists are kept whole as JSON (``tasks.sst2.text_fields: ["sentence"]``), which reads
    better in the MLflow UI than one param per list item. Long values are cut to MLflow's
    limit instead of failing the run.
    """
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_params(value, f"{name}."))
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        flat[name] = text[:MAX_PARAM_LENGTH]
    return flat


def resolve_tracking_uri(uri: str, project_path: Path) -> str:
    """Relative sqlite paths and bare folders are taken from the project root, not the
    current directory, so ``kedro run`` from a subfolder logs to the same store."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str((project_path / uri[len("sqlite:///") :]).resolve())
    if "://" not in uri and not uri.startswith("databricks"):
        return (project_path / uri).resolve().as_uri()
    return uri


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:
        from mtl_pipeline.errors import ConfigError

        raise ConfigError(
            "tracking.mlflow.enabled: true, but mlflow is not installed; install the extra "
            '(pip install -e ".[mlflow]") or set tracking.mlflow.enabled=false.'
        ) from exc
    return mlflow


class MlflowStepObserver:
    """Training-loop observer: per-step metrics, buffered and sent in batches."""

    def __init__(self, client: Any, run_id: str, every: int) -> None:
        self.client = client
        self.run_id = run_id
        self.every = every
        self._buffer: list[Any] = []

    def _add(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        for key, value in values.items():
            if value is not None:
                self._buffer.append(Metric(key, float(value), stamp, step))

    def flush(self) -> None:
        """Send what is buffered (log_batch takes at most 1000 metrics per call)."""
        buffered, self._buffer = self._buffer, []
        for start in range(0, len(buffered), MAX_METRICS_PER_BATCH):
            chunk = buffered[start : start + MAX_METRICS_PER_BATCH]
            self.client.log_batch(self.run_id, metrics=chunk)

    @hookimpl
    def on_train_start(self, run_info: dict[str, Any]) -> None:
        self.client.set_tag(self.run_id, "mtl.device", str(run_info.get("device")))
        self.client.set_tag(self.run_id, "mtl.precision", str(run_info.get("precision")))

    @hookimpl
    def on_step_end(self, step: int, logs: dict[str, Any]) -> None:
        values: dict[str, float] = {}
        for task, loss in (logs.get("losses") or {}).items():
            values[f"train/loss/{task}"] = loss
        for task, weight in (logs.get("weights") or {}).items():
            values[f"train/weight/{task}"] = weight
        for key in ("lr", "grad_norm"):
            if isinstance(logs.get(key), int | float):
                values[f"train/{key}"] = logs[key]
        self._add(values, step)
        if step % self.every == 0:
            self.flush()

    @hookimpl
    def on_evaluation(self, step: int, metrics: dict[str, dict[str, float]]) -> None:
        values = {f"val/{task}/{name}": v for task, ms in metrics.items() for name, v in ms.items()}
        self._add(values, step)
        self.flush()

    @hookimpl
    def on_train_end(self, summary: dict[str, Any]) -> None:
        self._add(
            {
                "train/best_step": summary.get("best_step"),
                "train/best_score": summary.get("best_score"),
                "train/seconds": summary.get("seconds"),
            },
            int(summary.get("steps") or 0),
        )
        self.flush()


class MlflowTrackingHooks:
    """Kedro hooks that log a run to MLflow when ``tracking.mlflow.enabled`` is true."""

    def __init__(self) -> None:
        self._project_path = Path.cwd()
        self._client: Any = None
        self._run_id: str | None = None
        self._observer: MlflowStepObserver | None = None
        self._cfg: Any = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._project_path = Path(context.project_path)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        from mtl_pipeline.config import TrackingConfig, parse_section

        params = catalog.load("parameters")
        cfg = parse_section(TrackingConfig, params.get("tracking"), "tracking").mlflow
        if not cfg.enabled:
            return
        self._cfg = cfg
        self._start_run(cfg, params, run_params)

    def _start_run(self, cfg: Any, params: dict[str, Any], run_params: dict[str, Any]) -> None:
        _import_mlflow()
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        from mtl_pipeline import __version__
        from mtl_pipeline.registry import get_registry

        uri = resolve_tracking_uri(cfg.tracking_uri, self._project_path)
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(cfg.experiment_name)
        if experiment is None:
            location = cfg.artifact_location or (self._project_path / "mlartifacts").as_uri()
            experiment_id = client.create_experiment(
                cfg.experiment_name, artifact_location=location
            )
        else:
            experiment_id = experiment.experiment_id
        pipelines = run_params.get("pipeline_names") or [run_params.get("pipeline_name")]
        tags = {
            "kedro.run_id": str(run_params.get("run_id") or run_params.get("session_id")),
            "kedro.env": str(run_params.get("env")),
            "kedro.pipelines": ",".join(str(p or "__default__") for p in pipelines),
            "mtl_pipeline.version": __version__,
            **cfg.tags,
        }
        try:  # source file, git commit, user: what mlflow.start_run would add
            from mlflow.tracking.context.registry import resolve_tags

            tags = resolve_tags(tags)
        except Exception:  # context providers are best effort (no git, odd environment)
            pass
        run = client.create_run(experiment_id, run_name=cfg.run_name, tags=tags)
        self._client, self._run_id = client, run.info.run_id
        flat = [Param(k, v) for k, v in sorted(flatten_params(params).items())]
        for start in range(0, len(flat), MAX_PARAMS_PER_BATCH):
            client.log_batch(self._run_id, params=flat[start : start + MAX_PARAMS_PER_BATCH])
        self._observer = MlflowStepObserver(client, self._run_id, cfg.log_every)
        plugin_manager = get_registry().plugin_manager
        if plugin_manager.has_plugin(OBSERVER_NAME):
            plugin_manager.unregister(name=OBSERVER_NAME)
        plugin_manager.register(self._observer, name=OBSERVER_NAME)
        logger.info(
            "MLflow: run %s in experiment %r at %s.", self._run_id, cfg.experiment_name, uri
        )

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], run_result: Any, pipeline: Any, catalog: Any
    ) -> None:
        if self._run_id is None:
            return
        try:
            self._log_outputs(pipeline, catalog)
        finally:
            self._finish("FINISHED")

    @hook_impl
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        if self._run_id is None:
            return
        try:
            self._client.set_tag(self._run_id, "error", f"{type(error).__name__}: {error}"[:5000])
        finally:
            self._finish("FAILED")

    def _finish(self, status: str) -> None:
        from mtl_pipeline.registry import get_registry

        try:
            if self._observer is not None:
                self._observer.flush()
            self._client.set_terminated(self._run_id, status)
        finally:
            plugin_manager = get_registry().plugin_manager
            if plugin_manager.has_plugin(OBSERVER_NAME):
                plugin_manager.unregister(name=OBSERVER_NAME)
            logger.info("MLflow: run %s %s.", self._run_id, status.lower())
            self._client = self._run_id = self._observer = None

    # --- after the run: final metrics and files ---------------------------------------
    def _local_path(self, catalog: Any, name: str) -> Path | None:
        """The file or folder a catalog dataset wrote, if it is local and exists."""
        try:
            dataset = catalog.get(name)
            described = dataset._describe() if dataset is not None else {}
        except Exception:  # not a file-backed dataset (memory, parameters)
            return None
        location = described.get("filepath") or described.get("path")
        if not location or "://" in str(location):
            return None
        path = Path(str(location))
        path = path if path.is_absolute() else self._project_path / path
        return path if path.exists() else None

    def _log_outputs(self, pipeline: Any, catalog: Any) -> None:
        from mlflow.entities import Metric

        outputs = set(pipeline.all_outputs())
        stamp = int(time.time() * 1000)
        final = []
        for name in sorted(outputs):
            if name.endswith("__metrics") and catalog.exists(name):
                task = name[: -len("__metrics")]
                for metric, value in (catalog.load(name) or {}).items():
                    final.append(Metric(f"eval/{task}/{metric}", float(value), stamp, 0))
        for start in range(0, len(final), MAX_METRICS_PER_BATCH):
            self._client.log_batch(
                self._run_id, metrics=final[start : start + MAX_METRICS_PER_BATCH]
            )

        if self._cfg.log_artifacts:
            listed = {n for names in ARTIFACT_DATASETS.values() for n in names}
            for folder, names in ARTIFACT_DATASETS.items():
                for name in names:
                    if name in outputs:
                        self._log_path(self._local_path(catalog, name), folder)
            reporting = (self._project_path / REPORTING_DIR).resolve()
            for name in sorted(outputs - listed):
                path = self._local_path(catalog, name)
                if path is not None and path.is_file() and reporting in path.resolve().parents:
                    relative = path.resolve().parent.relative_to(reporting)
                    self._log_path(path, str(Path("reporting") / relative))
        if self._cfg.log_model and "trained_model" in outputs:
            self._log_path(self._local_path(catalog, "trained_model"), "model", whole_dir=True)

    def _log_path(self, path: Path | None, folder: str, whole_dir: bool = False) -> None:
        if path is None:
            return
        if path.is_dir():
            self._client.log_artifacts(
                self._run_id, str(path), folder if whole_dir else f"{folder}/{path.name}"
            )
        else:
            self._client.log_artifact(self._run_id, str(path), folder)
