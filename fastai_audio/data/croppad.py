"""Crop and pad: clips to a fixed duration (`crop_pad`, the `AudioCropPad` item transform), and batches of clips of
different lengths padded to their longest (`pad_to_longest`). Padding itself is `frontend.pad_to`."""
from __future__ import annotations

import random

import numpy as np
import torch
from fasttransform import DisplayedTransform

from ..core import AudioTensor
from ..runtime.functional import pad_to, seconds_to_samples

__all__ = ['crop_pad', 'AudioCropPad', 'same_rate', 'pad_to_longest']


def crop_pad(x: torch.Tensor, n_samples: int, mode: str = 'start', pad: str = 'zeros',
             rng: random.Random | None = None) -> torch.Tensor:
    """Crop or pad `x` `(..., samples)` to exactly `n_samples`.

    mode : where a longer clip is cut: 'random' (a uniform random start, drawn from `rng` or Python's
        `random`, which fastai's `set_seed` seeds), 'start' (the first `n_samples`) or 'centre'/'center'.
    pad : how a shorter clip is filled at its end: 'zeros' (silence) or 'repeat' (the clip looped).
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f'n_samples must be an int >= 1, got {n_samples!r}')
    if mode not in ('random', 'start', 'centre', 'center'):
        raise ValueError(f"mode must be 'random', 'start' or 'centre', got {mode!r}")
    if pad not in ('zeros', 'repeat'): raise ValueError(f"pad must be 'zeros' or 'repeat', got {pad!r}")
    n = x.shape[-1]
    if n > n_samples:
        if mode == 'random': start = (rng or random).randint(0, n - n_samples)
        elif mode == 'start': start = 0
        else: start = (n - n_samples) // 2                        # centre
        return x[..., start:start + n_samples]
    return x if n == n_samples else pad_to(x, n_samples, pad)


class AudioCropPad(DisplayedTransform):
    """Item transform: crop or pad each clip to `duration` seconds. Training items are cut at a random
    place (`train_mode='random'`); validation and inference items deterministically (`valid_mode`: 'start'
    or 'centre'). Short clips are padded at the end with `pad` ('zeros' or 'repeat'). See `crop_pad`."""
    order = 10

    def __init__(self, duration: float, train_mode: str = 'random', valid_mode: str = 'start', pad: str = 'zeros'):
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
        return crop_pad(x, n, self.train_mode if self._training else self.valid_mode, self.pad)

    def _do_call(self, nm, *args, **kwargs):
        # once per item and element: fasttransform's dispatch (a bound plum function built each call) costs more
        # than the crop. The same outcome without it: an AudioTensor is cropped, anything else passes unchanged
        # (it has no `encodes` here); tuples still go through fasttransform, element by element, back here.
        x = args[0]
        if nm != 'encodes' or isinstance(x, tuple) or len(args) > 1 or kwargs: return super()._do_call(nm, *args, **kwargs)
        return self._crop(x) if isinstance(x, AudioTensor) else x


def same_rate(samples):
    """`before_batch` check: the clips of one batch share a sample rate (`AudioBlock(sr=None)` keeps each file's
    rate, and a batch and its spectrogram need one); else a ValueError saying the rates and to pass `sr=`."""
    rates = sorted({s[0].sr for s in samples if hasattr(s[0], 'sr')})
    if len(rates) > 1:
        raise ValueError(f'one batch holds clips at {", ".join(map(str, rates))} Hz: sr=None keeps each file\'s sample '
                         f'rate (as does resample=\'device\', until the batch transform), and a batch needs one. Pass sr= (e.g. '
                         f'sr={rates[0]}) with resample=\'host\' to resample every file to one rate as it is decoded.')
    return samples


def pad_to_longest(samples, pad: str = 'zeros'):
    """`before_batch` for clips of different lengths: pads every clip at its end to the longest one in the
    batch (`pad`: 'zeros' or 'repeat', as `crop_pad`), so nothing is cut. Used by `AudioBlock(duration=None)`.

    With zeros the padding is made known downstream: the collated `AudioTensor` batch carries `lengths`
    `(batch,)`, each clip's samples before padding; spectrogram transforms turn it into frames, per-example
    normalisation ignores the padded frames, and `length_mask` gives a mask a model can use."""
    same_rate(samples)
    lengths = torch.tensor([s[0].shape[-1] for s in samples])
    n = int(lengths.max())
    out = []
    for s in samples:
        x = crop_pad(s[0], n, pad=pad)
        if pad == 'zeros': x.lengths = lengths       # batch-level metadata: collation keeps the first item's
        out.append((x, *s[1:]))
    return out
