"""The fastai batch transforms of the front end: thin `Transform`s over the kernels in `frontend`.

`Spectrogram`, `MelSpectrogram`, `MFCC`, `AmplitudeToDB` and `SpecNormalize` turn a batch of `AudioTensor`s
`(batch, channels, samples)` into an `AudioSpectrogram` `(batch, channels, rows, frames)` on the batch's
device, keeping their window, filterbank and DCT matrix there once built. Each output carries, as
`settings`, the `FrontEnd` describing exactly how it was computed from the waveforms, which is what
`audio_learner` records, export rebuilds and backbones check. `front_end_tfms(fe)` gives the transforms of a
description; `get_frequency_batch_transforms` is the classic spelling of the same.

The kernels themselves (STFT, mel, DCT, dB, normalisation) live in `runtime.functional`. The defaults live
here, in each transform's `__init__`, and equal `FrontEnd`'s: a kernel has the same default for a parameter or
none (the kernels' `n_fft` has none; the transforms' is 1024). A transform takes only its first natural argument
by position (`n_fft` for `Spectrogram`, `sample_rate` for `MelSpectrogram` and `MFCC`, none for
`AmplitudeToDB`); the rest go by name, so `MelSpectrogram(512, 128)` is a TypeError when it is made.
`get_frequency_batch_transforms` reads its defaults from the `CLASSIC_2018` preset.
"""
from __future__ import annotations

import numpy as np
import torch
from fastai.torch_core import TensorImageBase
from fastcore.basics import patch
from fasttransform import DisplayedTransform

from ..core import AudioTensor
from ..backbones.presets import CLASSIC_2018
from ..runtime.frontend import FrontEnd, FrontEndModule
from ..runtime.functional import (check_db_args, check_int, check_stft_args, amplitude_to_db, dct_matrix, length_mask, masked_mean_std, mean_std, mel_filterbank, resample_batch, spectrogram, standardize, stft_frames, window_function)
from ..runtime.arguments import check_keywords, keyword_names, renamed_parameters

__all__ = ['AudioSpectrogram', 'Spectrogram', 'MelSpectrogram', 'MFCC', 'AmplitudeToDB', 'SpecNormalize', 'Resample',
           'FrontEndTransform', 'front_end_tfms', 'get_frequency_batch_transforms']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('rewrap_spectrogram',)


# --------------------------------------------------------------------------- the typed spectrogram
class AudioSpectrogram(TensorImageBase):
    """A spectrogram batch or item that remembers how it was made.

    Its `settings`, the `FrontEnd` that computed it, let it draw itself with time and frequency axes. A batch
    padded to its longest clip also carries `lengths` `(batch,)`: each clip's frames before the padding (see
    `length_mask`).

    Parameters
    ----------
    x : torch.Tensor or array-like
        The values, shape `(batch, channels, freq, frames)` or `(channels, freq, frames)`.
    **kwargs
        Metadata kept as attributes: `settings` (a `FrontEnd`), `lengths`.
    """

    @property
    def duration(self) -> float: return self.shape[-1] / self.settings.frame_rate

    def show(self, ctx=None, title=None, figsize=(4, 3), cmap='magma', colorbar=False, **kwargs):
        """Draw the first channel with time (s) along x and frequency (Hz for STFT and mel rows) along y.

        Parameters
        ----------
        ctx : matplotlib.axes.Axes, optional
            Where to draw (default None: a new figure).
        title : str, optional
            The axes' title (default None).
        figsize : tuple of float
            Size in inches of a new figure (default (4, 3)).
        cmap : str
            Matplotlib colour map (default 'magma').
        colorbar : bool
            Add a colour bar labelled with the scale (default False).
        **kwargs
            Passed to `imshow`.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        import matplotlib.pyplot as plt
        ax = ctx if ctx is not None else plt.subplots(figsize=figsize)[1]
        img = self.detach().cpu().float().reshape(-1, *self.shape[-2:])[0].numpy()
        st = getattr(self, 'settings', None)
        n_bins, n_frames = img.shape
        dur = n_frames / st.frame_rate if st is not None else n_frames
        im = ax.imshow(img, origin='lower', aspect='auto', cmap=cmap, extent=(0, dur, 0, n_bins), **kwargs)
        ax.set_xlabel('time (s)' if st is not None else 'frame')
        hz = st.bin_hz(n_bins) if st is not None else None
        if hz is None: ax.set_ylabel('coefficient' if st is not None else 'bin')
        else:
            ticks = np.linspace(0, n_bins - 1, 5).round().astype(int)
            ax.set_yticks(ticks + 0.5)
            ax.set_yticklabels([f'{hz[t] / 1000:.1f}k' if hz[t] >= 1000 else f'{hz[t]:.0f}' for t in ticks])
            ax.set_ylabel(f"{'mel ' if st.kind == 'mel' else ''}frequency (Hz)")
        if colorbar: plt.colorbar(im, ax=ax, label={'db': 'dB', 'normalized': 'standardised dB'}.get(getattr(st, 'scale', None)))
        if title is not None: ax.set_title(title)
        return ax


def rewrap_spectrogram(like: AudioSpectrogram, data: torch.Tensor, **changes) -> AudioSpectrogram:
    """`data` as an `AudioSpectrogram` carrying `like`'s metadata (settings, lengths), with `changes` applied.

    Parameters
    ----------
    like : AudioSpectrogram
        Whose metadata is kept.
    data : torch.Tensor
        The new values.
    **changes
        Metadata replaced (e.g. `settings=`).

    Returns
    -------
    AudioSpectrogram
        The wrapped values.
    """
    return AudioSpectrogram(data, **{**like.__dict__, **changes})


# --------------------------------------------------------------------------- batch transforms
class _DeviceBuffers:
    """Keeps constant tensors (window, filterbank...) built once on the CPU in float64, with one copy per device
    and dtype of the batches seen (so float64 batches get exact constants, float32 ones rounded once)."""
    def _buf(self, name: str, like: torch.Tensor) -> torch.Tensor:
        cache = self.__dict__.setdefault('_bufcache', {})
        key = (name, like.device, like.dtype)
        if key not in cache: cache[key] = getattr(self, name).to(like.device, like.dtype)
        return cache[key]

    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop('_bufcache', None)
        return d


def _check_rate(tfm, x):
    "The batch's sample rate, checked against the transform's `sample_rate` when it has one."
    sr = getattr(x, 'sr', None)
    if sr is None:
        raise ValueError(f'{type(tfm).__name__} needs an AudioTensor with a sample rate (`sr`), got {type(x).__name__}')
    if tfm.sample_rate is not None and sr != tfm.sample_rate:
        raise ValueError(f'{type(tfm).__name__} was configured for sr={tfm.sample_rate} Hz but the batch '
                         f'is at {sr} Hz: load the audio at {tfm.sample_rate} Hz (e.g. AudioBlock(sr='
                         f'{tfm.sample_rate})) or change sr')
    return sr


def _plain(x: torch.Tensor) -> torch.Tensor: return x.as_subclass(torch.Tensor)


class Spectrogram(_DeviceBuffers, DisplayedTransform):
    """Batch transform: `AudioTensor` -> `AudioSpectrogram` of |STFT|**power, on the batch's device.

    `(batch, channels, samples)` -> `(batch, channels, n_fft // 2 + 1, frames)` (`frontend.spectrogram`).
    Only `n_fft` is positional (the rest by name: `Spectrogram(512, 128)` is a TypeError, not a hop of 128).

    Parameters
    ----------
    n_fft : int > 0
        FFT size (default 1024).
    hop_length : int > 0, optional
        Samples between frames (default None: `win_length // 4`).
    win_length : int, optional
        Window size, <= n_fft (default None: n_fft).
    power : float
        2.0 power (default), 1.0 magnitude.
    center : bool
        As `frontend.stft` (default True: centred, any clip of at least 1 sample works; frames as
        `n_frames`).
    pad_mode : str
        As `frontend.stft` (default 'constant').
    sr : int, optional
        Hz the batches must be at (default None: any; checked when given; kept as `.sample_rate`).
    window_fn : {'hann', 'hamming', 'rectangular'}
        The analysis window (default 'hann', periodic).

    Raises
    ------
    ValueError
        For bad settings, naming them, here rather than on the first batch; on a batch, when it has no sample
        rate or is not at `sr`.

    Examples
    --------
    >>> Spectrogram(512, hop_length=128)(AudioTensor(torch.zeros(2, 1, 16000), sr=16000)).shape
    torch.Size([2, 1, 257, 126])
    """
    order = 50
    keeps_time = True      # frames stay where the samples were: SED targets follow (data.sed)
    _kind = 'linear'

    @renamed_parameters(sample_rate='sr')
    def __init__(self, n_fft: int = 1024, *, hop_length: int | None = None, win_length: int | None = None,
                 power: float = 2.0, center: bool = True, pad_mode: str = 'constant', sr: int | None = None,
                 window_fn: str = 'hann'):
        super().__init__()
        self.n_fft, self.win_length = n_fft, n_fft if win_length is None else win_length
        self.hop_length = max(1, self.win_length // 4) if hop_length is None else hop_length
        check_stft_args(n_fft, self.hop_length, self.win_length, pad_mode)
        if power not in (1.0, 2.0): raise ValueError(f'power must be 1 (magnitude) or 2 (power), got {power}')
        if sr is not None and not sr > 0:
            raise ValueError(f'sr must be > 0 Hz or None, got {sr}')
        self.power, self.center, self.pad_mode, self.sample_rate = power, center, pad_mode, sr
        self.window_fn = window_fn
        self.stft_window = window_function(window_fn, self.win_length)

    def _spec(self, x: torch.Tensor, sr: int) -> torch.Tensor:
        return spectrogram(x, self.n_fft, hop_length=self.hop_length, win_length=self.win_length, window=self._buf('stft_window', x), center=self.center,
                           pad_mode=self.pad_mode, power=self.power)

    @renamed_parameters(sample_rate='sr')
    def describe(self, sr: int, channels: int = 1) -> FrontEnd:
        """The `FrontEnd` this transform computes for batches at `sr` Hz with `channels` channels.

        Parameters
        ----------
        sr : int
            Sample rate of the batches in Hz.
        channels : int
            Audio channels of the batches (default 1).

        Returns
        -------
        FrontEnd
            The description.
        """
        return FrontEnd(sample_rate=int(sr), n_fft=self.n_fft, hop_length=self.hop_length,
                        win_length=self.win_length, center=self.center, pad_mode=self.pad_mode, power=float(self.power),
                        kind=self._kind, channels=int(channels), window_fn=self.window_fn, to_db=self._kind == 'mfcc',
                        normalize=None,
                        **self._extra())

    def _extra(self) -> dict: return {}

    def n_frames(self, n_samples):
        """Frames computed from `n_samples` samples: `stft_frames` with these settings.

        Parameters
        ----------
        n_samples : int or torch.Tensor
            Samples of a clip, or of each clip.

        Returns
        -------
        int or torch.Tensor
            The frames, as `n_samples`.
        """
        return stft_frames(n_samples, self.n_fft, self.hop_length, self.center)

    def encodes(self, x: AudioTensor) -> AudioSpectrogram:
        sr = _check_rate(self, x)
        out = AudioSpectrogram(self._spec(_plain(x), sr), settings=self.describe(sr, x.shape[-2] if x.ndim > 1 else 1))
        lengths = getattr(x, 'lengths', None)
        if lengths is not None: out.lengths = self.n_frames(lengths).clamp(1, out.shape[-1])
        return out


class MelSpectrogram(Spectrogram):
    """Batch transform: `AudioTensor` -> mel `AudioSpectrogram`, on the batch's device.

    `(batch, channels, samples)` -> `(batch, channels, n_mels, frames)`: the `Spectrogram` projected on
    `frontend.mel_filterbank`. Only `sample_rate` is positional: `MelSpectrogram(512, 128)` is a TypeError when
    it is made (it used to fail at the first batch), `MelSpectrogram(16000, n_fft=512)` works.

    Parameters
    ----------
    sr : int, optional
        Hz of the batches; the filterbank is built for it (default None: taken from each batch).
    n_fft : int > 0
        FFT size (default 1024).
    hop_length : int > 0, optional
        Samples between frames (default None: `win_length // 4`).
    n_mels : int
        Number of mel bands (default 128).
    f_min : float
        Lower band edge in Hz (default 0).
    f_max : float, optional
        Upper band edge in Hz (default None: sr / 2).
    win_length : int, optional
        Window size, <= n_fft (default None: n_fft).
    power : float
        2.0 power (default), 1.0 magnitude.
    center : bool
        As `Spectrogram` (default True).
    pad_mode : str
        As `Spectrogram` (default 'constant').
    htk : bool
        Mel scale: HTK's, or Slaney's (default False: Slaney scale, as librosa).
    norm : str, optional
        Filter normalisation (default 'slaney', as librosa).
    window_fn : {'hann', 'hamming', 'rectangular'}
        The analysis window (default 'hann').

    Raises
    ------
    ValueError
        For bad settings, naming them.
    """
    _kind = 'mel'

    @renamed_parameters(sample_rate='sr')
    def __init__(self, sr: int | None = None, *, n_fft: int = 1024, hop_length: int | None = None,
                 n_mels: int = 128, f_min: float = 0.0, f_max: float | None = None, win_length: int | None = None,
                 power: float = 2.0, center: bool = True, pad_mode: str = 'constant', htk: bool = False,
                 norm: str | None = 'slaney', window_fn: str = 'hann'):
        super().__init__(n_fft, hop_length=hop_length, win_length=win_length, power=power, center=center,
                         pad_mode=pad_mode, sr=sr, window_fn=window_fn)
        check_int('n_mels', n_mels)
        self.n_mels, self.f_min, self.f_max, self.htk, self.norm = n_mels, f_min, f_max, htk, norm
        self._fbank_sr = None
        if sr is not None: self._make_fbank(sr)

    def _make_fbank(self, sr):
        self.fbank, self._fbank_sr = mel_filterbank(sr, self.n_fft, n_mels=self.n_mels, f_min=self.f_min, f_max=self.f_max,
                                                    htk=self.htk, norm=self.norm, dtype=np.float64), sr
        self.__dict__.pop('_bufcache', None)

    def _spec(self, x, sr):
        if self._fbank_sr != sr: self._make_fbank(sr)
        return torch.matmul(self._buf('fbank', x), super()._spec(x, sr))

    def _extra(self):
        return dict(n_mels=self.n_mels, f_min=float(self.f_min), f_max=None if self.f_max is None else float(self.f_max),
                    htk=self.htk, mel_norm=self.norm)


class AmplitudeToDB(DisplayedTransform):
    """Batch transform: power or magnitude `AudioSpectrogram` -> dB (`frontend.amplitude_to_db`).

    The reference and the `top_db` clipping are taken over each example's `(channels, rows, frames)`, never
    over a batch. All arguments by name, in `amplitude_to_db`'s order.

    Parameters
    ----------
    ref : 'max' or float
        'max' (default: each example's own peak is 0 dB) or a fixed reference such as 1.0.
    amin : float, optional
        Floor before the log (default None: 1e-10 for power, 1e-5 for magnitude), so silence gives finite dB.
    top_db : float, optional
        Clip this many dB below the peak (default 80; None: no clip).

    Raises
    ------
    ValueError
        For bad settings, naming them.
    """
    order = 60
    keeps_time = True

    def __init__(self, *, ref: float | str = 'max', amin: float | None = None, top_db: float | None = 80.0):
        super().__init__()
        check_db_args(ref, top_db, amin)
        self.ref, self.amin, self.top_db = ref, amin, top_db

    def encodes(self, x: AudioSpectrogram) -> AudioSpectrogram:
        st = x.settings
        if st.to_db or st.normalize is not None: return x
        db = amplitude_to_db(_plain(x), 'power' if st.power == 2 else 'magnitude', ref=self.ref, amin=self.amin,
                             top_db=self.top_db, dims=x.ndim - 1)
        return rewrap_spectrogram(x, db, settings=st.replace(to_db=True, ref=self.ref, top_db=self.top_db, amin=self.amin))


class MFCC(MelSpectrogram):
    """Batch transform: `AudioTensor` -> `AudioSpectrogram` of MFCCs, on the batch's device.

    `(batch, channels, samples)` -> `(batch, channels, n_mfcc, frames)`: orthonormal DCT-II
    (`frontend.dct_matrix`) of the dB mel spectrogram, as `librosa.feature.mfcc` (`ref=1.0`, `top_db=80`,
    taken per example). Only `sample_rate` is positional.

    Parameters
    ----------
    sr : int, optional
        Hz of the batches (default None: taken from each batch).
    n_mfcc : int
        Coefficients kept, 1 <= n_mfcc <= n_mels (default 20).
    n_fft : int > 0
        FFT size (default 1024).
    hop_length : int > 0, optional
        Samples between frames (default None: `win_length // 4`).
    n_mels : int
        Mel bands (default 128).
    ref : float or 'max'
        dB reference (default 1.0, as librosa).
    top_db : float, optional
        Clip this many dB below each example's peak (default 80; None: no clip).
    amin : float, optional
        Floor before the log (default None: 1e-10 for power, 1e-5 for magnitude).
    **mel_kw
        The other arguments of `MelSpectrogram` (`f_min`, `f_max`, `htk`, `norm`, `power`...).

    Raises
    ------
    ValueError
        For bad settings, naming them.
    """
    _kind = 'mfcc'

    @renamed_parameters(sample_rate='sr')
    def __init__(self, sr: int | None = None, *, n_mfcc: int = 20, n_fft: int = 1024,
                 hop_length: int | None = None, n_mels: int = 128, ref: float | str = 1.0,
                 top_db: float | None = 80.0, amin: float | None = None, **mel_kw):
        super().__init__(sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, **mel_kw)
        check_db_args(ref, top_db, amin)
        self.n_mfcc, self.ref, self.top_db, self.amin = n_mfcc, ref, top_db, amin
        self.dct = dct_matrix(n_mfcc, n_mels, dtype=np.float64)             # checks 1 <= n_mfcc <= n_mels

    def _spec(self, x, sr):
        mel = super()._spec(x, sr)
        scale = 'power' if self.power == 2 else 'magnitude'
        db = amplitude_to_db(mel, scale, ref=self.ref, amin=self.amin, top_db=self.top_db, dims=mel.ndim - 1)
        return torch.matmul(self._buf('dct', x), db)

    def _extra(self):
        return dict(super()._extra(), n_mfcc=self.n_mfcc, ref=self.ref, top_db=self.top_db, amin=self.amin)


class Resample(DisplayedTransform):
    """Batch transform: waveform batches `(batch, channels, samples)` to `sr` Hz on their device.

    Band-limited (`frontend.resample_batch`), before any augmentation or spectrogram (`order` 5). A padded
    batch's `lengths` are scaled to the new rate. `AudioBlock(resample='device')` adds it, decoding the files
    at their own rate.

    Parameters
    ----------
    sr : int
        The target sample rate in Hz.
    half_width : int
        Sets the resampling filter's length and quality (default 16).

    Raises
    ------
    ValueError
        If `sr` is not a positive int.
    """
    order = 5
    keeps_time = True

    def __init__(self, sr: int, half_width: int = 16):
        super().__init__()
        check_int('sr', sr)
        self.sr, self.half_width = sr, half_width

    def encodes(self, x: AudioTensor) -> AudioTensor:
        if x.sr == self.sr: return x
        y = AudioTensor(resample_batch(x.as_subclass(torch.Tensor), int(x.sr), self.sr, self.half_width), sr=self.sr)
        lengths = getattr(x, 'lengths', None)
        if lengths is not None: y.lengths = -(-lengths * self.sr // int(x.sr))
        return y


class FrontEndTransform(DisplayedTransform):
    """Batch transform: `AudioTensor` -> `AudioSpectrogram` computed by a `FrontEnd`'s own `FrontEndModule`.

    The transform of the front ends the step-by-step transforms do not spell out (PCEN, stacked deltas and
    views): the very module export serves, on the batch's device, so training, `learn.predict` and every export
    format compute the same thing. Normalisation is left to a `SpecNormalize` after it.

    Parameters
    ----------
    front_end : FrontEnd
        The description, with `normalize=None` (its statistics are `SpecNormalize`'s).

    Raises
    ------
    ValueError
        For a description that normalises, or a batch at another sample rate.
    """
    order = 50
    keeps_time = True

    def __init__(self, front_end: FrontEnd):
        super().__init__()
        if front_end.normalize is not None:
            raise ValueError('FrontEndTransform computes a front end before normalisation: give it normalize=None '
                             'and put a SpecNormalize after it (front_end_tfms does)')
        self.front_end, self.sample_rate = front_end, front_end.sample_rate
        self.module = FrontEndModule(front_end)

    def encodes(self, x: AudioTensor) -> AudioSpectrogram:
        _check_rate(self, x)
        m = self.module
        if m.basis.device != x.device: m = self.module = m.to(x.device)
        with torch.no_grad(): y = m(_plain(x).float() if x.dtype != torch.float64 else _plain(x))
        out = AudioSpectrogram(y, settings=self.front_end)
        lengths = getattr(x, 'lengths', None)
        if lengths is not None: out.lengths = self.front_end.n_frames(lengths).clamp(1, out.shape[-1])
        return out


class SpecNormalize(DisplayedTransform):
    """Batch transform: standardise an `AudioSpectrogram` to zero mean and unit variance.

    (`frontend.standardize`), which is what pretrained ImageNet networks expect of each (summed) input
    channel; a stacked front end's channels (deltas, views: `FrontEnd.stacked`) are standardised each by its
    own statistics. `decodes` undoes it for display.

    Parameters
    ----------
    mean : float or tuple of float, optional
        The dataset mean (one per channel for a stacked front end); when not given it is measured on one
        training batch at set-up, as fastai's `Normalize` does.
    std : float or tuple of float, optional
        The dataset standard deviation, measured with `mean` when not given.
    per_example : bool
        Standardise each example by its own two-pass statistics (`frontend.mean_std`), over its real frames
        only when the batch carries `lengths` (default False). A constant example (silence in dB) or one of a
        single value has standard deviation 0 and comes out as zeros.
    eps : float
        Added to the standard deviation (default 1e-6).

    Raises
    ------
    TypeError
        At set-up, if the batches are not spectrograms.
    ValueError
        On a batch, if there are no statistics (neither given nor set up on data).
    """
    order = 70
    keeps_time = True

    def __init__(self, mean: float | None = None, *, std: float | None = None, per_example: bool = False,
                 eps: float = 1e-6):
        super().__init__()
        self.mean, self.std, self.per_example, self.eps = mean, std, per_example, eps

    def setups(self, dl):
        if self.per_example or (self.mean is not None and self.std is not None): return
        x = dl.one_batch()[0]
        if not isinstance(x, AudioSpectrogram):
            raise TypeError('SpecNormalize measures its statistics on spectrograms: put a Spectrogram, '
                            'MelSpectrogram or MFCC transform before it in batch_tfms')
        st = getattr(x, 'settings', None)
        if st is not None and st.stacked:                      # one mean and deviation per stacked channel
            v = _plain(x).transpose(0, 1).reshape(x.shape[1], -1)
            self.mean, self.std = tuple(map(float, v.mean(1))), tuple(map(float, v.std(1)))
        else: self.mean, self.std = float(x.mean()), float(x.std())

    def _stats(self, x: torch.Tensor):
        "The statistics as numbers, or as `(channels, 1, 1)` tensors on `x`'s device for per-channel ones."
        if not isinstance(self.mean, (tuple, list)): return self.mean, self.std
        def col(v): return torch.tensor(v, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        return col(self.mean), col(self.std)

    def encodes(self, x: AudioSpectrogram) -> AudioSpectrogram:
        st = getattr(x, 'settings', None)
        if self.per_example:
            lengths = getattr(x, 'lengths', None)
            if lengths is None: m, s = mean_std(_plain(x))
            else: m, s = masked_mean_std(_plain(x), length_mask(lengths, x.shape[-1]))
            out = standardize(x, m, s, self.eps)
        else:
            if self.mean is None: raise ValueError('SpecNormalize has no statistics: pass mean/std or set it up on data')
            out = standardize(x, *self._stats(x), self.eps)
        if st is not None:
            def plain(v): return None if self.per_example else tuple(v) if isinstance(v, (tuple, list)) else float(v)
            out.settings = st.replace(normalize='example' if self.per_example else 'dataset', eps=float(self.eps),
                                      mean=plain(self.mean), std=plain(self.std))
        return out

    def decodes(self, x: AudioSpectrogram) -> AudioSpectrogram:
        if self.per_example or self.mean is None: return x
        mean, std = self._stats(x)
        return x * (std + self.eps) + mean


def front_end_tfms(fe: FrontEnd) -> list:
    """The batch transforms computing `fe`, for `batch_tfms=`.

    Parameters
    ----------
    fe : FrontEnd
        The front end's description.

    Returns
    -------
    list of Transform
        `Spectrogram`, `MelSpectrogram` or `MFCC`, then `AmplitudeToDB` (when `fe.to_db`, kinds 'linear' and
        'mel'), then `SpecNormalize` (when `fe.normalize`); for PCEN or a stacked front end, `FrontEndTransform`
        then `SpecNormalize`; none for kind 'waveform' (the network hears the samples).
    """
    if fe.kind == 'waveform': return []
    if fe.pcen or fe.stacked:
        tfms = [FrontEndTransform(fe.replace(normalize=None, mean=None, std=None))]
        if fe.normalize: tfms.append(SpecNormalize(fe.mean, std=fe.std, eps=fe.eps))
        return tfms
    stft = dict(n_fft=fe.n_fft, hop_length=fe.hop_length, win_length=fe.win_length, power=fe.power, center=fe.center,
                pad_mode=fe.pad_mode, window_fn=fe.window_fn)
    mel = dict(n_mels=fe.n_mels, f_min=fe.f_min, f_max=fe.f_max, htk=fe.htk, norm=fe.mel_norm)
    if fe.kind == 'linear': tfms = [Spectrogram(sr=fe.sample_rate, **stft)]
    elif fe.kind == 'mel': tfms = [MelSpectrogram(fe.sample_rate, **stft, **mel)]
    else: tfms = [MFCC(fe.sample_rate, n_mfcc=fe.n_mfcc, ref=fe.ref, top_db=fe.top_db, amin=fe.amin, **stft, **mel)]
    if fe.to_db and fe.kind != 'mfcc': tfms.append(AmplitudeToDB(ref=fe.ref, top_db=fe.top_db, amin=fe.amin))
    if fe.normalize: tfms.append(SpecNormalize(fe.mean, std=fe.std, per_example=fe.normalize == 'example', eps=fe.eps))
    return tfms


@renamed_parameters(sample_rate='sr')
def get_frequency_batch_transforms(n_fft: int = CLASSIC_2018.n_fft, *, hop_length: int = CLASSIC_2018.hop_length,
                                   n_mels: int = CLASSIC_2018.n_mels, sr: int = CLASSIC_2018.sample_rate,
                                   f_min: float = CLASSIC_2018.f_min, f_max: float | None = None,
                                   top_db: float | None = CLASSIC_2018.top_db,
                                   normalize: str | None = CLASSIC_2018.normalize, mfcc: int | None = None,
                                   ref: float | str | None = None, **mel_kw) -> list:
    """The batch transforms that turn waveforms into normalised log-mel spectrograms (or MFCCs).

    For `batch_tfms`: `front_end_tfms` of the `FrontEnd` these arguments describe. The defaults are the
    `CLASSIC_2018` preset's, read from it (called without arguments, this is `CLASSIC_2018.batch_tfms()`).

    Parameters
    ----------
    n_fft : int
        FFT size (the classic 1024).
    hop_length : int
        Hop in samples (the classic 256).
    n_mels : int
        Mel bands (the classic 40).
    sr : int
        Hz the audio is loaded at (16000).
    f_min : float
        Lower mel band edge in Hz (20, the preset's).
    f_max : float, optional
        Upper mel band edge in Hz (8000, the preset's; None: the preset's at its rate, else sr / 2).
    top_db : float, optional
        Clip this many dB below each clip's peak (the preset's 80; None: no clip).
    normalize : {'dataset', 'example', None}
        'dataset' (statistics from a training batch; the default), 'example' (each clip by itself) or None.
    mfcc : int, optional
        If an int, that many MFCCs instead of log-mel bands (default None).
    ref : 'max' or float, optional
        dB reference: 'max' (each clip's peak is 0 dB; the default for log-mels) or a fixed power (1.0, the
        default for MFCCs, as librosa: `FrontEnd`'s default for the kind).
    **mel_kw
        Other keywords (win_length, center, pad_mode, htk, norm, power, window_fn) are `MelSpectrogram`'s.

    Returns
    -------
    list of Transform
        The transforms, as `front_end_tfms`.

    Raises
    ------
    ValueError
        For a `normalize` other than 'dataset', 'example' or None.
    TypeError
        For a keyword it does not take, naming the nearest known one.

    Examples
    --------
    >>> [type(t).__name__ for t in get_frequency_batch_transforms()]
    ['MelSpectrogram', 'AmplitudeToDB', 'SpecNormalize']
    """
    if normalize not in ('dataset', 'example', None):
        raise ValueError(f"normalize must be 'dataset', 'example' or None, got {normalize!r}")
    check_keywords(mel_kw, 'get_frequency_batch_transforms', {'win_length', 'center', 'pad_mode', 'htk', 'norm', 'power',
                                                              'window_fn'} | keyword_names(get_frequency_batch_transforms))
    if 'norm' in mel_kw: mel_kw['mel_norm'] = mel_kw.pop('norm')
    if 'power' in mel_kw: mel_kw['power'] = float(mel_kw['power'])
    if f_max is None and sr == CLASSIC_2018.sample_rate: f_max = CLASSIC_2018.f_max
    fe = CLASSIC_2018.replace(name='custom', sample_rate=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                              f_min=f_min, f_max=f_max, top_db=top_db, normalize=normalize,
                              kind='mfcc' if mfcc else 'mel', ref=ref, **({'n_mfcc': mfcc} if mfcc else {}), **mel_kw)
    return front_end_tfms(fe)


@patch
def batch_tfms(self: FrontEnd, **overrides) -> list:
    """The fastai batch transforms computing this front end, for `batch_tfms=`.

    A method of `FrontEnd` once the transforms layer is imported.

    Parameters
    ----------
    **overrides
        Fields of the description replaced first.

    Returns
    -------
    list of Transform
        `front_end_tfms` of the description with `overrides` replaced.
    """
    return front_end_tfms(self.replace(**overrides) if overrides else self)
