"""Device and precision resolution (``auto`` picks what the hardware does best)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch

from mtl_pipeline.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"training.device: {name!r} requested but CUDA is not available; use auto or cpu."
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            "training.device: 'mps' requested but MPS is not available; use auto or cpu."
        )
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    """True where bf16 matmuls run natively (AVX512-BF16 or AMX), where autocast pays."""
    if torch.backends.cpu.get_cpu_capability() == "AMX":
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> str:
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu":
            return "bf16" if cpu_supports_bf16() else "fp32"
        return "fp32"
    if name == "fp16" and device.type != "cuda":
        raise ConfigError(
            "training.precision: fp16 needs a CUDA device (it needs a grad scaler); use bf16 or fp32."
        )
    return name


def autocast(device: torch.device, precision: str) -> Any:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
