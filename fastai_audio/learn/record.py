"""What a model card says of training, recorded as it happens: `TrainingLog`, a callback every learner of this
package carries (`audio_learner`, `sed_learner`), counts the epochs of every fit, keeps the seed torch was
started from and the last validation's metrics; `learn.training_log.facts()` gives them to the exporters,
which write them into the exported folder's README.md (`serving.card`).
"""
from __future__ import annotations

import platform

import torch
from fastai.callback.core import Callback

__all__ = ['TrainingLog']


class TrainingLog(Callback):
    """Counts the epochs trained over every fit and keeps the last validation's metrics and the seed.

    The seed is `torch.initial_seed()` as the first fit begins: what `set_seed(s)` set, else the random seed
    torch chose. The callback takes no arguments; fastai attaches it as `learn.training_log`.
    """
    order = 61                                     # after the Recorder has logged the epoch's values
    remove_on_fetch = False

    def __init__(self): self.epochs, self.seed, self.valid_metrics = 0, None, {}

    def before_fit(self):
        if self.seed is None: self.seed = int(torch.initial_seed())

    def after_epoch(self):
        self.epochs += 1
        rec = getattr(self.learn, 'recorder', None)
        if rec is None or not rec.values: return
        names = [n for n in rec.metric_names[1:-1]]            # without 'epoch' and 'time'
        self.valid_metrics = {n: float(v) for n, v in zip(names, rec.values[-1]) if n != 'train_loss' and v is not None}

    def facts(self) -> dict:
        """How this callback's learner was trained, for a model card.

        Returns
        -------
        dict
            'architecture' (str), 'epochs' (int or None), 'train_items' and 'valid_items' (int), 'seed' (int or
            None), 'metrics' ({name: last validation value}), 'dataset' (the loaders' folder name, or None) and
            'versions' ({package: version}).
        """
        from importlib.metadata import PackageNotFoundError, version
        log, learn = self, self.learn
        arch = getattr(learn, 'arch_name', None) or getattr(learn.model, 'audio_model_name', None)
        if not arch:
            net = getattr(getattr(learn, 'spec', None), 'network', None) or {}
            arch = net.get('name') or net.get('arch') or type(learn.model).__name__

        def v(name):
            try: return version(name)
            except PackageNotFoundError: return None
        dls, path = learn.dls, getattr(learn.dls, 'path', None)
        return dict(architecture=str(arch), epochs=log.epochs,
                    train_items=len(dls.train_ds), valid_items=len(dls.valid_ds),
                    seed=log.seed, metrics=dict(log.valid_metrics),
                    dataset=path.name if path is not None and str(path) not in ('', '.') else None,
                    versions={'python': platform.python_version(), 'torch': torch.__version__,
                              'fastai': v('fastai'), 'fastai_audio': v('fastai_audio')})
