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
from ..data.blocks import is_multi_label
from ..data.croppad import AudioCropPad, crop_pad
from ..data.loading import audio_loader_of
from ..runtime.events import GATE_DB
from ..runtime.functional import aggregate_windows, seconds_to_samples, window_starts  # noqa: F401  (aggregate_windows: the one window -> clip rule, re-exported)

__all__ = ['WindowedDataset', 'Timeline']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('first_per_clip', 'metrics_on', 'window_preds')


@dataclass
class Timeline:
    """Per-window scores of one clip, with `events`, `top` and `plot` to read them.

    Parameters
    ----------
    starts : torch.Tensor
        Window starts in seconds, `(n_windows,)`.
    probs : torch.Tensor
        Probabilities, `(n_windows, n_classes)`.
    window : float
        Window length in seconds.
    vocab : list
        The class names, one per column of `probs`.
    audio : AudioTensor, optional
        The clip itself, for the plot (default None).
    levels : torch.Tensor, optional
        Each window's level in dB re full scale (`functional.level_db`), `(n_windows,)` (default None: not gated).
    gate_db : float or None
        Windows at or below this level are no event, whatever their probabilities (default `GATE_DB`, -60 dB;
        None: no gate).
    """
    starts: torch.Tensor
    probs: torch.Tensor
    window: float
    vocab: list
    audio: AudioTensor | None = None
    levels: torch.Tensor | None = None
    gate_db: float | None = GATE_DB

    @property
    def heard(self) -> torch.Tensor:
        "Bool `(n_windows,)`: the windows above the level gate (all of them without levels or gate)."
        if self.levels is None or self.gate_db is None: return torch.ones(len(self.starts), dtype=torch.bool)
        return self.levels > self.gate_db

    def events(self, threshold=0.5, low=None, median: int = 1, min_duration: float = 0.0, min_gap: float = 0.0,
               filename: str = '') -> list:
        """Sound events read off the window probabilities with `events.decode_events`; none in a window at or
        below the level gate.

        A run of windows where a class is active becomes the span those windows cover minus the windows around
        it where it is not: it starts where the last inactive window before it ends (the clip's start when there
        is none) and ends where the first inactive window after it starts (the clip's end when there is none).
        For a model that hears a sound in any window holding part of it, the true onset is at most one hop after
        the onset given (never before it), and the true offset at most one hop before the offset given.

        Parameters
        ----------
        threshold, low, median, min_duration, min_gap, filename
            As `decode_events` takes them (which explains the settings); `median` counts windows.

        Returns
        -------
        list of Event
            Onsets and offsets in seconds from the clip's start.
        """
        from ..runtime.events import Event, decode_events
        hop = float(self.starts[1] - self.starts[0]) if len(self.starts) > 1 else float(self.window)
        starts = self.starts.double().tolist()
        probs = self.probs * self.heard[:, None].to(self.probs.dtype)
        runs = decode_events(probs, self.vocab, 1.0, threshold=threshold, low=low, median=median,
                             min_duration=min_duration / hop, min_gap=min_gap / hop, filename=filename)
        out = []
        for e in runs:                                   # onset, offset: window indices [a, b)
            a, b = round(e.onset), round(e.offset)
            on = starts[0] if a == 0 else max(starts[a], starts[a - 1] + self.window)
            off = starts[-1] + self.window if b == len(starts) else min(starts[b - 1] + self.window, starts[b])
            out.append(Event(e.filename, on, off, e.event_label, e.score))
        return sorted(out, key=lambda e: (e.onset, e.event_label))
    def top(self, k: int = 5) -> list:
        """The `k` classes with the highest peak probability over the windows above the level gate (all windows
        when none is).

        Parameters
        ----------
        k : int
            How many (default 5).

        Returns
        -------
        list
            Class names, highest first.
        """
        probs = self.probs[self.heard] if self.heard.any() else self.probs
        return [self.vocab[i] for i in probs.max(0).values.argsort(descending=True)[:k]]

    def plot(self, k: int = 5, spec_tfms=None, figsize=(8, 5)):
        """Plot the clip's log-mel spectrogram above the probability of its `k` top classes in each window.

        The probabilities are plotted at the window centres (as YAMNet's demo does); windows at or below the
        level gate are shaded.

        Parameters
        ----------
        k : int
            How many classes (default 5).
        spec_tfms : list of Transform, optional
            The batch transforms that make the spectrogram (default None: `get_frequency_batch_transforms` at the
            clip's rate, not normalised).
        figsize : tuple of float
            Figure size in inches (default (8, 5)).

        Returns
        -------
        tuple of matplotlib.axes.Axes
            The spectrogram's axis and the probabilities' axis.
        """
        import matplotlib.pyplot as plt
        fig, (ax0, ax1) = plt.subplots(2, 1, figsize=figsize, sharex=True, layout='constrained',
                                       gridspec_kw=dict(height_ratios=(3, 2)))
        if self.audio is not None:
            from ..transforms.spectrogram import get_frequency_batch_transforms
            x = self.audio[None] if self.audio.ndim == 2 else self.audio
            for t in spec_tfms or get_frequency_batch_transforms(sr=self.audio.sr, normalize=None): x = t(x)
            x[0].show(ctx=ax0)
            ax0.set_xlabel('')
        centres = (self.starts + self.window / 2).numpy()
        for name in self.top(k):
            ax1.plot(centres, self.probs[:, list(self.vocab).index(name)].numpy(), marker='.', label=str(name))
        quiet = [(float(s), self.window) for s, h in zip(self.starts, self.heard) if not h]
        if quiet: ax1.broken_barh(quiet, (0, 1), color='0.9', zorder=0, label=f'at or below {self.gate_db:g} dB: no event')
        ax1.set_ylim(0, 1)
        ax1.set_xlabel('time (s)')
        ax1.set_ylabel('probability')
        ax1.legend(fontsize='small', loc='upper right')
        return ax0, ax1


class WindowedDataset:
    """The items of a dataset cut into windows of `window` seconds every `hop` seconds.

    Item j is the j-th window `(AudioTensor (channels, window * sr), *targets of its clip)`. `clip_ids`
    `(n_windows,)` tells which clip each window comes from. Shorter clips give one window, padded. Clips are
    decoded once here to count their windows, and again when their windows are read.

    Parameters
    ----------
    dset : Datasets
        A fastai `Datasets`, or anything indexed to `(AudioTensor, *targets)`.
    window : float > 0
        Window length in seconds; 0 or less is a ValueError.
    hop : float, optional
        Seconds between window starts (default None: `window / 2`).
    pad : {'zeros', 'repeat'}
        How a clip shorter than a window is filled (default 'zeros').
    """
    def __init__(self, dset, window: float, *, hop: float | None = None, pad: str = 'zeros'):
        if window <= 0: raise ValueError(f'window must be > 0 seconds, got {window}')
        self.dset, self.window, self.hop, self.pad = dset, window, ifnone(hop, window / 2), pad
        self.index = []
        for i in range(len(dset)):
            x = dset[i][0]
            size, step = self.window_samples(x.sr)
            self.index += [(i, s) for s in window_starts(x.shape[-1], size, step).tolist()]
        self.clip_ids = torch.tensor([i for i, _ in self.index], dtype=torch.long)
        self._cache = (None, None)

    def window_samples(self, sr: int) -> tuple[int, int]:
        "(window, hop) in samples at `sr` Hz."
        return seconds_to_samples(self.window, sr, 1), seconds_to_samples(self.hop, sr, 1)

    def _clip(self, i):
        if self._cache[0] != i: self._cache = (i, self.dset[i])
        return self._cache[1]

    def __len__(self): return len(self.index)

    def __getitem__(self, j):
        i, start = self.index[j]
        x, *ys = self._clip(i)
        size, _ = self.window_samples(x.sr)
        return (crop_pad(x[..., start:start + size], size, pad=self.pad), *ys)


def first_per_clip(t: torch.Tensor, clip_ids: torch.Tensor, n_clips: int) -> torch.Tensor:
    "The row of `t` `(n_windows, ...)` of each clip's first window `(n_clips, ...)` (`clip_ids` `(n_windows,)`)."
    first = torch.full((n_clips,), len(clip_ids), dtype=torch.long)
    first.scatter_reduce_(0, clip_ids, torch.arange(len(clip_ids)), 'amin')
    return t[first]


def _crop_of(dl):
    return next((t for t in dl.after_item.fs if isinstance(t, AudioCropPad)), None)


def window_preds(learn, dl, window: float, hop: float | None, agg: str, pad: str = 'zeros'):
    """Predictions for the clips of `dl` cut into windows, per clip and per window.

    Parameters
    ----------
    learn : Learner
        The learner that predicts.
    dl : DataLoader
        The clips; their loader decodes whole clips here, even training ones.
    window : float
        Window length in seconds; None is a ValueError.
    hop : float, optional
        Seconds between window starts (None: `window / 2`).
    agg : {'mean', 'max'}
        How a clip's windows combine (see `aggregate_windows`).
    pad : {'zeros', 'repeat'}
        How a clip shorter than a window is filled (default 'zeros').

    Returns
    -------
    probs : torch.Tensor
        Per clip, `(n_clips, n_classes)`.
    targs : torch.Tensor or None
        Per clip (those of its first window), None when the loader has none.
    window_probs : torch.Tensor
        Per window, `(n_windows, n_classes)`.
    windows : WindowedDataset
        The windows used (`windows.clip_ids` maps them to clips).
    """
    if window is None: raise ValueError('give `window` (seconds): these loaders do not crop to a fixed duration')
    loader = audio_loader_of(dl.dataset)
    with ExitStack() as stack:
        if loader is not None: stack.enter_context(loader.whole_clips())   # windows need whole clips, even training ones
        wds = WindowedDataset(dl.dataset, window, hop=hop, pad=pad)
        after_item = [t for t in dl.after_item.fs if not isinstance(t, AudioCropPad)]
        wdl = dl.new(wds, shuffle=False, drop_last=False, after_item=after_item)
        preds, targs = learn.get_preds(dl=wdl)
    n = len(dl.dataset)
    targs = None if targs is None else first_per_clip(targs, wds.clip_ids, n)
    return aggregate_windows(preds, wds.clip_ids, n_clips=n, agg=agg), targs, preds, wds


def _as_logits(p: torch.Tensor, multi_label: bool) -> torch.Tensor:
    "Scores whose sigmoid (multi-label) or softmax is `p`, so fastai metrics that apply those give back `p`."
    p = p.clamp(1e-7, 1 - 1e-7)
    return torch.logit(p) if multi_label else p.log()


def metrics_on(learn, preds: torch.Tensor, targs: torch.Tensor) -> dict:
    """`learn`'s metrics on aggregated probabilities, given back to them as the logits they come from.

    Parameters
    ----------
    learn : Learner
        Its `metrics` are computed.
    preds : torch.Tensor
        Probabilities, `(n_clips, n_classes)`.
    targs : torch.Tensor
        Targets: class indices `(n_clips,)`, or multi-hot `(n_clips, n_classes)` (then sigmoid logits are given).

    Returns
    -------
    dict
        {metric name: value}.
    """
    multi = is_multi_label(learn.dls)
    logits = _as_logits(preds, multi)
    res = {}
    for m in learn.metrics:
        m.reset()
        m.accumulate(SimpleNamespace(pred=logits, yb=(targs,), y=targs, training=False, to_detach=to_detach))
        res[m.name] = float(m.value)
    return res
