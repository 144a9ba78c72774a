"""Sliding windows: evaluate clips longer (or shorter) than what the model was trained on.

A model trained on crops of `duration` seconds scores a long clip by cutting it into windows of the same
length every `hop` seconds, running every window through the ordinary data pipeline (so each window is
turned into a spectrogram, put in dB and normalised exactly as a training crop was) and aggregating the
windows' scores per clip: `agg='mean'` (the clip is what it sounds like on average) or `'max'` (a label is
present if any window hears it, the usual choice for tagging sparse events).
"""
from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from types import SimpleNamespace

import torch
from fastai.torch_core import to_detach
from fastcore.basics import ifnone

from ..core import AudioTensor
from ..data.croppad import AudioCropPad, crop_pad
from ..data.loading import audio_loader_of
from ..runtime.functional import seconds_to_samples
from ..runtime.functional import window_starts as _window_starts

__all__ = ['window_starts', 'WindowedDataset', 'aggregate_windows', 'Timeline']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('first_per_clip', 'metrics_on', 'window_preds')


def window_starts(n: int, size: int, step: int) -> list[int]:
    """Start indices of windows of `size` samples every `step` samples covering a signal of `n` samples, as a
    list: `frontend.window_starts` (0, step, 2 step... while they fit, then one flush with the end); a signal
    shorter than `size` gets the single window [0], padded later."""
    if size <= 0 or step <= 0: raise ValueError(f'window size and step must be > 0, got {size} and {step}')
    return _window_starts(max(n, size), size, step).tolist()


@dataclass
class Timeline:
    """Per-window scores of one clip: `starts` (seconds, `(n_windows,)`), `probs` `(n_windows, n_classes)`,
    `window` (seconds), the `vocab`, and the clip itself (`audio`) for the plot."""
    starts: torch.Tensor
    probs: torch.Tensor
    window: float
    vocab: list
    audio: AudioTensor | None = None

    def events(self, threshold=0.5, low=None, median: int = 1, min_duration: float = 0.0, min_gap: float = 0.0,
               filename: str = '') -> list:
        """Sound events read off the window probabilities (`events.decode_events`, which explains the settings):
        window i stands for `hop` seconds around its centre, the first from the clip's start and the last to its
        end, so an event's onset and offset are known to within about half a hop."""
        from ..runtime.events import Event, decode_events
        hop = float(self.starts[1] - self.starts[0]) if len(self.starts) > 1 else float(self.window)
        first = float(self.starts[0]) + self.window / 2 - hop / 2
        end = float(self.starts[-1]) + self.window
        last = first + hop * len(self.starts)
        out = decode_events(self.probs, self.vocab, hop, threshold, low, median, min_duration, min_gap, filename, first)
        return [Event(e.filename, float(self.starts[0]) if abs(e.onset - first) < 1e-9 else e.onset,
                      end if abs(e.offset - last) < 1e-9 else e.offset, e.event_label, e.score) for e in out]

    def top(self, k: int = 5) -> list:
        "The `k` classes with the highest peak probability over the windows."
        return [self.vocab[i] for i in self.probs.max(0).values.argsort(descending=True)[:k]]

    def plot(self, k: int = 5, spec_tfms=None, figsize=(8, 5)):
        """The clip's log-mel spectrogram above the probability of its `k` top classes in each window, plotted at
        the window centres (as YAMNet's demo does). Returns the two axes."""
        import matplotlib.pyplot as plt
        fig, (ax0, ax1) = plt.subplots(2, 1, figsize=figsize, sharex=True, gridspec_kw=dict(height_ratios=(3, 2)))
        if self.audio is not None:
            from ..transforms.spectrogram import get_frequency_batch_transforms
            x = self.audio[None] if self.audio.ndim == 2 else self.audio
            for t in spec_tfms or get_frequency_batch_transforms(sr=self.audio.sr, normalize=None): x = t(x)
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


class WindowedDataset:
    """The items of `dset` (a fastai `Datasets` or anything indexed to `(AudioTensor, *targets)`) cut into
    windows of `window` seconds every `hop` seconds (default `window / 2`): item j is the j-th window
    `(AudioTensor (channels, window * sr), *targets of its clip)`. `clip_ids` `(n_windows,)` tells which clip
    each window comes from. Shorter clips give one window, padded with `pad` ('zeros' or 'repeat').

    Clips are decoded once here to count their windows, and again when their windows are read.
    """
    def __init__(self, dset, window: float, hop: float | None = None, pad: str = 'zeros'):
        if window <= 0: raise ValueError(f'window must be > 0 seconds, got {window}')
        self.dset, self.window, self.hop, self.pad = dset, window, ifnone(hop, window / 2), pad
        self.index = []
        for i in range(len(dset)):
            x = dset[i][0]
            size, step = self._samples(x.sr)
            self.index += [(i, s) for s in window_starts(x.shape[-1], size, step)]
        self.clip_ids = torch.tensor([i for i, _ in self.index], dtype=torch.long)
        self._cache = (None, None)

    def _samples(self, sr):
        return seconds_to_samples(self.window, sr, 1), seconds_to_samples(self.hop, sr, 1)

    def _clip(self, i):
        if self._cache[0] != i: self._cache = (i, self.dset[i])
        return self._cache[1]

    def __len__(self): return len(self.index)

    def __getitem__(self, j):
        i, start = self.index[j]
        x, *ys = self._clip(i)
        size, _ = self._samples(x.sr)
        return (crop_pad(x[..., start:start + size], size, pad=self.pad), *ys)


def aggregate_windows(preds: torch.Tensor, clip_ids: torch.Tensor, n_clips: int, agg: str = 'mean') -> torch.Tensor:
    """Scores `(n_windows, n_classes)` -> `(n_clips, n_classes)`: the mean or max over each clip's windows.
    A clip with no window gets zeros."""
    out = preds.new_zeros(n_clips, *preds.shape[1:])
    idx = clip_ids.to(preds.device).view(-1, *([1] * (preds.ndim - 1))).expand_as(preds)
    if agg == 'mean':
        out.scatter_add_(0, idx, preds)
        count = torch.bincount(clip_ids, minlength=n_clips).clamp_min(1).to(preds)
        return out / count.view(-1, *([1] * (preds.ndim - 1)))
    if agg == 'max':
        return out.fill_(float('-inf')).scatter_reduce_(0, idx, preds, 'amax').nan_to_num(neginf=0.0)
    raise ValueError(f"agg must be 'mean' or 'max', got {agg!r}")


def first_per_clip(t: torch.Tensor, clip_ids: torch.Tensor, n_clips: int) -> torch.Tensor:
    "The row of `t` `(n_windows, ...)` of each clip's first window `(n_clips, ...)` (`clip_ids` `(n_windows,)`)."
    first = torch.full((n_clips,), len(clip_ids), dtype=torch.long)
    first.scatter_reduce_(0, clip_ids, torch.arange(len(clip_ids)), 'amin')
    return t[first]


def _crop_of(dl):
    return next((t for t in dl.after_item.fs if isinstance(t, AudioCropPad)), None)


def window_preds(learn, dl, window: float, hop: float | None, agg: str, pad: str = 'zeros'):
    """Per-clip (probabilities, targets or None), per-window probabilities, and the `WindowedDataset` used, for
    the clips of `dl` cut into windows of `window` seconds every `hop` (default window / 2), padded by `pad`."""
    if window is None: raise ValueError('give `window` (seconds): these loaders do not crop to a fixed duration')
    loader = audio_loader_of(dl.dataset)
    with ExitStack() as stack:
        if loader is not None: stack.enter_context(loader.whole_clips())   # windows need whole clips, even training ones
        wds = WindowedDataset(dl.dataset, window, hop, pad=pad)
        after_item = [t for t in dl.after_item.fs if not isinstance(t, AudioCropPad)]
        wdl = dl.new(wds, shuffle=False, drop_last=False, after_item=after_item)
        preds, targs = learn.get_preds(dl=wdl)
    n = len(dl.dataset)
    targs = None if targs is None else first_per_clip(targs, wds.clip_ids, n)
    return aggregate_windows(preds, wds.clip_ids, n, agg), targs, preds, wds


def _as_logits(p: torch.Tensor, multi_label: bool) -> torch.Tensor:
    "Scores whose sigmoid (multi-label) or softmax is `p`, so fastai metrics that apply those give back `p`."
    p = p.clamp(1e-7, 1 - 1e-7)
    return torch.logit(p) if multi_label else p.log()


def metrics_on(learn, preds: torch.Tensor, targs: torch.Tensor) -> dict:
    "`learn`'s metrics on aggregated probabilities `preds`, given back to them as the logits they come from."
    multi = targs.ndim == 2 and targs.shape == preds.shape
    logits = _as_logits(preds, multi)
    res = {}
    for m in learn.metrics:
        m.reset()
        m.accumulate(SimpleNamespace(pred=logits, yb=(targs,), y=targs, training=False, to_detach=to_detach))
        res[m.name] = float(m.value)
    return res
