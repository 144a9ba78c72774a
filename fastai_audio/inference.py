"""Inference on clips of any length: `AudioLearner.predict` (a path, an `AudioTensor` or an array with its
rate), the per-window `Timeline` with its plot, and `predict_folder` to a CSV.

`audio_learner` returns an `AudioLearner`, a fastai `Learner` whose `predict` scores long clips by sliding
windows of the training duration (50% overlap by default) and aggregates the window probabilities (mean or
max), returning what fastai's `predict` returns: `(decoded label(s), decoded tensor, probabilities)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from fastai.learner import Learner
from fastprogress.fastprogress import progress_bar

from .core import AudioLoadError, AudioTensor, get_audio_files
from .data import AudioLoader, _check_on_error, audio_loader_of, is_multi_label
from .windows import _default_window, _window_preds

__all__ = ['AudioLearner', 'Timeline']


@dataclass
class Timeline:
    """Per-window scores of one clip: `starts` (seconds, `(n_windows,)`), `probs` `(n_windows, n_classes)`,
    `window` (seconds), the `vocab`, and the clip itself (`audio`) for the plot."""
    starts: torch.Tensor
    probs: torch.Tensor
    window: float
    vocab: list
    audio: AudioTensor | None = None

    def top(self, k: int = 5) -> list:
        "The `k` classes with the highest peak probability over the windows."
        return [self.vocab[i] for i in self.probs.max(0).values.argsort(descending=True)[:k]]

    def plot(self, k: int = 5, spec_tfms=None, figsize=(8, 5)):
        """The clip's log-mel spectrogram above the probability of its `k` top classes in each window, plotted at
        the window centres (as YAMNet's demo does). Returns the two axes."""
        import matplotlib.pyplot as plt
        fig, (ax0, ax1) = plt.subplots(2, 1, figsize=figsize, sharex=True, gridspec_kw=dict(height_ratios=(3, 2)))
        if self.audio is not None:
            from .features import get_frequency_batch_transforms
            x = self.audio[None] if self.audio.ndim == 2 else self.audio
            for t in spec_tfms or get_frequency_batch_transforms(sample_rate=self.audio.sr, normalize=None): x = t(x)
            x[0].show(ctx=ax0)
            ax0.set_xlabel('')
        centres = (self.starts + self.window / 2).numpy()
        for name in self.top(k):
            ax1.plot(centres, self.probs[:, list(self.vocab).index(name)].numpy(), marker='.', label=str(name))
        ax1.set_ylim(0, 1)
        ax1.set_xlabel('time (s)')
        ax1.set_ylabel('probability')
        ax1.legend(fontsize='small', loc='upper right')
        return ax0, ax1


class AudioLearner(Learner):
    """A fastai `Learner` for audio whose `predict` takes a clip of any length, and whose `distrib_ctx` also runs
    on CPU processes. Built by `audio_learner`."""

    def to_distributed(self, sync_bn: bool = True, **kwargs):
        """What fastai's `distrib_ctx` calls: add the distributed trainer (see `fastai_audio.distributed`); without a
        GPU, accelerate is asked for CPU processes (gloo)."""
        from fastai.callback.progress import ProgressCallback
        from fastai.distributed import rank_distrib
        from .distributed import AudioDistributedTrainer
        kwargs.setdefault('cpu', not torch.cuda.is_available())
        self.add_cb(AudioDistributedTrainer(sync_bn, **kwargs))
        if rank_distrib(): self.remove_cb(ProgressCallback)
        return self

    def _audio(self, item, sr=None) -> AudioTensor:
        "`item` decoded as the loaders decode their items (rate, channels): a path, an AudioTensor or an array + sr."
        loader = audio_loader_of(self.dls.valid_ds) or AudioLoader()
        if isinstance(item, (str, Path, AudioTensor)): return loader(item)
        if isinstance(item, (np.ndarray, torch.Tensor)):
            if sr is None: raise ValueError('predict on an array needs its sample rate: predict(x, sr=...)')
            x = torch.as_tensor(item, dtype=torch.float32)
            return loader(AudioTensor(x if x.ndim == 2 else x.reshape(1, -1), sr=sr))
        raise TypeError(f'predict takes a path, an AudioTensor or an array with sr=, got {type(item).__name__}')

    def _window(self, window):
        return _default_window(self.dls.valid, window)

    def _windowed(self, items, window, hop, agg):
        "Per-clip and per-window probabilities of decoded clips `items`, and the `WindowedDataset`."
        dl = self.dls.test_dl(items, with_labels=False, num_workers=0)
        window = self._window(window)
        if window is None:                       # loaders that keep whole clips: one pass per clip
            preds = self.get_preds(dl=dl)[0]
            return preds, preds, None
        preds, _, wpreds, wds = _window_preds(self, dl, window, hop, agg)
        return preds, wpreds, wds

    def _decode(self, probs):
        dec = self.loss_func.decodes(probs[None])[0] if hasattr(self.loss_func, 'decodes') else probs.argmax()
        return self.dls.tfms[-1].decode(dec), dec

    def predict(self, item, window: float | None = None, hop: float | None = None, agg: str = 'mean',
                sr: int | None = None, with_timeline: bool = False):
        """Predict one clip of any length: a path, an `AudioTensor`, or a 1-D / `(channels, samples)` array with
        its rate `sr`.

        window : seconds per window (default: the loaders' crop `duration`; loaders without one score the
            whole clip at once). hop : seconds between windows (default window / 2). agg : 'mean' or 'max' of
            the windows' probabilities. Returns fastai's `(label(s), decoded tensor, probabilities)`, and a
            `Timeline` of the windows when `with_timeline`.
        """
        x = self._audio(item, sr)
        probs, wprobs, wds = self._windowed([x], window, hop, agg)
        label, dec = self._decode(probs[0])
        if not with_timeline: return label, dec, probs[0]
        starts = torch.tensor([s / x.sr for _, s in wds.index]) if wds is not None else torch.zeros(1)
        win = self._window(window) or x.duration
        return label, dec, probs[0], Timeline(starts, wprobs, win, list(self.dls.vocab), x)

    def predict_folder(self, path, csv=None, window: float | None = None, hop: float | None = None,
                       agg: str = 'mean', recurse: bool = True, on_error: str = 'raise', bs: int = 16):
        """Predict every audio file under `path` (any lengths) and return a DataFrame: file (relative to `path`),
        label (';'-joined for multi-label), then one probability column per class; written to `csv` if given.

        Files are scored `bs` at a time with a progress bar. A file that cannot be decoded raises an
        `AudioLoadError` naming it, or with `on_error='skip'` (as for the data loaders) is left out with a
        warning, and listed in `df.attrs['skipped']`, a DataFrame of file and reason.
        """
        import warnings

        import pandas as pd
        _check_on_error(on_error)
        path = Path(path)
        files = sorted(get_audio_files(path, recurse=recurse))
        if not files: raise FileNotFoundError(f'no audio files under {path}')
        rows, skipped = [], []
        multi = is_multi_label(self.dls)
        for i in progress_bar(range(0, len(files), bs), leave=False):
            chunk, clips = [], []
            for f in files[i:i + bs]:
                try: clips.append(self._audio(f))
                except AudioLoadError as e:
                    if on_error == 'raise': raise
                    warnings.warn(f'predict_folder: skipped {f}: {e.cause}')
                    skipped.append((str(f), e.cause))
                    continue
                chunk.append(f)
            if not clips: continue
            probs = self._windowed(clips, window, hop, agg)[0]
            for f, p in zip(chunk, probs):
                label, _ = self._decode(p)
                rows.append([str(f.relative_to(path)), ';'.join(map(str, label)) if multi else str(label),
                             *p.tolist()])
        df = pd.DataFrame(rows, columns=['file', 'label', *map(str, self.dls.vocab)])
        df.attrs['skipped'] = pd.DataFrame(skipped, columns=['file', 'reason'])
        if csv is not None: df.to_csv(csv, index=False)
        return df
