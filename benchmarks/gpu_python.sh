#!/bin/sh
# Print the Python that `make gpu-checkpoints` and `make gpu-smoke` run on: the first of the arguments whose torch
# sees a CUDA GPU and that imports what training needs. A GPU machine's own CUDA build of torch is so used as it is,
# never reinstalled (an offline GPU box could not fetch another). If none fits, build the venv with `make setup`
# and print the first argument, the venv's Python.
needs='import torch, numpy, PIL, safetensors, scipy, sklearn, tqdm; assert torch.cuda.is_available()'
for python in "$@"; do
  if "$python" -c "$needs" >/dev/null 2>&1; then
    echo "$python"
    exit 0
  fi
done
make setup >&2 && echo "$1"
