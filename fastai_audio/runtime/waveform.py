"""Samples as the models take them: float32 `(channels, samples)` at the model's rate, downmixed to mono when
asked. One rule for every way audio arrives: `load_audio` applies it to decoded files, the demo app to what a
browser records (int16 at its own rate, often stereo).

    wave = conform_waveform(int16_samples, 48000, sr=16000, channels_last=True)    # (1, samples) float32
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ['to_float_samples', 'resample', 'conform_waveform']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('PCM16_FULL_SCALE',)

#: 16-bit PCM's full scale: sample k reads as k / 32768 (soundfile's rule, and `to_float_samples`'s)
PCM16_FULL_SCALE = 32768.0


def to_float_samples(samples) -> np.ndarray:
    """Samples as float32 in [-1, 1).

    Signed integers are divided by their full scale (2 ** (bits - 1), as soundfile reads PCM), unsigned ones
    centred first; floats are kept as they are.

    Parameters
    ----------
    samples : array-like
        Any shape, any numeric dtype.

    Returns
    -------
    numpy.ndarray
        float32, of the same shape.

    Raises
    ------
    ValueError
        For a dtype that is neither integer nor float (naming it).

    Examples
    --------
    >>> to_float_samples(np.array([-32768, 16384], dtype=np.int16)).tolist()
    [-1.0, 0.5]
    """
    a = np.asarray(samples)
    if a.dtype.kind == 'f': return a.astype(np.float32, copy=False)
    if a.dtype.kind == 'i': return (a / float(2 ** (8 * a.dtype.itemsize - 1))).astype(np.float32)
    if a.dtype.kind == 'u':
        half = float(2 ** (8 * a.dtype.itemsize - 1))
        return ((a - half) / half).astype(np.float32)
    raise ValueError(f'samples of dtype {a.dtype} are not audio: expected integer or float samples')


def resample(x: np.ndarray | torch.Tensor, orig_sr: int, sr: int, quality: str = 'HQ'):
    """Resample a waveform from `orig_sr` to `sr` Hz with soxr, on the host.

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
        Shape `(channels, samples)`.
    orig_sr : int
        Its sample rate in Hz.
    sr : int
        The sample rate wanted, in Hz.
    quality : str
        soxr's quality (default 'HQ'; 'VHQ' is slower).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Of the type of `x`, `(channels, new samples)`; `x` itself when the rates already match.
    """
    if orig_sr == sr: return x
    import soxr
    is_t = isinstance(x, torch.Tensor)
    a = x.detach().cpu().numpy() if is_t else np.asarray(x)
    y = soxr.resample(np.ascontiguousarray(a.T, dtype=np.float32), orig_sr, sr, quality=quality).T
    y = np.ascontiguousarray(y)
    return torch.from_numpy(y) if is_t else y


def conform_waveform(samples, orig_sr: int, *, sr: int | None = None, mono: bool = True, channels_last: bool = False,
                     quality: str = 'HQ') -> np.ndarray:
    """`samples` as a model takes them: float32, mono, at the model's rate.

    Converted by `to_float_samples`, downmixed by the mean of the channels, resampled from `orig_sr` to `sr` by
    `resample`.

    Parameters
    ----------
    samples : array-like
        `(samples,)` or `(channels, samples)`; `(samples, channels)` with `channels_last` (how browsers, Gradio
        and soundfile give them). Integer or float.
    orig_sr : int
        Their rate in Hz.
    sr : int or None
        The rate wanted in Hz (default None: `orig_sr`).
    mono : bool
        Average the channels into one (default True).
    channels_last : bool
        A 2-D `samples` is `(samples, channels)` (default False: `(channels, samples)`).
    quality : str
        soxr's quality (default 'HQ').

    Returns
    -------
    numpy.ndarray
        float32 `(channels, samples)`, one channel with `mono`.

    Raises
    ------
    ValueError
        For samples of more than 2 dimensions, or of a dtype that is not audio.
    """
    a = to_float_samples(samples)
    if a.ndim == 1: a = a[None]
    elif a.ndim == 2 and channels_last: a = a.T
    elif a.ndim != 2: raise ValueError(f'samples of shape {tuple(a.shape)}: expected (samples,) or (channels, samples)')
    if mono and a.shape[0] > 1: a = a.mean(axis=0, keepdims=True)
    if sr is not None: a = resample(a, int(orig_sr), int(sr), quality=quality)
    return np.ascontiguousarray(a, dtype=np.float32)
