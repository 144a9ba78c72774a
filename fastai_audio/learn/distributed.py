"""Distributed data parallel training with fastai's `learn.distrib_ctx()` (accelerate), on GPUs and on CPUs.

fastai's `DistributedDL` broadcasts each epoch's shuffled indices as a CUDA tensor, which only an NCCL process
group accepts; `AudioLearner.to_distributed` (what `distrib_ctx` calls) uses the two subclasses below, whose
broadcast stays on the CPU for a gloo group, and asks accelerate for CPU processes when there is no GPU. Launch:

    accelerate launch --multi_gpu --num_processes 4 train.py      # several GPUs (NCCL)
    torchrun --nproc_per_node 2 train.py                           # CPU processes (gloo)

with `with learn.distrib_ctx(): learn.fine_tune(...)` in train.py. `python -m fastai_audio.distributed_check`
is such a script.
"""
from __future__ import annotations

import torch
from fastai.distributed import DistributedDL, DistributedTrainer

__all__ = ['AudioDistributedDL', 'AudioDistributedTrainer']


class AudioDistributedDL(DistributedDL):
    "fastai's `DistributedDL`, broadcasting the indices on the CPU unless the process group is NCCL."
    def _broadcast(self, t, rank):
        t = torch.LongTensor(t)
        if torch.distributed.get_backend() == 'nccl': t = t.cuda()
        torch.distributed.broadcast(t, rank)
        return t.cpu().tolist()


class AudioDistributedTrainer(DistributedTrainer):
    "fastai's `DistributedTrainer`, wrapping the loaders in `AudioDistributedDL`."
    def _wrap_dl(self, dl):
        return dl if isinstance(dl, DistributedDL) else AudioDistributedDL(dl, device=self.learn.model.device)
