"""Train the classic recipe for one epoch under fastai's `distrib_ctx` (accelerate, DDP), to check that our data
loaders and batch transforms run distributed. On CPUs (gloo):

    torchrun --nproc_per_node 2 -m fastai_audio.distributed_check OUT_JSON [DATA_DIR]

On several GPUs: `accelerate launch --multi_gpu --num_processes N -m fastai_audio.distributed_check OUT_JSON DATA`.
Each process writes what it saw (rank, world size, batches, the final weights' checksum) to OUT_JSON.rank{r}.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ['main']


def main(out: str, data: str | None = None):
    """Train the classic recipe for one epoch under `distrib_ctx` and write what this process saw.

    Writes JSON to `{out}.rank{r}`: rank, world size, training batches, their shapes, training clips and the
    final weights' checksum.

    Parameters
    ----------
    out : str
        The path the per-rank JSON files are named after.
    data : str, optional
        A dataset folder laid out like NSynth (default None: a small synthetic one made next to `out`).
    """
    import torch
    from fastai.distributed import num_distrib, rank_distrib
    from fastai.callback.core import Callback
    from fastai_audio import (AudioItemList, NSYNTH_PATTERN, audio_learner, get_frequency_batch_transforms,
                              make_synthetic_dataset, set_seed)
    set_seed(0, reproducible=True)
    rank = rank_distrib()
    path = Path(data) if data else make_synthetic_dataset(Path(out).parent / 'distrib_data', n_train=8, n_valid=4)
    dls = (AudioItemList.from_folder(path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=8, duration=0.5, num_workers=0, tfms=get_frequency_batch_transforms(n_mels=32)))
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, len(dls.vocab)))

    class Count(Callback):
        def before_fit(self): self.n, self.shapes = 0, set()
        def after_batch(self):
            if self.training: self.n += 1; self.shapes.add(tuple(self.xb[0].shape))

    count = Count()
    learn = audio_learner(dls, net, cbs=count)
    with learn.distrib_ctx(sync_bn=False):
        learn.fit(1, 1e-2)
    weights = float(sum(p.detach().double().sum() for p in learn.model.parameters()))
    Path(f'{out}.rank{rank}').write_text(json.dumps(dict(rank=rank, world=num_distrib(), train_batches=count.n,
                                                          shapes=sorted(count.shapes), n_train=len(dls.train_ds),
                                                          weights=weights)))


if __name__ == '__main__':
    main(*sys.argv[1:])
