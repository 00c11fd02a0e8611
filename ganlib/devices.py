"""Where a run trains and how: the device, the precision and the GPU backend settings, decided in one place.

Each decision reads the hardware only through ``torch.cuda`` (``is_available``, ``device_count``,
``get_device_capability``, ``mem_get_info``) and /proc/cpuinfo, so a test on a CPU fakes those answers and checks
the GPU branches (tests/test_gpu_decisions.py).

- Device: ``auto`` takes CUDA, else MPS, else the CPU. Under torchrun it takes CUDA only when every process on this
  machine has its own GPU; otherwise the ranks train on the CPU with gloo, and the run says so in one line.
- Precision: ``auto`` is bf16 where it is native (GPUs of compute capability 8.0 and later; CPUs with AMX or
  AVX-512 BF16) and fp32 elsewhere: a T4 or V100 reports bf16 as supported, but emulates its convolutions far
  slower than fp32. TF32 is a precision of its own (``--precision tf32``), never a side effect of fp32.
- Backends on CUDA: cuDNN benchmarks its convolution algorithms (fast, but the pick can differ between runs), or,
  with ``--deterministic``, uses deterministic ones, so a resumed GPU run is bit-for-bit the straight one.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

NATIVE_BF16_CAPABILITY = (8, 0)  # Ampere: bf16 and TF32 tensor cores
FAST_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
DATA_MEMORY_FRACTION = 0.25  # the uint8 data set goes to the GPU when it takes at most this share of free memory


def _cpuinfo_lines() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def cpu_has_fast_bf16() -> bool:
    """True where the CPU has bf16 instructions (AMX tiles, or AVX-512 BF16): there bf16 autocast trains faster
    than fp32 (README, "Development", has the figures). Without them oneDNN emulates bf16, far slower than fp32."""
    flags = set()
    for line in _cpuinfo_lines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return any(flag in flags for flag in FAST_BF16_CPU_FLAGS)


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def gpu_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(name: str = "auto", local_rank: int = 0, local_processes: int = 1) -> tuple[torch.device, str]:
    """The device for ``--device name`` and a note for the user ("" when there is nothing to say).

    ``local_processes`` > 1 means torchrun started that many ranks on this machine, ``local_rank`` being this one:
    each needs a GPU of its own (two NCCL ranks on one GPU fail, and a rank past the last GPU has none)."""
    if local_processes <= 1:
        return _single_process_device(name), ""
    gpus = gpu_count()
    if name == "mps":
        raise ValueError("--device mps trains in one process; under torchrun use --device cpu (gloo) or CUDA GPUs")
    if name == "cuda" and gpus < local_processes:
        fix = f"--nproc_per_node {gpus}, or --device cpu" if gpus else "--device cpu"
        raise ValueError(
            f"--device cuda under torchrun needs one GPU per process: {local_processes} processes on this machine, "
            f"{gpus} GPU(s); use {fix}"
        )
    if name in ("auto", "cuda") and gpus >= local_processes:
        return torch.device("cuda", local_rank), ""
    note = ""
    if name == "auto" and gpus:
        note = (
            f"{local_processes} processes on this machine but {gpus} GPU(s): training on the CPU with gloo "
            f"(--nproc_per_node {gpus} gives each process a GPU)"
        )
    return torch.device("cpu"), note


def _single_process_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU")
    if name == "mps" and not _mps_available():
        raise ValueError("--device mps was asked for, but MPS is not available")
    return torch.device(name)


def _capability(device: torch.device) -> tuple[int, int]:
    return tuple(torch.cuda.get_device_capability(device))


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` made concrete for ``device``; a precision the device cannot train in is refused in one line."""
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if _capability(device) >= NATIVE_BF16_CAPABILITY else "fp32"
        return "bf16" if device.type == "cpu" and cpu_has_fast_bf16() else "fp32"
    if name == "bf16" and device.type == "mps":
        raise ValueError("bf16 autocast is not supported on MPS here; use --precision fp32")
    if name == "tf32" and not (device.type == "cuda" and _capability(device) >= NATIVE_BF16_CAPABILITY):
        where = (
            "this GPU's is {}.{}".format(*_capability(device)) if device.type == "cuda" else f"this run is on {device}"
        )
        raise ValueError(f"--precision tf32 needs a CUDA GPU of compute capability 8.0 or later ({where}); use fp32")
    return name


def configure_backends(device: torch.device, precision: str, deterministic: bool) -> None:
    """Set the process-wide CUDA switches the run's settings imply (on a CPU there is nothing to set: its kernels
    are deterministic and have no TF32)."""
    if device.type != "cuda":
        return
    # cuDNN's benchmark times several convolution algorithms on the first batch of each shape and keeps the
    # fastest; which one wins can differ between two runs, so a deterministic run turns it off.
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.allow_tf32 = precision == "tf32"  # torch's default is on: fp32 would quietly be TF32
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts, after this
    # set either way: a process that trains twice (the smoke script) must not keep an earlier run's choice; a
    # warning names any operation that has no deterministic kernel
    torch.use_deterministic_algorithms(deterministic, warn_only=True)


def data_fits_on_device(nbytes: int, device: torch.device) -> bool:
    """Whether the uint8 data set should live on ``device``: on a GPU when it takes at most a quarter of the free
    memory, so a batch is gathered there instead of copied from the host every step (and its index, drawn on the
    device, need not come back to the host)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    elif device.type == "mps" and hasattr(torch.mps, "recommended_max_memory"):  # torch 2.5 and later
        free = torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
    else:
        return False
    return nbytes <= DATA_MEMORY_FRACTION * free


def adam_step_device(param_device: torch.device, fused: bool) -> torch.device:
    """Where Adam's step counter belongs: beside the weights for the fused kernel, on the CPU for foreach and loop,
    which read it as a Python number (a GPU counter would cost a host sync per weight per step)."""
    return param_device if fused else torch.device("cpu")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        model = next(
            (line.split(":", 1)[1].strip() for line in _cpuinfo_lines() if line.startswith("model name")),
            platform.processor(),
        )
        return f"cpu ({model}, {os.cpu_count()} cores)"
    return device.type
