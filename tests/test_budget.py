"""The per-request budget (ganlib.budget): a model's measured cost, and passes through G batched by memory."""

import pytest
import torch

from ganlib import budget, projection
from ganlib.component_effects import observe
from ganlib.explorer import Explorer


@pytest.fixture
def tiny_explorer(tiny_checkpoint):
    return Explorer.from_checkpoint(tiny_checkpoint, cache=False)


def test_cost_turns_a_speed_into_a_count_and_seconds():
    cost = budget.Cost(seconds_per_image=0.01, bytes_per_image=1 << 20)
    assert cost.images_within(20.0) == 2000 and cost.seconds(500) == pytest.approx(5.0)
    assert cost.batch_size == budget.BATCH_BYTES >> 20  # 1 MB an image: 64 of them fit 64 MB
    assert budget.batch_size(1) == budget.MAX_BATCH and budget.batch_size(10 * budget.BATCH_BYTES) == 1


def test_activation_bytes_are_the_largest_layer_input_and_output():
    layers = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 2, 1))
    example = torch.zeros(1, 3, 8, 8)
    assert budget.activation_bytes(layers, example) == (16 * 64 + 16 * 64) * 4  # the ReLU's input and output


def test_the_explorer_measures_its_model_once(tiny_explorer):
    cost = tiny_explorer.cost()
    assert cost.seconds_per_image > 0 and cost.bytes_per_image > 0
    assert tiny_explorer.cost() is cost


def test_every_pass_through_g_holds_at_most_the_memory_budget(tiny_explorer, monkeypatch):
    """A 128-px upload's batch of 256 held 490 MB of activations; batches now shrink with the model's width."""
    per_image = budget.bytes_per_image(tiny_explorer.generator, tiny_explorer.discriminator)
    monkeypatch.setattr(budget, "BATCH_BYTES", 7 * per_image)
    assert tiny_explorer.batch_size == 7
    batches = []
    tiny_explorer.generator.register_forward_pre_hook(lambda module, args: batches.append(len(args[0])))
    z = tiny_explorer.latents(range(20))
    tiny_explorer.images(z)
    tiny_explorer.images_and_scores(z)
    projection.map_points(tiny_explorer, range(20), "discriminator")
    projection.latent_features(tiny_explorer, z, "pixels")
    observe(tiny_explorer, z)
    assert sum(batches) == 5 * 20 and max(batches) == 7
