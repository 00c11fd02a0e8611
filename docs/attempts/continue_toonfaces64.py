"""Experiment for issue 14, item 5 (not product code): does a longer run of the bundled toonfaces64 help?

    PYTHONPATH=. python docs/attempts/continue_toonfaces64.py --threads 2 --out /tmp/cont/run

Continues the bundled run from the G and D weights in checkpoints/toonfaces64.safetensors (step 17,000), on its
own schedule (lr 2e-4, instance noise 0.1 annealed to 0 at step 30,000), keeping a checkpoint every 500 steps.
The bundled file has no Adam moments, so they start from zero; that is the one difference from the original run.
Stop it with Ctrl-C (it writes a checkpoint), then compare the kept checkpoints with
``python -m ganlib evaluate CHECKPOINT --quality-only``.
"""

import argparse
import signal

import torch

from ganlib.checkpoint import load_discriminator, load_generator, read_metadata
from ganlib.config import TrainConfig
from ganlib.ema import GeneratorEMA
from ganlib.train import Trainer

BUNDLED = "checkpoints/toonfaces64.safetensors"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="runs/toonfaces64-continued")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    training = read_metadata(BUNDLED)["training"]
    settings = dict(training["config"])
    settings.update(out=args.out, precision="auto", device="cpu", keep_checkpoints=True, checkpoint_every=500,
                    sample_every=500, log_every=50, instance_noise_steps=30000, steps=30000)  # fmt: skip
    trainer = Trainer(TrainConfig.from_dict(settings), callbacks=[])
    with torch.no_grad():
        for mine, bundled in (
            (trainer.generator, load_generator(BUNDLED)),
            (trainer.discriminator, load_discriminator(BUNDLED)),
        ):
            for ours, theirs in zip(mine.state_dict().values(), bundled.state_dict().values()):
                ours.copy_(theirs.float())
    trainer.ema = GeneratorEMA(trainer.generator, trainer.config.ema_decay)
    trainer.step, trainer.images_seen = training["steps"], training["images_seen"]
    print(f"from step {trainer.step}, instance noise {trainer.instance_noise_std():.4f}", flush=True)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: trainer.request_stop())
    print(trainer.run(), flush=True)


if __name__ == "__main__":
    main()
