"""Crop and pad: clips to a fixed duration (`crop_pad`, the `AudioCropPad` item transform), and batches of clips of
different lengths padded to their longest (`pad_to_longest`). Padding itself is `frontend.pad_to`."""
from __future__ import annotations

import random

import numpy as np
import torch
from fasttransform import DisplayedTransform

from ..core import AudioTensor
from ..runtime.functional import pad_to, seconds_to_samples
from .compat import DispatchShortcut

__all__ = ['crop_pad', 'AudioCropPad', 'same_rate', 'pad_to_longest']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('check_crop_mode',)

#: where a clip longer than wanted is cut: a random start, its start, its centre (either spelling)
CROP_MODES = ('random', 'start', 'centre', 'center')


def check_crop_mode(mode: str):
    "A ValueError naming `mode` when it is not one of `CROP_MODES` (`crop_pad` and the batch crops of the memmap cache)."
    if mode not in CROP_MODES: raise ValueError(f"mode must be 'random', 'start' or 'centre', got {mode!r}")


def crop_pad(x: torch.Tensor, n_samples: int, *, mode: str = 'start', pad: str = 'zeros',
             rng: random.Random | None = None) -> torch.Tensor:
    """Crop or pad a waveform to exactly `n_samples`.

    Parameters
    ----------
    x : torch.Tensor
        Shape `(..., samples)`.
    n_samples : int >= 1
        The length wanted, in samples.
    mode : {'start', 'random', 'centre', 'center'}
        Where a longer clip is cut: 'start' (the first `n_samples`; the default), 'random' (a uniform random
        start, drawn from `rng` or Python's `random`, which fastai's `set_seed` seeds) or 'centre'/'center'.
    pad : {'zeros', 'repeat'}
        How a shorter clip is filled at its end: 'zeros' (silence; the default) or 'repeat' (the clip looped).
    rng : random.Random, optional
        Source of the random start for `mode='random'` (default None: Python's `random`).

    Returns
    -------
    torch.Tensor
        Shape `(..., n_samples)`; `x` itself when it already has that length.

    Raises
    ------
    ValueError
        For an `n_samples` that is not an int >= 1, or an unknown `mode` or `pad`.

    Examples
    --------
    >>> crop_pad(torch.arange(5.), 3, mode='centre')
    tensor([1., 2., 3.])
    >>> crop_pad(torch.arange(3.), 5, pad='repeat')
    tensor([0., 1., 2., 0., 1.])
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f'n_samples must be an int >= 1, got {n_samples!r}')
    check_crop_mode(mode)
    if pad not in ('zeros', 'repeat'): raise ValueError(f"pad must be 'zeros' or 'repeat', got {pad!r}")
    n = x.shape[-1]
    if n > n_samples:
        if mode == 'random': start = (rng or random).randint(0, n - n_samples)
        elif mode == 'start': start = 0
        else: start = (n - n_samples) // 2                        # centre
        return x[..., start:start + n_samples]
    return x if n == n_samples else pad_to(x, n_samples, pad)


class AudioCropPad(DispatchShortcut, DisplayedTransform):
    """Item transform: crop or pad each clip (an `AudioTensor`) to `duration` seconds.

    The number of samples is `duration` seconds at the clip's own rate. Other items pass unchanged. See
    `crop_pad`.

    Parameters
    ----------
    duration : float > 0
        Seconds per clip; 0 or less is a ValueError.
    train_mode : {'random', 'start', 'centre', 'center'}
        Where training items are cut (default 'random').
    valid_mode : {'start', 'centre', 'center', 'random'}
        Where validation and inference items are cut (default 'start', deterministic).
    pad : {'zeros', 'repeat'}
        How short clips are filled at their end (default 'zeros').

    Examples
    --------
    >>> dblock = DataBlock(blocks=(AudioBlock(sr=16000), CategoryBlock), item_tfms=AudioCropPad(2.0))   # doctest: +SKIP
    """
    order = 10

    def __init__(self, duration: float, train_mode: str = 'random', *, valid_mode: str = 'start', pad: str = 'zeros'):
        super().__init__()
        if duration <= 0: raise ValueError(f'duration must be > 0 seconds, got {duration}')
        self.duration, self.train_mode, self.valid_mode, self.pad = duration, train_mode, valid_mode, pad
        self._training = False

    def __call__(self, *args, split_idx=None, **kwargs):
        self._training = split_idx == 0
        return super().__call__(*args, split_idx=split_idx, **kwargs)

    def encodes(self, x: AudioTensor) -> AudioTensor: return self._crop(x)

    def _crop(self, x: AudioTensor) -> AudioTensor:
        n = seconds_to_samples(self.duration, x.sr, 1)
        return crop_pad(x, n, mode=self.train_mode if self._training else self.valid_mode, pad=self.pad)

    def shortcut(self, x):
        # once per item and element: fasttransform's dispatch (a bound plum function built each call) costs more
        # than the crop. The same outcome without it: an AudioTensor is cropped, anything else passes unchanged
        # (it has no `encodes` here); tuples still go through fasttransform, element by element, back here.
        return self._crop(x) if isinstance(x, AudioTensor) else x


def same_rate(samples):
    """`before_batch` check that the clips of one batch share a sample rate.

    `AudioBlock(sr=None)` keeps each file's rate, and a batch and its spectrogram need one.

    Parameters
    ----------
    samples : list of tuple
        The batch's items, `(AudioTensor, *targets)`; items whose first element has no `sr` are passed over.

    Returns
    -------
    list of tuple
        `samples`, unchanged.

    Raises
    ------
    ValueError
        Saying the rates and to pass `sr=`, when there is more than one.
    """
    rates = sorted({s[0].sr for s in samples if hasattr(s[0], 'sr')})
    if len(rates) > 1:
        raise ValueError(f'one batch holds clips at {", ".join(map(str, rates))} Hz: sr=None keeps each file\'s sample '
                         f'rate (as does resample=\'device\', until the batch transform), and a batch needs one. Pass sr= (e.g. '
                         f'sr={rates[0]}) with resample=\'host\' to resample every file to one rate as it is decoded.')
    return samples


def pad_to_longest(samples, pad: str = 'zeros'):
    """`before_batch` for clips of different lengths: pad every clip at its end to the longest one in the batch.

    Nothing is cut. Used by `AudioBlock(duration=None)`. With zeros the padding is made known downstream: the
    collated `AudioTensor` batch carries `lengths` `(batch,)`, each clip's samples before padding; spectrogram
    transforms turn it into frames, per-example normalisation ignores the padded frames, and `length_mask` gives
    a mask a model can use.

    Parameters
    ----------
    samples : list of tuple
        The batch's items, `(AudioTensor (channels, samples), *targets)`, at one sample rate.
    pad : {'zeros', 'repeat'}
        How clips are filled, as `crop_pad` (default 'zeros').

    Returns
    -------
    list of tuple
        The items, each clip `(channels, longest)`.

    Raises
    ------
    ValueError
        When the clips have more than one sample rate (see `same_rate`).
    """
    same_rate(samples)
    lengths = torch.tensor([s[0].shape[-1] for s in samples])
    n = int(lengths.max())
    out = []
    for s in samples:
        x = crop_pad(s[0], n, pad=pad)
        if pad == 'zeros': x.lengths = lengths       # batch-level metadata: collation keeps the first item's
        out.append((x, *s[1:]))
    return out
