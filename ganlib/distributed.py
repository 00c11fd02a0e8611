"""Training one model on several processes with ``torchrun`` (DistributedDataParallel): who am I, and collectives.

``torchrun --nproc_per_node N -m ganlib train ...`` starts N copies of the trainer with RANK, WORLD_SIZE,
LOCAL_RANK and LOCAL_WORLD_SIZE in their environment. ``setup`` picks each rank's device (``devices.resolve_device``:
a GPU per rank, or the CPU for all) and joins them into one process group (gloo on CPU, NCCL on CUDA); without those
variables it returns a single-process ``World`` and nothing else changes.

How the trainer stays one run:
- every rank draws from the same seeded generator, a global batch at a time, and keeps its own slice: ranks see
  different images and noise, and the generator's state is the same everywhere, so rank 0's saved state resumes
  all of them exactly;
- G and D are wrapped in DistributedDataParallel, which averages gradients, so the weights stay identical
  (checked at every checkpoint with ``fingerprints_agree``);
- the stop/checkpoint decisions are all-reduced every step (host booleans, through gloo even under NCCL, so no GPU
  wait) and the step's numbers once per logging interval, so every rank takes the same branch;
- only rank 0 writes files.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from . import devices


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: str = "cpu"  # where collectives' tensors live: NCCL needs them on the GPU
    local_size: int = 1  # ranks on this machine (torchrun's LOCAL_WORLD_SIZE): each needs its own GPU
    control: object = field(default=None, compare=False, repr=False)  # gloo group for host flags (None: the default)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def environment_world() -> World:
    """The World that torchrun's environment describes (a single process without it)."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        # without LOCAL_WORLD_SIZE (a launcher other than torchrun), count every rank as local: asking for more GPUs
        # than needed falls back to the CPU, where too few would crash on a missing one
        local_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(size)))
    except ValueError:
        raise ValueError(
            "RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE must be integers (torchrun sets them)"
        ) from None
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"RANK {rank} does not fit WORLD_SIZE {size}")
    if not 0 <= local_rank < max(local_size, 1):
        raise ValueError(f"LOCAL_RANK {local_rank} does not fit LOCAL_WORLD_SIZE {local_size}")
    return World(rank, size, local_rank, local_size=local_size)


def setup(device_name: str) -> tuple[World, torch.device, str]:
    """This rank's device for ``--device device_name``, joined to the process group torchrun prepared, if any.
    Returns the world, the device and a note for the user ("" or one line, e.g. why the GPUs are not used)."""
    world = environment_world()
    if not world.distributed:
        device, note = devices.resolve_device(device_name)
        return world, device, note
    device, note = devices.resolve_device(device_name, world.local_rank, world.local_size)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    control = dist.new_group(backend="gloo") if backend == "nccl" else None
    return World(world.rank, world.size, world.local_rank, str(device), world.local_size, control), device, note


def teardown(world: World, together: bool = True) -> None:
    """Leave the process group. ``together`` when every rank ends at the same step (finished, stopped or diverged:
    those decisions are all-reduced), so the ranks meet at a barrier and none leaves while a peer is still inside a
    collective. Not after an error on one rank alone: its peers are inside another collective, and the barrier
    would wait for them until gloo's 30-minute timeout."""
    if not (world.distributed and dist.is_initialized()):
        return
    try:
        if together:
            dist.barrier()
    finally:
        dist.destroy_process_group()


def exit_process(code: int) -> None:
    """End a torchrun rank now, without the interpreter's finalization.

    ``destroy_process_group`` does not stop gloo's worker threads, and a worker may still be releasing the last
    collective it ran (a broadcast's tensors) when the main thread finalizes the interpreter. Releasing a tensor
    needs the GIL, which a finalizing interpreter no longer hands out: the worker thread is ended mid-destructor
    and the C++ runtime aborts the process ("terminate called without an active exception", SIGABRT), so torchrun
    reports a finished run as failed. Seen in about one 2-rank CPU run in ten; a core dump showed exactly these
    two threads. Every file is written and closed by now, so only the output buffers need flushing."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def any_flag(world: World, flags: dict[str, bool]) -> dict[str, bool]:
    """Every rank gets the OR of each flag (a signal or a clock can reach one rank a step before another). The flags
    are host booleans and travel through gloo, so agreeing on them every step never waits for the GPU."""
    if not world.distributed:
        return flags
    totals = torch.tensor([float(flag) for flag in flags.values()])
    dist.all_reduce(totals, group=world.control)
    return {name: bool(total > 0) for name, total in zip(flags, totals.tolist())}


def mean_over_ranks(world: World, values: torch.Tensor) -> torch.Tensor:
    """The mean over ranks of each rank's ``values`` (a tensor on the training device; NaN on any rank makes the mean
    NaN, so a divergence anywhere stops every rank at the same step). Once per logging interval."""
    if not world.distributed:
        return values
    total = values.to(world.device, copy=True)
    dist.all_reduce(total)
    return total / world.size


def broadcast_flag(world: World, flag: bool) -> bool:
    """Rank 0's answer, on every rank."""
    if not world.distributed:
        return flag
    value = torch.tensor([float(flag)])
    dist.broadcast(value, src=0, group=world.control)
    return bool(value.item())


def fingerprints_agree(world: World, modules: list[torch.nn.Module]) -> bool:
    """True when every rank holds the same weights: a float64 sum and sum of squares per parameter, gathered.
    Parameters only: BatchNorm's running statistics are per process between DDP's broadcasts of rank 0's, and
    rank 0's are the ones a checkpoint keeps."""
    if not world.distributed:
        return True
    with torch.no_grad():
        tensors = [t for module in modules for t in module.parameters()]
        mine = torch.stack([torch.stack([t.double().sum(), t.double().square().sum()]) for t in tensors])
    mine = mine.to(world.device)
    gathered = [torch.empty_like(mine) for _ in range(world.size)]
    dist.all_gather(gathered, mine)
    return all(torch.equal(gathered[0], other) for other in gathered[1:])
