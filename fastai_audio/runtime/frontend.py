"""What the model hears, in torch alone: `FrontEnd`, the description of how waveforms become the network's
input, and `FrontEndModule`, that description as an exportable module over the kernels of `functional`.

- `FrontEnd`: a frozen, typed description (rate, channels, STFT geometry, linear / mel / MFCC, power, mel band,
  dB or PCEN, stacked views and deltas as input channels, normalisation) with every default resolved, so equal computations compare equal; `to_dict` /
  `from_dict` are its part of every exported `config.json`; `mismatches` / `check_matches` name the settings
  in which two descriptions differ. The transforms layer adds `FrontEnd.batch_tfms()` (the fastai batch
  transforms computing it).
- `FrontEndModule`: a `FrontEnd` as an `nn.Module` (window, filterbank and DCT as buffers), scriptable and
  exportable, equal to the batch transforms.

This module imports torch and numpy only (never fastai): served models use it where fastai is absent.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from .functional import (PAD_MODES, WINDOWS, amplitude_to_db, dct_matrix, dft_basis, mean_std, mel_filterbank,
                         mel_frequencies, deltas, pcen, pcen_kernel, pcen_smoothing, power_spectrum, regression_delta, resample_frames,
                         seconds_to_samples, standardize, stft_dft, stft_frames, window_function)

__all__ = ['FrontEnd', 'FrontEndModule']

FORMAT_VERSION = 3          # of `FrontEnd.to_dict` (1: the v0.1 export config; 3: pcen, deltas, views, per-channel stats)
#: PCEN's settings, `functional.pcen`'s defaults (librosa's), read from its signature; and the scale of the waveform
#: it expects: integer range, so magnitudes of a [-1, 1] waveform are multiplied by 2 ** 31 (powers by 2 ** 62)
PCEN_SETTINGS = {k: p.default for k, p in inspect.signature(pcen).parameters.items()
                 if k in ('gain', 'bias', 'power', 'time_constant', 'eps')}
PCEN_INPUT_BITS = 31
DELTA_WIDTH = inspect.signature(deltas).parameters['width'].default    # frames of the regression `deltas` fits


# =========================================================================== the description
KINDS = ('linear', 'mel', 'mfcc', 'waveform')
NORMALIZE = ('dataset', 'example')


def _default_ref(kind: str) -> float | str:
    "The dB reference a front end of `kind` has unless told: 1.0 for 'mfcc' (librosa's, `MFCC`'s), else 'max'."
    return 1.0 if kind == 'mfcc' else 'max'


@dataclass(frozen=True)
class FrontEnd:
    """How waveforms become what the network sees: a frozen, typed description of the front end.

    Read by training, prediction, export, embeddings and backbones alike. The dB reference, `top_db` and
    per-example statistics are taken over each example's `(channels, rows, frames)`, never over a batch. Every
    field is checked when a description is made: an invalid value raises naming the field. `replace(**changes)`
    gives a checked variant; `to_dict()` / `from_dict()` go through JSON. A field derived from another
    (win_length and hop_length from n_fft) follows it in `replace` unless given.

    Parameters
    ----------
    name : str
        A label (presets: 'classic_2018', 'panns'...; 'custom' otherwise, the default).
    sample_rate : int > 0
        Hz the audio is loaded at (default 16000).
    n_fft : int > 0
        FFT size in samples (default 1024).
    hop_length : int > 0 or None
        Samples between frames (default None: win_length // 4).
    n_mels : int > 0
        Mel bands (kind 'mel' and 'mfcc'; default 128).
    f_min : float
        Lower mel band edge in Hz (default 0.0).
    f_max : float or None
        Upper mel band edge in Hz (default None: sample_rate / 2).
    win_length : int or None
        Window size in samples, <= n_fft (default None: n_fft), zero-padded at the centre to n_fft.
    center : bool
        Frames centred on their sample, the clip padded by n_fft // 2 with `pad_mode` (default True).
    pad_mode : str
        The edge padding when `center`: 'constant' zeros (default), 'reflect', 'replicate' or 'circular'.
    htk : bool
        HTK mel scale instead of Slaney's (default False).
    mel_norm : {'slaney', None}
        'slaney' (unit-area filters, the default) or None (unit peak).
    power : float
        2.0 power (default) or 1.0 magnitude.
    ref : 'max', float or None
        dB reference, 'max' (each example's own peak is 0 dB) or a fixed value > 0 (1.0: absolute dB). None (the
        default): the default of the kind's transform, 1.0 for 'mfcc' (as `MFCC` and librosa), 'max' otherwise
        (as `AmplitudeToDB`).
    top_db : float or None
        Clip at this many dB below each example's peak (default 80.0; None: no clip).
    normalize : {'dataset', 'example', None}
        None, 'dataset' (one `mean` and `std`, measured on a training batch when None; the default; one per input
        channel for a stacked front end) or 'example' (each example by its own two-pass statistics; not for a
        stacked front end).
    kind : {'mel', 'linear', 'mfcc', 'waveform'}
        'linear' (|STFT| rows), 'mel' (the default), 'mfcc' (`n_mfcc` orthonormal DCT-II coefficients of the dB
        mels) or 'waveform' (the network hears the samples themselves: a raw-audio network computes its own
        front end; only with to_db=False and normalize=None).
    channels : int > 0
        Audio channels the network sees (default 1: mono).
    window_fn : {'hann', 'hamming', 'rectangular'}
        The analysis window: 'hann' (periodic, default), 'hamming' or 'rectangular'.
    to_db : bool
        Convert to dB (default True; always for 'mfcc').
    amin : float or None
        Floor before the log (default None: 1e-10 power, 1e-5 magnitude).
    mean : float, tuple of float or None
        Dataset mean (normalize='dataset'; default None); a stacked front end has one per input channel.
    std : float, tuple of float or None
        Dataset standard deviation, >= 0 (normalize='dataset'; default None); as `mean`.
    eps : float
        Added to the standard deviation, >= 0 (default 1e-6).
    n_mfcc : int > 0
        Coefficients for kind 'mfcc', <= n_mels (default 20).
    pcen : bool
        Compress with per-channel energy normalisation (`functional.pcen`, librosa's settings `PCEN_SETTINGS`, on
        the values of a waveform scaled to integer range) instead of dB: robust to the gain and the channel of the
        recording chain (default False; kinds 'linear' and 'mel' with to_db=False; `power=1.0` is the usual input).
    deltas : int in {0, 1, 2}
        Stack the first (1) and second (2) time derivative of the rows (`functional.deltas` over `DELTA_WIDTH`
        frames) as further input channels (default 0: none).
    views : tuple of FrontEnd
        Further views of the same audio stacked as input channels after the deltas (default (): none): mono
        descriptions at this sample rate with as many rows and no normalisation of their own (another window or
        hop, PCEN beside dB...), each resampled along time (linear interpolation) to this front end's frames.
        A front end with deltas or views is *stacked*: mono, its network input has `input_channels` channels
        (three feed an ImageNet network without changing its first convolution), normalised per channel.

    Raises
    ------
    TypeError
        Naming the field, for a name that is not a str, a flag (center, htk, to_db) that is not a bool, or a size
        that is not a positive int.
    ValueError
        Naming the field, for any other invalid value.

    Examples
    --------
    >>> fe = FrontEnd('mine', 16000, 1024, 256, 64, f_min=20.0)
    >>> fe.n_frames(16000), fe.n_rows, fe.replace(kind='mfcc', n_mfcc=13).n_rows
    (63, 64, 13)
    """
    name: str = 'custom'
    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int | None = None
    n_mels: int = 128
    f_min: float = 0.0
    f_max: float | None = None
    win_length: int | None = None
    center: bool = True
    pad_mode: str = 'constant'
    htk: bool = False
    mel_norm: str | None = 'slaney'
    power: float = 2.0
    ref: float | str | None = None
    top_db: float | None = 80.0
    normalize: str | None = 'dataset'
    kind: str = 'mel'
    channels: int = 1
    window_fn: str = 'hann'
    to_db: bool = True
    amin: float | None = None
    mean: float | None = None
    std: float | None = None
    eps: float = 1e-6
    n_mfcc: int = 20
    pcen: bool = False
    deltas: int = 0
    views: tuple = ()

    def __post_init__(self):
        def bad(field, want, exc=ValueError): raise exc(f'FrontEnd.{field} must be {want}, got {getattr(self, field)!r}')
        def num(v): return isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v)
        if not isinstance(self.name, str): bad('name', 'a str', TypeError)
        for f in ('center', 'htk', 'to_db', 'pcen'):
            if not isinstance(getattr(self, f), bool): bad(f, 'a bool (True or False)', TypeError)
        for f in ('sample_rate', 'n_fft', 'n_mels', 'channels', 'n_mfcc'):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0: bad(f, 'a positive int', TypeError)
        if self.win_length is None: object.__setattr__(self, 'win_length', int(self.n_fft))
        if self.hop_length is None: object.__setattr__(self, 'hop_length', max(1, self.win_length // 4))
        for f in ('win_length', 'hop_length'):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0: bad(f, 'a positive int', TypeError)
        if self.win_length > self.n_fft: bad('win_length', f'<= n_fft ({self.n_fft})')
        if self.pad_mode not in PAD_MODES: bad('pad_mode', f'one of {PAD_MODES}')
        if self.window_fn not in WINDOWS: bad('window_fn', f'one of {WINDOWS}')
        if self.kind not in KINDS: bad('kind', f'one of {KINDS}')
        if self.mel_norm not in ('slaney', None): bad('mel_norm', "'slaney' or None")
        if not num(self.power) or self.power not in (1, 2): bad('power', '2.0 (power) or 1.0 (magnitude)')
        if not num(self.f_min) or (self.f_max is not None and not num(self.f_max)): bad('f_min', 'a number of Hz')
        top = self.sample_rate / 2 if self.f_max is None else self.f_max
        if not 0 <= self.f_min < top <= self.sample_rate / 2:
            bad('f_max', f'in (f_min={self.f_min}, sample_rate / 2 = {self.sample_rate / 2}] (None: sample_rate / 2)')
        if self.ref is None: object.__setattr__(self, 'ref', _default_ref(self.kind))
        if not (self.ref == 'max' or num(self.ref) and self.ref > 0): bad('ref', "'max' or a number > 0")
        if self.top_db is not None and not (num(self.top_db) and self.top_db >= 0): bad('top_db', 'None or >= 0')
        if self.amin is not None and not (num(self.amin) and self.amin > 0): bad('amin', 'None or > 0')
        if self.normalize not in (None, *NORMALIZE): bad('normalize', f"None or one of {NORMALIZE}")
        self._check_stacking(bad)
        for f in ('mean', 'std'):
            v = getattr(self, f)
            if isinstance(v, (list, tuple)):
                object.__setattr__(self, f, v := tuple(float(u) if num(u) else u for u in v))
                if not self.stacked or len(v) != self.input_channels or not all(map(num, v)):
                    bad(f, f'None, a number or (stacked front ends) {self.input_channels} numbers, one per input channel')
            elif v is not None and not num(v): bad(f, 'None or a number')
        if self.std is not None and min(np.atleast_1d(self.std)) < 0: bad('std', '>= 0')
        if not (num(self.eps) and self.eps >= 0): bad('eps', 'a number >= 0')
        if self.kind == 'waveform' and (self.to_db or self.normalize is not None):
            bad('kind', "'waveform' (the samples as they are) only with to_db=False and normalize=None")
        if self.kind == 'mfcc':
            if not self.to_db: bad('to_db', "True for kind 'mfcc' (cepstra of dB mels)")
            if self.n_mfcc > self.n_mels: bad('n_mfcc', f'<= n_mels ({self.n_mels})')
        if self.pcen and (self.to_db or self.kind not in ('linear', 'mel')):
            bad('pcen', "True only for kinds 'linear' and 'mel' with to_db=False (PCEN compresses instead of dB)")

    def _check_stacking(self, bad):
        "The rules of `deltas` and `views` (see the class docstring)."
        if isinstance(self.deltas, bool) or not isinstance(self.deltas, (int, np.integer)) or self.deltas not in (0, 1, 2):
            bad('deltas', '0, 1 or 2', TypeError if not isinstance(self.deltas, (int, np.integer)) else ValueError)
        views = self.views
        if isinstance(views, (list, tuple)):
            views = tuple(FrontEnd.from_dict(v) if isinstance(v, dict) else v for v in views)
            object.__setattr__(self, 'views', views)
        if not isinstance(views, tuple) or not all(isinstance(v, FrontEnd) for v in views):
            bad('views', 'a tuple of FrontEnd descriptions', TypeError)
        for i, v in enumerate(views):
            why = ('a waveform' if v.kind == 'waveform' else 'not mono' if v.channels != 1
                   else f'at {v.sample_rate} Hz' if v.sample_rate != self.sample_rate
                   else f'{v.n_rows} rows where this front end has {self.n_rows}' if v.n_rows != self.n_rows
                   else 'normalised by itself' if v.normalize is not None
                   else 'stacked itself' if v.stacked else None)
            if why: bad('views', f'mono views at this rate with as many rows and no normalisation; views[{i}] is {why}')
        if self.stacked:
            if self.kind == 'waveform' or self.channels != 1: bad('channels', '1 (mono) for a stacked front end, with a spectrogram kind')
            if self.normalize == 'example': bad('normalize', "None or 'dataset' for a stacked front end (stacked "
                                                             "channels are standardised per channel)")

    # ---- variants and JSON
    def replace(self, **changes) -> 'FrontEnd':
        """A checked copy with `changes`; win_length and hop_length follow a new n_fft, and ref a new kind, when
        they had their defaults."""
        if 'n_fft' in changes:
            if 'win_length' not in changes and self.win_length == self.n_fft: changes['win_length'] = None
            if 'hop_length' not in changes and self.hop_length == max(1, self.win_length // 4):
                changes['hop_length'] = None
        if 'kind' in changes and 'ref' not in changes and self.ref == _default_ref(self.kind): changes['ref'] = None
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        "Plain JSON-able fields (lists for tuples, views as their own dicts), with `format_version`."
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d['views'] = [v.to_dict() for v in self.views]
        for f in ('mean', 'std'):
            if isinstance(d[f], tuple): d[f] = list(d[f])
        return {'format_version': FORMAT_VERSION, **d}

    @classmethod
    def from_dict(cls, d: dict) -> 'FrontEnd':
        "The description `to_dict` wrote. An unknown field or a newer format raises a ValueError naming it."
        d = dict(d)
        version = d.pop('format_version', FORMAT_VERSION)
        if version > FORMAT_VERSION:
            raise ValueError(f'FrontEnd format_version {version} is newer than this code reads ({FORMAT_VERSION})')
        names = {f.name for f in dataclasses.fields(cls)}
        if 'views' in d: d['views'] = tuple(cls.from_dict(v) for v in d['views'])
        unknown = sorted(set(d) - names)
        if unknown: raise ValueError(f'FrontEnd has no field {unknown[0]!r} (fields: {", ".join(sorted(names))})')
        return cls(**d)

    # ---- derived facts
    @property
    def frame_rate(self) -> float: return self.sample_rate / self.hop_length

    @property
    def stacked(self) -> bool:
        "Whether deltas or views are stacked as input channels."
        return bool(self.deltas or self.views)

    @property
    def input_channels(self) -> int:
        "Channels of the network's input: `channels`, or for a stacked front end 1 + deltas + len(views)."
        return 1 + self.deltas + len(self.views) if self.stacked else self.channels

    @property
    def n_rows(self) -> int:
        "Rows of the output: n_fft // 2 + 1 (linear), n_mels or n_mfcc (None for 'waveform')."
        return {'linear': self.n_fft // 2 + 1, 'mel': self.n_mels, 'mfcc': self.n_mfcc}.get(self.kind)

    @property
    def scale(self) -> str:
        "'power', 'magnitude', 'db', 'pcen' or 'normalized': what the values are."
        if self.normalize is not None: return 'normalized'
        if self.to_db: return 'db'
        if self.pcen: return 'pcen'
        return 'power' if self.power == 2 else 'magnitude'

    def samples(self, seconds: float) -> int:
        "`seconds` as samples at this sample rate (`seconds_to_samples`)."
        return seconds_to_samples(seconds, self.sample_rate)

    def n_frames(self, n_samples):
        "Frames from `n_samples` samples (int or tensor), by `stft_frames` with these settings."
        if isinstance(n_samples, float):           # seconds, as 0.1 took: refused rather than read as samples
            raise TypeError(f'FrontEnd.n_frames takes samples (an int), got {n_samples!r}; for seconds use '
                            'fe.n_frames(fe.samples(seconds))')
        return stft_frames(n_samples, self.n_fft, self.hop_length, self.center)

    def bin_hz(self, n_bins: int | None = None) -> np.ndarray | None:
        "Centre frequency in Hz of each row (the first `n_bins`), or None for cepstra."
        n_bins = self.n_rows if n_bins is None else n_bins
        if self.kind == 'linear': return np.fft.rfftfreq(self.n_fft, 1.0 / self.sample_rate)[:n_bins]
        if self.kind == 'mel':
            return mel_frequencies(self.n_mels + 2, self.f_min, f_max=self.f_max or self.sample_rate / 2, htk=self.htk)[1:-1]
        return None

    def describe(self) -> str:
        """This front end in words, for people (the model card, the demo app): rate, channels, what is computed
        from what window and hop, the scale and the normalisation.

        Returns
        -------
        str
            One or two sentences, e.g. 'mono audio at 16000 Hz -> 40 mel bands (1024-point FFT, 64 ms windows
            every 256 samples = 16 ms), in dB (80 dB range), standardised by the training set's mean and
            deviation'.
        """
        audio = f"{'mono' if self.channels == 1 else f'{self.channels}-channel'} audio at {self.sample_rate} Hz"
        if self.kind == 'waveform': return f'{audio}, the samples themselves (the network computes its own features)'
        ms = lambda n: f'{1000 * n / self.sample_rate:.0f} ms'
        rows = {'mel': f'{self.n_mels} mel bands ({self.f_min:g}-{self.f_max or self.sample_rate / 2:g} Hz)',
                'linear': f'{self.n_rows} linear-frequency STFT bins',
                'mfcc': f'{self.n_mfcc} MFCCs of {self.n_mels} mel bands'}[self.kind]
        frames = (f'{self.n_fft}-point FFT, {self.window_fn} windows of {ms(self.win_length)} every '
                  f'{self.hop_length} samples = {ms(self.hop_length)}')
        if self.to_db: scale = 'in dB' + (f' ({self.top_db:g} dB range)' if self.top_db is not None else '')
        elif self.pcen: scale = 'compressed by PCEN'
        else: scale = 'as power' if self.power == 2 else 'as magnitude'
        text = f'{audio} -> {rows} ({frames}), {scale}'
        if self.deltas: text += f', with {("its first", "first and second")[self.deltas - 1]} time derivative'
        if self.views: text += f', stacked with {len(self.views)} further view(s) ({"; ".join(v.describe() for v in self.views)})'
        norm = {'dataset': "standardised by the training set's mean and deviation",
                'example': "standardised by each example's own mean and deviation"}.get(self.normalize)
        return text + (f', {norm}' if norm else '')

    def relevant_fields(self) -> list[str]:
        "The fields that change what this front end computes (mel fields mean nothing for a linear one...)."
        skip = {'name'}
        if self.kind == 'waveform': return ['sample_rate', 'channels', 'kind']
        if self.kind == 'linear': skip |= {'n_mels', 'f_min', 'f_max', 'htk', 'mel_norm'}
        if self.kind != 'mfcc': skip.add('n_mfcc')
        if not self.pcen: skip.add('pcen')
        if not self.stacked: skip |= {'deltas', 'views'}
        if not self.to_db: skip |= {'ref', 'amin', 'top_db'}
        if self.normalize != 'dataset': skip |= {'mean', 'std'}
        if self.normalize is None: skip.add('eps')
        return [f.name for f in dataclasses.fields(self) if f.name not in skip]

    def mismatches(self, expected: 'FrontEnd', ignore=('name', 'mean', 'std')) -> list[tuple[str, object, object]]:
        """(field, this value, expected value) for each field, relevant to either front end, that differs from
        `expected` (except `ignore`)."""
        names = dict.fromkeys(self.relevant_fields() + expected.relevant_fields())
        return [(f, getattr(self, f), getattr(expected, f)) for f in names
                if f not in ignore and getattr(self, f) != getattr(expected, f)]

    def check_matches(self, expected: 'FrontEnd', what: str = 'the network', ignore=('name', 'mean', 'std')):
        "Raise a ValueError naming each setting where this front end differs from the one `what` expects."
        diff = self.mismatches(expected, ignore)
        if not diff: return
        lines = '; '.join(f'{f}={ours!r} where {what} expects {want!r}' for f, ours, want in diff)
        raise ValueError(f'the DataLoaders\' front end differs from the one {what} was trained on: {lines}. Build the '
                         f'loaders with AudioBlock(sr={expected.sample_rate}, mono={expected.channels == 1}) and '
                         f'batch_tfms={expected.name if expected.name != "custom" else "its FrontEnd"}.batch_tfms()')

    def check_servable(self, what: str = 'export'):
        "Raise a ValueError when the description lacks what a served model needs (dataset statistics)."
        if self.normalize == 'dataset' and (self.mean is None or self.std is None):
            raise ValueError(f"{what}: FrontEnd.normalize='dataset' has no mean/std yet (they are measured when the "
                             'loaders are set up): give mean= and std=')

    def module(self) -> 'FrontEndModule':
        "This front end as an exportable `FrontEndModule`."
        return FrontEndModule(self)

    def librosa_kwargs(self) -> dict:
        "The STFT and mel settings as keyword arguments of `librosa.feature.melspectrogram`."
        return dict(sr=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                    n_mels=self.n_mels, fmin=self.f_min, fmax=self.f_max, center=self.center, pad_mode=self.pad_mode,
                    htk=self.htk, norm=self.mel_norm, power=self.power, window=self.window_fn if self.window_fn != 'rectangular' else 'boxcar')


# =========================================================================== the front end as a module
class FrontEndModule(nn.Module):
    """A `FrontEnd` as an `nn.Module` that TorchScript, `torch.export` and ONNX export.

    Waveforms `(batch, channels, samples)` (or `(batch, samples)` for one channel) ->
    `(batch, input_channels, rows, frames)`; a 'waveform' front end returns the samples as
    `(batch, channels, samples)`. A stacked front end computes its rows, their deltas, then each view (a
    `FrontEndModule` of its own, in `views`), resampled along time to the rows' frames when its frames can differ.
    The STFT is `stft_dft` (a strided convolution with the windowed DFT basis); the basis, mel filters and DCT
    matrix are buffers (so they travel in a state dict), built from the description unless given (a backbone's
    checkpoint may bring its own filters). The values equal the fastai batch transforms configured by the same
    description (within float32 rounding).

    Parameters
    ----------
    front_end : FrontEnd
        The description to compute.
    basis : torch.Tensor or None
        The windowed DFT basis of `stft_dft` (default None: `dft_basis(n_fft, window)` of the description).
    fbank : torch.Tensor or None
        Mel filters `(n_mels, n_fft // 2 + 1)` (default None: `mel_filterbank` of the description); read for
        kinds 'mel' and 'mfcc' only.

    Raises
    ------
    ValueError
        When `front_end.normalize` is 'dataset' without `mean` and `std` (`FrontEnd.check_servable`).
    """
    def __init__(self, front_end: FrontEnd, basis: torch.Tensor | None = None, fbank: torch.Tensor | None = None):
        super().__init__()
        fe = self.front_end = front_end
        fe.check_servable('FrontEndModule')
        self.waveform = fe.kind == 'waveform'
        if not self.waveform:
            win = window_function(fe.window_fn, fe.win_length)
            self.register_buffer('basis', (dft_basis(fe.n_fft, win) if basis is None else basis).float())
        if fe.kind in ('mel', 'mfcc'):
            if fbank is None: fbank = mel_filterbank(fe.sample_rate, fe.n_fft, n_mels=fe.n_mels, f_min=fe.f_min, f_max=fe.f_max, htk=fe.htk,
                                                     norm=fe.mel_norm, dtype=np.float64)
            self.register_buffer('fbank', fbank.float())
        if fe.kind == 'mfcc': self.register_buffer('dct', dct_matrix(fe.n_mfcc, fe.n_mels, dtype=np.float64).float())
        self.hop_length, self.center, self.pad_mode, self.power = fe.hop_length, fe.center, fe.pad_mode, float(fe.power)
        self.kind, self.to_db, self.ref, self.amin, self.top_db = fe.kind, fe.to_db, fe.ref, fe.amin, fe.top_db
        self.stype = 'power' if fe.power == 2 else 'magnitude'
        self.pcen = fe.pcen
        self.pcen_smoothing = pcen_smoothing(fe.sample_rate, fe.hop_length, PCEN_SETTINGS['time_constant'])
        self.pcen_scale = float(2 ** (PCEN_INPUT_BITS * fe.power))
        self.pcen_gain, self.pcen_bias = PCEN_SETTINGS['gain'], PCEN_SETTINGS['bias']
        self.pcen_power, self.pcen_eps = PCEN_SETTINGS['power'], PCEN_SETTINGS['eps']
        self.n_deltas, self.delta_half_width = fe.deltas, DELTA_WIDTH // 2
        self.views = nn.ModuleList([FrontEndModule(v) for v in fe.views])
        self.resample_views = [not _same_frames(v, fe) for v in fe.views]
        per_channel = isinstance(fe.mean, tuple)
        self.normalize, self.eps = fe.normalize or '', fe.eps
        self.mean, self.std = (None, None) if per_channel else (fe.mean, fe.std)
        # a stacked front end's statistics, one per channel (empty otherwise); not in the state dict: the config has them
        self.register_buffer('channel_mean', torch.tensor(fe.mean if per_channel else []).view(-1, 1, 1), persistent=False)
        self.register_buffer('channel_std', torch.tensor(fe.std if per_channel else []).view(-1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2: x = x.unsqueeze(1)
        if self.waveform: return x
        re, im = stft_dft(x, self.basis, self.hop_length, center=self.center, pad_mode=self.pad_mode)
        s = power_spectrum(re, im, self.power)
        if self.kind in ('mel', 'mfcc'): s = torch.matmul(self.fbank, s)
        if self.to_db: s = amplitude_to_db(s, self.stype, ref=self.ref, amin=self.amin, top_db=self.top_db, dims=3)
        if self.pcen: s = pcen_kernel(s * self.pcen_scale, self.pcen_smoothing, self.pcen_gain, self.pcen_bias,
                                      self.pcen_power, self.pcen_eps)
        if self.kind == 'mfcc': s = torch.matmul(self.dct, s)
        if self.n_deltas > 0 or len(self.resample_views) > 0:
            parts = [s]
            d = s
            for _ in range(self.n_deltas):
                d = regression_delta(d, self.delta_half_width)
                parts.append(d)
            for i, view in enumerate(self.views):
                v = view(x)
                if self.resample_views[i]:
                    v = resample_frames(v, s)
                parts.append(v)
            s = torch.cat(parts, dim=1)
        if self.channel_mean.numel() > 0:
            s = standardize(s, self.channel_mean.to(s.dtype), self.channel_std.to(s.dtype), self.eps)
        elif self.normalize == 'example':
            m, sd = mean_std(s)
            s = standardize(s, m, sd, self.eps)
        elif self.normalize == 'dataset': s = standardize(s, self.mean, self.std, self.eps)
        return s


def _same_frames(a: FrontEnd, b: FrontEnd) -> bool:
    "Whether `a` and `b` cut any clip into the same frames (same hop, and centred, or uncentred with one FFT size)."
    return a.hop_length == b.hop_length and a.center == b.center and (a.center or a.n_fft == b.n_fft)
