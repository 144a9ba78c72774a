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

from ..data.shards import ShardsDL

__all__ = ['AudioDistributedDL', 'AudioDistributedTrainer']


class AudioDistributedDL(DistributedDL):
    """fastai's `DistributedDL`, broadcasting the indices on the CPU unless the process group is NCCL.

    Each epoch's shuffled indices go from rank 0 to every process through a CPU tensor for a gloo group (CPU
    processes) and a CUDA tensor for an NCCL one; `AudioDistributedTrainer` wraps the loaders in it.

    Parameters
    ----------
    dl : DataLoader
        The loader to shard over the processes (fastai's, or a torch one that is converted).
    rank : int, optional
        This process's rank (default None: the launcher's, from the environment).
    world_size : int, optional
        The number of processes (default None: the launcher's, from the environment).
    device : torch.device, optional
        Where batches go (default None: `dl`'s device).
    """
    def _broadcast(self, t, rank):
        t = torch.LongTensor(t)
        if torch.distributed.get_backend() == 'nccl': t = t.cuda()
        torch.distributed.broadcast(t, rank)
        return t.cpu().tolist()


class AudioDistributedTrainer(DistributedTrainer):
    """fastai's `DistributedTrainer`, wrapping the loaders in `AudioDistributedDL`.

    `AudioLearner.to_distributed` (what `learn.distrib_ctx()` calls) adds it, so training runs on CPU processes
    (gloo) as well as on GPUs (NCCL). Loaders of shards (`ShardsDL`) are left as they are: each process reads
    its own shards.

    Parameters
    ----------
    sync_bn : bool
        Replace every batch norm with `nn.SyncBatchNorm` (default True).
    **kwargs
        Passed to accelerate's `Accelerator` (e.g. `cpu=True` for CPU processes).
    """
    def _wrap_dl(self, dl):
        # a `ShardsDL` reads its own process's shards already (by rank): wrapping it would split it again
        if isinstance(dl, (DistributedDL, ShardsDL)): return dl
        return AudioDistributedDL(dl, device=self.learn.model.device)
