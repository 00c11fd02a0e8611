"""The GPU decisions, checked on a CPU with torch.cuda's answers faked: the device under torchrun, the precision, the
cuDNN switches, where the data and Adam's step counter live, per-step draws on the training device, one host read
per logging interval, and bench_speed's datasheet peaks."""

from __future__ import annotations

import json

import pytest
import torch

from ganlib import devices, distributed, train
from ganlib.config import TrainConfig
from ganlib.train import Trainer

TINY = dict(dataset="digits", image_size=32, latent_dim=8, generator_width=8, discriminator_width=8, batch_size=8,
            sample_every=1000, checkpoint_every=1000, precision="fp32", device="cpu")  # fmt: skip


def fake_gpus(monkeypatch, count: int, capability=(9, 0), name="NVIDIA H100 80GB HBM3"):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)


# ------------------------------------------------------------------ 1. ranks and devices
@pytest.mark.parametrize(
    "gpus, local_rank, expected, note",
    [(2, 1, "cuda:1", ""), (4, 0, "cuda:0", ""), (1, 1, "cpu", "2 processes on this machine but 1 GPU(s)"),
     (0, 1, "cpu", "")],
)  # fmt: skip
def test_torchrun_auto_takes_cuda_only_when_every_local_rank_has_a_gpu(monkeypatch, gpus, local_rank, expected, note):
    fake_gpus(monkeypatch, gpus)
    device, said = devices.resolve_device("auto", local_rank=local_rank, local_processes=2)
    assert str(device) == expected
    assert (note in said) if note else said == ""
    assert "\n" not in said


def test_torchrun_refuses_device_cuda_naming_the_gpu_count(monkeypatch):
    fake_gpus(monkeypatch, 1)
    with pytest.raises(ValueError, match=r"2 processes on this machine, 1 GPU\(s\); use --nproc_per_node 1"):
        devices.resolve_device("cuda", local_rank=0, local_processes=2)
    fake_gpus(monkeypatch, 0)
    with pytest.raises(ValueError, match=r"0 GPU\(s\); use --device cpu"):
        devices.resolve_device("cuda", local_rank=0, local_processes=2)
    with pytest.raises(ValueError, match="mps"):
        devices.resolve_device("mps", local_rank=0, local_processes=2)


def test_setup_under_torchrun_on_one_gpu_joins_gloo_on_the_cpu(monkeypatch):
    """Rank 1 of two on a one-GPU machine: the old setup sent it to cuda:1 ("invalid device ordinal")."""
    fake_gpus(monkeypatch, 1)
    for name, value in {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    joined = []
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.distributed, "init_process_group", lambda backend: joined.append(backend))
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: pytest.fail(f"set_device({device})"))
    world, device, note = distributed.setup("auto")
    assert device == torch.device("cpu") and joined == ["gloo"] and world.device == "cpu"
    assert world.local_size == 2 and "training on the CPU with gloo" in note


def test_single_process_auto_prefers_cuda_and_cuda_without_a_gpu_is_refused(monkeypatch):
    fake_gpus(monkeypatch, 1)
    assert devices.resolve_device("auto") == (torch.device("cuda"), "")
    fake_gpus(monkeypatch, 0)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        devices.resolve_device("cuda")


# ------------------------------------------------------------------ 3. precision
@pytest.mark.parametrize(
    "capability, expected", [((7, 0), "fp32"), ((7, 5), "fp32"), ((8, 0), "bf16"), ((9, 0), "bf16")]
)
def test_auto_precision_is_bf16_only_on_gpus_with_native_bf16(monkeypatch, capability, expected):
    """A T4 (7.5) or V100 (7.0) reports bf16 as supported, but emulates it far slower than fp32."""
    fake_gpus(monkeypatch, 1, capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    assert devices.resolve_precision("auto", torch.device("cuda", 0)) == expected


def test_tf32_is_a_stated_choice_refused_where_there_is_none(monkeypatch):
    fake_gpus(monkeypatch, 1, (8, 6))
    assert devices.resolve_precision("tf32", torch.device("cuda", 0)) == "tf32"
    fake_gpus(monkeypatch, 1, (7, 5))
    with pytest.raises(ValueError, match="tf32 needs a CUDA GPU of compute capability 8.0 or later.*7.5"):
        devices.resolve_precision("tf32", torch.device("cuda", 0))
    with pytest.raises(ValueError, match="this run is on cpu"):
        devices.resolve_precision("tf32", torch.device("cpu"))
    with pytest.raises(ValueError, match="MPS"):
        devices.resolve_precision("bf16", torch.device("mps"))


# ------------------------------------------------------------------ 5. cuDNN and TF32 switches
SWITCHES = [(torch.backends.cudnn, "benchmark"), (torch.backends.cudnn, "deterministic"),
            (torch.backends.cudnn, "allow_tf32"), (torch.backends.cuda.matmul, "allow_tf32")]  # fmt: skip


@pytest.fixture
def backend_switches(monkeypatch):
    """The process-wide switches configure_backends sets, put back after the test (by hand: torch's cuBLAS module
    object is not one monkeypatch can restore)."""
    saved = [getattr(module, name) for module, name in SWITCHES]
    calls = []
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda mode, warn_only: calls.append(mode))
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield calls
    for (module, name), value in zip(SWITCHES, saved):
        setattr(module, name, value)


@pytest.mark.parametrize("precision, deterministic", [("bf16", False), ("fp32", False), ("fp32", True), ("tf32", True)])
def test_cuda_runs_benchmark_cudnn_unless_deterministic_and_use_tf32_only_when_asked(
    backend_switches, precision, deterministic
):
    devices.configure_backends(torch.device("cuda", 0), precision, deterministic)
    assert torch.backends.cudnn.benchmark is (not deterministic)
    assert torch.backends.cudnn.deterministic is deterministic
    assert torch.backends.cudnn.allow_tf32 is (precision == "tf32")
    assert torch.backends.cuda.matmul.allow_tf32 is (precision == "tf32")
    assert backend_switches == [deterministic]


def test_a_cpu_run_leaves_the_cuda_switches_alone(backend_switches):
    before = torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32
    devices.configure_backends(torch.device("cpu"), "fp32", True)
    assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32) == before and backend_switches == []


# ------------------------------------------------------------------ 2. data and draws on the device
def test_the_data_set_goes_to_the_gpu_when_it_fits(monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (8 * 2**30, 80 * 2**30))
    assert devices.data_fits_on_device(1_200_000_000, torch.device("cuda", 0))  # 100,000 toonfaces at 64 px
    assert not devices.data_fits_on_device(3 * 2**30, torch.device("cuda", 0))  # more than a quarter of what is free
    assert not devices.data_fits_on_device(1000, torch.device("cpu"))


def test_every_per_step_draw_is_on_the_training_device_from_the_run_generator(tmp_path, monkeypatch):
    trainer = Trainer(TrainConfig(out=str(tmp_path / "run"), instance_noise=0.1, **TINY))
    assert trainer.rng.device == trainer.device
    draws = []
    for name in ("randn", "randint"):
        original = getattr(torch, name)

        def recording(*args, _original=original, _name=name, **kwargs):
            draws.append((_name, kwargs.get("device"), kwargs.get("generator")))
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch, name, recording)
    trainer._train_step()
    # the batch index, z, and instance noise on the real and the fake images
    assert sorted(name for name, _, _ in draws) == ["randint", "randn", "randn", "randn"]
    assert all(device == trainer.device and generator is trainer.rng for _, device, generator in draws)


def test_a_run_resumed_on_another_kind_of_device_reseeds_reproducibly_and_says_so(tmp_path):
    """A GPU generator's state (16 bytes) cannot seed a CPU one: the resumed run draws from (seed, step)."""
    draws = []
    for name in ("a", "b"):
        trainer = Trainer(TrainConfig(out=str(tmp_path / name), **TINY))
        trainer.step = 40
        trainer._restore_random_stream(torch.zeros(16, dtype=torch.uint8), "cuda")
        draws.append(torch.randn(4, generator=trainer.rng))
        assert len(trainer.notes) == 1 and "saved on cuda" in trainer.notes[0] and "step 40" in trainer.notes[0]
    assert torch.equal(*draws)
    same = Trainer(TrainConfig(out=str(tmp_path / "c"), **TINY))
    state = torch.Generator().manual_seed(7).get_state()
    same._restore_random_stream(state, "cpu")
    assert torch.equal(same.rng.get_state(), state) and same.notes == []


# ------------------------------------------------------------------ 4. host syncs and status writes
HOST_READS = ("item", "tolist", "__float__", "__bool__", "__int__", "cpu", "numpy")


def _host_reads(tmp_path, name: str, steps: int) -> int:
    trainer = Trainer(TrainConfig(out=str(tmp_path / name), steps=steps, log_every=10, **TINY))
    count = [0]
    with pytest.MonkeyPatch.context() as patch:
        for method in HOST_READS:
            original = getattr(torch.Tensor, method)

            def counting(self, *args, _original=original, **kwargs):
                count[0] += 1
                return _original(self, *args, **kwargs)

            patch.setattr(torch.Tensor, method, counting)
        trainer.run()
    return count[0]


def test_training_reads_the_device_once_per_logging_interval(tmp_path):
    """Ten more steps cost one read (the interval's sums), where the old loop made five .item() calls per step."""
    ten, twenty = (_host_reads(tmp_path, f"run{steps}", steps) for steps in (10, 20))
    assert twenty - ten == 1


def test_status_is_written_at_most_once_a_second(tmp_path, monkeypatch):
    writes = []
    write_json = train.write_json
    monkeypatch.setattr(train, "write_json", lambda path, value: writes.append(path.name) or write_json(path, value))
    monkeypatch.setattr(train, "STATUS_SECONDS", 1e9, raising=False)  # no second ever passes
    out = tmp_path / "run"
    Trainer(TrainConfig(out=str(out), steps=6, log_every=1, **TINY)).run()
    assert writes.count("status.json") == 3  # start, the first stats line, the end
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    assert len((out / "stats.jsonl").read_text().splitlines()) == 6  # every stats line is still written


# ------------------------------------------------------------------ 8, 9. Adam's step counter, MPS autocast
def test_adams_step_counter_lives_beside_the_weights_only_for_the_fused_kernel():
    gpu = torch.device("cuda", 0)
    assert devices.adam_step_device(gpu, fused=True) == gpu
    assert devices.adam_step_device(gpu, fused=False) == torch.device("cpu")


def test_resuming_a_fused_run_as_loop_keeps_the_step_on_the_cpu_as_float(tmp_path):
    Trainer(TrainConfig(out=str(tmp_path / "run"), steps=2, adam="fused", **TINY)).run()
    resumed = Trainer.resume(tmp_path / "run", steps=3, adam="loop")
    steps = [state["step"] for opt in (resumed.optimizer_g, resumed.optimizer_d) for state in opt.state.values()]
    assert steps and all(s.device.type == "cpu" and s.dtype == torch.float32 and s.item() == 2 for s in steps)
    resumed.run()


def test_an_fp32_run_builds_no_autocast(tmp_path, monkeypatch):
    """torch 2.4 refuses torch.autocast("mps", enabled=False): fp32 on MPS must not build one at all."""
    trainer = Trainer(TrainConfig(out=str(tmp_path / "run"), **TINY))
    trainer.device = torch.device("mps")

    def refusing(device_type, dtype=None, enabled=True, **kwargs):
        raise RuntimeError(f"autocast({device_type!r}, enabled={enabled}) refused")

    monkeypatch.setattr(torch, "autocast", refusing)
    with trainer._autocast():
        pass
    trainer.precision = "bf16"
    with pytest.raises(RuntimeError, match="refused"):
        trainer._autocast()


# ------------------------------------------------------------------ 6. bench_speed on a GPU
@pytest.mark.parametrize(
    "name, bf16",
    [("NVIDIA L4", 121e12), ("NVIDIA L40S", 362.05e12), ("NVIDIA H100 80GB HBM3", 989.4e12),
     ("NVIDIA H100 PCIe", 756.5e12), ("NVIDIA H100 NVL", 835.5e12), ("NVIDIA H200", 989.4e12),
     ("NVIDIA A100-SXM4-40GB", 312e12), ("NVIDIA A100 80GB PCIe", 312e12), ("NVIDIA A10", 125e12),
     ("NVIDIA GeForce RTX 4090", 165.2e12), ("Tesla T4", None), ("Tesla V100-SXM2-16GB", None)],
)  # fmt: skip
def test_datasheet_peaks_match_the_exact_device_name(name, bf16):
    from benchmarks.bench_speed import datasheet_peaks

    peaks = datasheet_peaks(name)
    assert peaks["bf16"] == bf16 and peaks["fp32"] > 0


@pytest.mark.parametrize("name", ["NVIDIA L40", "NVIDIA A10G", "NVIDIA H100", "NVIDIA GeForce RTX 3090", "L4"])
def test_a_device_name_not_in_the_table_is_unknown_not_a_near_match(name):
    from benchmarks.bench_speed import datasheet_peaks

    assert datasheet_peaks(name) is None


def test_bench_speed_accepts_cuda_n_and_names_the_gpu_count(monkeypatch):
    from benchmarks.bench_speed import parse_device

    fake_gpus(monkeypatch, 2)
    assert parse_device("cuda:1") == "cuda:1" and parse_device("cuda") == "cuda:0" and parse_device("cpu") == "cpu"
    with pytest.raises(ValueError, match=r"2 CUDA GPU\(s\)"):
        parse_device("cuda:2")
    with pytest.raises(ValueError, match="cpu, mps, cuda or cuda:N"):
        parse_device("gpu0")


def test_bench_speed_on_a_gpu_runs_the_reference_there_and_uses_the_datasheet_peak(monkeypatch):
    """The old benchmark timed the reference on the CPU beside ours on the GPU, and matched "L4" inside "L40S"."""
    from benchmarks import bench_speed

    fake_gpus(monkeypatch, 1, (8, 9), "NVIDIA L40S")
    calls = {}

    def reference(images, batch, steps, device, min_seconds):
        calls["reference"] = device
        return 1000.0

    def ours(size, batch, steps, device, precision, min_seconds):
        calls["ours"] = (device, precision)
        return 20000.0, 1.0

    monkeypatch.setattr(bench_speed, "matmul_rate", lambda *args: 100e12)
    monkeypatch.setattr(bench_speed, "flops_per_image", lambda size, device: 1e9)
    monkeypatch.setattr(bench_speed, "reference_images_per_second", reference)
    monkeypatch.setattr(bench_speed, "ours_images_per_second", ours)
    report = bench_speed.run([32], [64], 6, "cuda:0", min_seconds=1.0, profile=False)
    assert calls == {"reference": "cuda:0", "ours": ("cuda:0", "bf16")}
    row = report["rows"][0]
    assert report["gpu"] == "NVIDIA L40S" and row["ratio"] == 20.0
    assert row["mfu_vs_datasheet_bf16"] == round(1e9 * 20000 / 362.05e12, 4)


def test_time_until_runs_at_least_the_asked_calls_and_seconds():
    from benchmarks.bench_speed import time_until

    calls, seconds = time_until(lambda: None, "cpu", min_seconds=0.01, min_calls=3)
    assert calls >= 3 and seconds >= 0.01
