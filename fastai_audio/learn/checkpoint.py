"""Resumable training: a checkpoint after every epoch from which an interrupted fit carries on as if it had
never stopped.

    learn.fit_one_cycle(20, 1e-3, cbs=Checkpoint('run'))                 # killed during epoch 8...
    learn = audio_learner(dls, resnet18)                                  # ...later, in a new process
    learn.fit_one_cycle(20, 1e-3, cbs=Checkpoint('run', resume=True))    # epochs 0-6 restored, goes on at 7

fastai's `SaveModelCallback(every_epoch=True, with_opt=True)` and `fit(start_epoch=)` restore weights and
optimiser; a checkpoint here also holds what makes the rest of the run the same: the epoch, the random
states (Python, NumPy, torch, CUDA, and each data loader's shuffling), the batch-normalisation statistics of
the data pipeline (`SpecNormalize`, checked against the learner's front end on resume), and the recorder's smoothed loss and history (losses, metrics,
learning rates). It is written with `torch.save`
and read with `weights_only=True` (tensors and plain values: loading it runs no code), atomically, so a
crash while saving leaves the previous checkpoint intact.
"""
from __future__ import annotations

import os
import random
import warnings

import numpy as np
import torch
from fastai.callback.core import Callback, CancelEpochException
from fastcore.foundation import L

from ..transforms.spectrogram import SpecNormalize

__all__ = ['Checkpoint']


def _rng_state(learn) -> dict:
    np_state = np.random.get_state()
    return {'python': random.getstate(), 'numpy': (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                                                   *np_state[2:]),
            'torch': torch.get_rng_state(), 'cuda': torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            'loaders': [dl.rng.getstate() for dl in learn.dls.loaders]}


def _set_rng_state(learn, s: dict) -> None:
    random.setstate(_tuples(s['python']))
    name, keys, *rest = s['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(s['torch'])
    if s['cuda'] and torch.cuda.is_available(): torch.cuda.set_rng_state_all(s['cuda'])
    for dl, st in zip(learn.dls.loaders, s['loaders']): dl.rng.setstate(_tuples(st))


def _tuples(o):
    "Python's random state is nested tuples; a round trip through the checkpoint may give lists."
    return tuple(_tuples(x) for x in o) if isinstance(o, (list, tuple)) else o


def _plain(o):
    "fastcore `L`s and tuples as lists, NumPy scalars as numbers, tensor subclasses as tensors, recursively, so that `torch.load(weights_only=True)` reads them."
    if isinstance(o, dict): return {k: _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, L)): return [_plain(v) for v in o]
    if isinstance(o, torch.Tensor) and type(o) is not torch.Tensor: return o.as_subclass(torch.Tensor)  # fastai's
    return o.item() if isinstance(o, np.generic) else o


def _recorder_state(rec) -> dict:
    "What the `Recorder` carries from epoch to epoch: the smoothed loss, and the history `plot_loss` draws."
    return {'smooth_count': rec.smooth_loss.count, 'smooth_val': rec.smooth_loss.val.detach().cpu(),
            'values': [[float(v) for v in row] for row in rec.values], 'lrs': [float(v) for v in rec.lrs],
            'losses': [float(v) for v in rec.losses], 'iters': list(rec.iters)}


def _set_recorder_state(rec, s: dict) -> None:
    rec.smooth_loss.count, rec.smooth_loss.val = s['smooth_count'], s['smooth_val']
    rec.lrs, rec.iters = list(s['lrs']), list(s['iters'])
    rec.losses = [torch.tensor(v) for v in s['losses']]


def _normalizers(learn) -> list:
    return [t for t in learn.dls.after_batch.fs if isinstance(t, SpecNormalize)]


def _check_same_front_end(spec, saved: dict, file):
    "A checkpoint resumes only the front end it was trained on: raise naming each setting that differs."
    from ..runtime.frontend import FrontEnd
    try: spec.front_end.check_matches(FrontEnd.from_dict(saved['front_end']), f'the checkpoint {file}')
    except ValueError as e: raise ValueError(f'Checkpoint: cannot resume: {e}') from None


class Checkpoint(Callback):
    """A callback that saves a checkpoint after every epoch and resumes an interrupted fit from it.

    The checkpoint is `learn.path/learn.model_dir/{fname}.pth`. With `resume=True`, a fit whose checkpoint exists
    restores it and skips the epochs it holds (see the module docstring). Call the same fit (same number of
    epochs and learning rate) as the interrupted one. A resume without a checkpoint starts from the beginning,
    with a warning. Mixed-precision loss scaling starts afresh on resume.

    Parameters
    ----------
    fname : str
        The checkpoint's file name, without '.pth' (default 'checkpoint').
    resume : bool
        Restore the checkpoint, if there is one, before the fit (default False: start afresh and overwrite it).

    Raises
    ------
    ValueError
        On resume, when the checkpoint is from a fit of another number of epochs, or from another front end
        (naming each setting that differs).

    Examples
    --------
    >>> learn.fit_one_cycle(20, 1e-3, cbs=Checkpoint('run'))                # doctest: +SKIP
    >>> learn.fit_one_cycle(20, 1e-3, cbs=Checkpoint('run', resume=True))   # doctest: +SKIP
    """
    order = 65                                    # after Recorder (50) and the progress bar (60) set up the epoch

    def __init__(self, fname: str = 'checkpoint', resume: bool = False):
        self.fname, self.resume, self.start = fname, resume, 0

    @property
    def file(self): return self.learn.path / self.learn.model_dir / f'{self.fname}.pth'

    def before_fit(self):
        self.start = 0
        if not self.resume: return
        if not self.file.exists():
            warnings.warn(f'Checkpoint: no checkpoint at {self.file}; training from the first epoch')
            return
        s = torch.load(self.file, map_location='cpu', weights_only=True)
        if s['n_epoch'] != self.n_epoch:
            raise ValueError(f'Checkpoint: {self.file} is from a fit of {s["n_epoch"]} epochs; this fit has '
                             f'{self.n_epoch}. Resume with the same fit call as the interrupted run.')
        self.learn.model.load_state_dict(s['model'])
        self.learn.opt.load_state_dict({'state': s['opt']['state'], 'hypers': L(s['opt']['hypers'])})
        for t, (mean, std) in zip(_normalizers(self.learn), s['normalize']): t.mean, t.std = mean, std
        spec = getattr(self.learn, 'spec', None)
        if spec is not None:
            self.learn.refresh_spec()                       # the restored statistics are part of the front end
            if s.get('spec'): _check_same_front_end(self.learn.spec, s['spec'], self.file)
        _set_rng_state(self.learn, s['rng'])
        _set_recorder_state(self.learn.recorder, s['recorder'])
        self.saved_values, self.start = s['recorder']['values'], s['epoch'] + 1

    def before_epoch(self):
        if self.epoch < self.start: raise CancelEpochException       # done before the interruption

    def after_epoch(self):
        if self.epoch < self.start:                         # the skipped epoch's row: what it recorded then
            self.learn.recorder.values[-1] = list(self.saved_values[self.epoch])
            self.learn.recorder.iters.pop()                 # (already restored)
            return
        state = {'epoch': self.epoch, 'n_epoch': self.n_epoch, 'model': self.learn.model.state_dict(),
                 'opt': self.learn.opt.state_dict(), 'rng': _rng_state(self.learn),
                 'normalize': [(t.mean, t.std) for t in _normalizers(self.learn)],
                 'recorder': _recorder_state(self.learn.recorder)}
        if getattr(self.learn, 'spec', None) is not None: state['spec'] = self.learn.spec.to_dict()
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f'{self.file.name}.{os.getpid()}.tmp')
        torch.save(_plain(state), tmp)
        os.replace(tmp, self.file)
