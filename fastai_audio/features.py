"""Spectral features: STFT, mel, dB, MFCC and normalisation.

Pure functions work on tensors shaped `(..., time)` (waveforms) or `(..., freq, frames)` (spectrograms) on
any device. The batch transforms (`Spectrogram`, `MelSpectrogram`, `MFCC`, `AmplitudeToDB`,
`SpecNormalize`) are thin fastai `Transform`s around them: they turn a batch of `AudioTensor`s
`(batch, channels, samples)` into an `AudioSpectrogram` `(batch, channels, freq, frames)` on the batch's
device, keeping their window, filterbank and DCT matrix there once built.

Configured alike (centre=True, pad_mode='constant', periodic Hann window, Slaney mel scale and
normalisation, power=2) the results match `librosa.stft`, `librosa.feature.melspectrogram`,
`librosa.power_to_db` and `librosa.feature.mfcc`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from fastai.torch_core import TensorImageBase
from fasttransform import DisplayedTransform

from .core import AudioTensor

__all__ = ['hz_to_mel', 'mel_to_hz', 'mel_frequencies', 'mel_filterbank', 'dct_matrix', 'stft_frames', 'stft', 'spectrogram',
           'melspectrogram', 'amplitude_to_db', 'mfcc', 'SpecSettings', 'AudioSpectrogram', 'Spectrogram',
           'MelSpectrogram', 'MFCC', 'AmplitudeToDB', 'SpecNormalize', 'get_frequency_batch_transforms', 'length_mask',
           'masked_mean_std']


# --------------------------------------------------------------------------- mel scale and filterbanks
_F_SP, _MIN_LOG_HZ, _MIN_LOG_MEL, _LOGSTEP = 200.0 / 3, 1000.0, 15.0, math.log(6.4) / 27.0


def hz_to_mel(f, htk: bool = False):
    """Frequencies in Hz to mels. Slaney's scale (default) is linear below 1 kHz (3 bins per 200 Hz) and
    logarithmic above; `htk=True` uses 2595 * log10(1 + f / 700). Accepts floats or numpy arrays."""
    f = np.asarray(f, dtype=np.float64)
    if htk: return 2595.0 * np.log10(1.0 + f / 700.0)
    lin = f / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(m, htk: bool = False):
    "Mels to Hz, the inverse of `hz_to_mel` on the same scale."
    m = np.asarray(m, dtype=np.float64)
    if htk: return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    lin = m * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, lin)


def mel_frequencies(n_mels: int, f_min: float = 0.0, f_max: float = 11025.0, htk: bool = False) -> np.ndarray:
    "`n_mels` frequencies in Hz, equally spaced on the mel scale from `f_min` to `f_max` (both included)."
    return mel_to_hz(np.linspace(hz_to_mel(f_min, htk), hz_to_mel(f_max, htk), n_mels), htk)


def mel_filterbank(sr: int, n_fft: int, n_mels: int = 128, f_min: float = 0.0, f_max: float | None = None,
                   htk: bool = False, norm: str | None = 'slaney', dtype=None) -> torch.Tensor:
    """Triangular mel filters as a float32 (or numpy `dtype`) tensor of shape `(n_mels, n_fft // 2 + 1)`.

    Filter i rises from mel point i to i+1 and falls to i+2, over `n_mels + 2` points equally spaced in mels
    between `f_min` and `f_max` Hz (default `sr / 2`). `norm='slaney'` scales each triangle to unit area
    (2 / bandwidth in Hz), so a mel band is an average rather than a sum of power; None leaves peaks at 1.
    `sr`, `n_fft` and `n_mels` must be > 0 and the band wide enough for distinct edges (else a ValueError).
    A band narrower than the FFT bins' spacing (many mels on a small `n_fft`) catches no bin and is all zeros,
    as in librosa.
    """
    if not sr > 0: raise ValueError(f'sr must be > 0 Hz, got {sr}')
    _check_int('n_fft', n_fft)
    _check_int('n_mels', n_mels)
    f_max = sr / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sr / 2 + 1e-6:
        raise ValueError(f'need 0 <= f_min < f_max <= sr/2, got f_min={f_min}, f_max={f_max}, sr={sr}')
    fft_hz = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    pts = mel_frequencies(n_mels + 2, f_min, f_max, htk)
    width = np.diff(pts)
    if not (width > 0).all():            # edges that coincide in float64 would give 0 / 0 = NaN weights
        raise ValueError(f'f_min={f_min} and f_max={f_max} Hz are too close for n_mels={n_mels} distinct mel bands')
    dist = pts[:, None] - fft_hz[None, :]                 # (n_mels+2, n_freqs): point minus bin frequency
    rising = -dist[:-2] / width[:-1, None]
    falling = dist[2:] / width[1:, None]
    w = np.maximum(0.0, np.minimum(rising, falling))
    if norm == 'slaney': w *= (2.0 / (pts[2:] - pts[:-2]))[:, None]
    elif norm is not None: raise ValueError(f"norm must be 'slaney' or None, got {norm!r}")
    return torch.from_numpy(w.astype(np.float32 if dtype is None else dtype))


def dct_matrix(n_mfcc: int, n_mels: int, norm: str | None = 'ortho', dtype=None) -> torch.Tensor:
    """DCT-II basis of shape `(n_mfcc, n_mels)`: row k is cos(pi * k * (2n + 1) / (2 * n_mels)).
    `norm='ortho'` makes the full matrix orthonormal (as scipy's `dct(type=2, norm='ortho')`).
    Needs 1 <= n_mfcc <= n_mels (else a ValueError)."""
    _check_int('n_mels', n_mels)
    _check_int('n_mfcc', n_mfcc)
    if n_mfcc > n_mels: raise ValueError(f'n_mfcc ({n_mfcc}) cannot exceed n_mels ({n_mels})')
    n = np.arange(n_mels)[None, :]
    k = np.arange(n_mfcc)[:, None]
    d = np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels))
    if norm == 'ortho':
        d *= np.sqrt(2.0 / n_mels)
        d[0] /= np.sqrt(2.0)
    elif norm is None: d *= 2.0
    else: raise ValueError(f"norm must be 'ortho' or None, got {norm!r}")
    return torch.from_numpy(d.astype(np.float32 if dtype is None else dtype))


# --------------------------------------------------------------------------- spectrograms
_PAD_MODES = ('constant', 'reflect', 'replicate', 'circular')


def _check_int(name: str, value, low: int = 1):
    "Raise a ValueError naming `name` unless `value` is an int >= `low`."
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f'{name} must be an int >= {low}, got {value!r}')


def _check_stft_args(n_fft, hop_length, win_length, pad_mode):
    "Validate STFT settings (`hop_length`, `win_length` already defaulted), naming the culprit in a ValueError."
    _check_int('n_fft', n_fft)
    _check_int('win_length', win_length)
    _check_int('hop_length', hop_length)
    if win_length > n_fft: raise ValueError(f'win_length must be <= n_fft ({n_fft}), got {win_length}')
    if pad_mode not in _PAD_MODES: raise ValueError(f'pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}')


def _edge_pad(x: torch.Tensor, pad: int, mode: str) -> torch.Tensor:
    """`x` `(..., time)` extended by `pad` samples on both sides as `numpy.pad` does ('reflect', 'replicate' =
    numpy's 'edge', 'circular' = numpy's 'wrap'), for any length: a clip shorter than `pad` is reflected or
    wrapped again and again (a 1-sample clip is repeated), where `torch.nn.functional.pad` would refuse."""
    n = x.shape[-1]
    idx = torch.arange(-pad, n + pad, device=x.device)
    if mode == 'replicate': idx = idx.clamp(0, n - 1)
    elif mode == 'circular': idx = idx % n
    elif n == 1: idx = torch.zeros_like(idx)
    else:
        idx = idx % (2 * (n - 1))
        idx = torch.where(idx >= n, 2 * (n - 1) - idx, idx)
    return x.index_select(-1, idx)


def stft_frames(n_samples, n_fft: int, hop_length: int, center: bool = True):
    """Frames `stft` gives for `n_samples` samples (int or tensor): 1 + (n + 2 * (n_fft // 2) - n_fft) // hop
    centred (1 + n // hop for an even n_fft), else 1 + (n - n_fft) // hop."""
    if center: return 1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length
    return 1 + (n_samples - n_fft) // hop_length


def stft(x: torch.Tensor, n_fft: int = 2048, hop_length: int | None = None, win_length: int | None = None,
         window: torch.Tensor | None = None, center: bool = True, pad_mode: str = 'constant') -> torch.Tensor:
    """Short-time Fourier transform of `x` `(..., time)`: complex tensor `(..., n_fft // 2 + 1, frames)`.

    hop_length defaults to `win_length // 4` (at least 1); win_length to `n_fft`; window to a periodic Hann
    window of `win_length` (zero-padded to `n_fft` at the centre). With `center=True` frame t is centred on
    sample `t * hop_length` and the signal is padded by `n_fft // 2` on both sides with `pad_mode`: 'constant'
    (zeros, as librosa >= 0.10), 'reflect' (as torchaudio), 'replicate' or 'circular', extended as `numpy.pad`
    (so as librosa) even for clips shorter than the padding. frames = 1 + (time + 2 * (n_fft // 2) - n_fft)
    // hop_length centred, i.e. 1 + time // hop_length for an even n_fft; 1 + (time - n_fft) // hop_length not.
    Any clip of at least 1 sample works centred; `center=False` needs at least `n_fft` samples. Bad settings
    or a too-short clip raise a ValueError naming the setting.
    """
    win_length = n_fft if win_length is None else win_length
    hop_length = max(1, win_length // 4) if hop_length is None else hop_length
    _check_stft_args(n_fft, hop_length, win_length, pad_mode)
    n = x.shape[-1]
    if n < 1: raise ValueError(f'stft needs at least 1 sample along the last dim, got shape {tuple(x.shape)}')
    if not center and n < n_fft:
        raise ValueError(f'center=False needs at least n_fft={n_fft} samples, got {n} (center=True takes any length)')
    if window is None: window = torch.hann_window(win_length, periodic=True, dtype=x.dtype, device=x.device)
    shape = x.shape
    if center and pad_mode != 'constant':
        x = _edge_pad(x, n_fft // 2, pad_mode)
        center = False
    spec = torch.stft(x.reshape(-1, x.shape[-1]), n_fft, hop_length=hop_length, win_length=win_length,
                      window=window, center=center, pad_mode='constant', return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def spectrogram(x: torch.Tensor, n_fft: int = 2048, hop_length: int | None = None, win_length: int | None = None,
                window: torch.Tensor | None = None, center: bool = True, pad_mode: str = 'constant',
                power: float = 2.0) -> torch.Tensor:
    """|STFT|**power of `x` `(..., time)`: real tensor `(..., n_fft // 2 + 1, frames)`. `power=2` gives power
    (energy per bin), `power=1` magnitude; any power > 0 (else a ValueError). Other arguments as `stft`."""
    if not power > 0: raise ValueError(f'power must be > 0, got {power}')
    z = stft(x, n_fft, hop_length, win_length, window, center, pad_mode)
    pw = torch.addcmul(z.real.square(), z.imag, z.imag)   # re^2 + im^2: ~5x faster on CPU than |z|^2 via abs
    if power == 2: return pw
    return pw.sqrt() if power == 1 else pw.pow(power / 2)


def melspectrogram(x: torch.Tensor, sr: int, n_fft: int = 2048, hop_length: int | None = None, n_mels: int = 128,
                   f_min: float = 0.0, f_max: float | None = None, power: float = 2.0, htk: bool = False,
                   norm: str | None = 'slaney', fbank: torch.Tensor | None = None, **stft_kw) -> torch.Tensor:
    """Mel spectrogram of `x` `(..., time)` at `sr` Hz: `(..., n_mels, frames)`, the `spectrogram` (power 2 by
    default) projected on `mel_filterbank(sr, n_fft, n_mels, f_min, f_max, htk, norm)` (or on `fbank`)."""
    if fbank is None: fbank = mel_filterbank(sr, n_fft, n_mels, f_min, f_max, htk, norm, np.float64).to(x.device, x.dtype)
    return torch.matmul(fbank, spectrogram(x, n_fft, hop_length, power=power, **stft_kw))


def amplitude_to_db(x: torch.Tensor, stype: str = 'power', ref: float | str = 'max', amin: float | None = None,
                    top_db: float | None = 80.0, dims: int = 2) -> torch.Tensor:
    """Convert a power (`stype='power'`: 10 log10) or magnitude (`'magnitude'`: 20 log10) spectrogram to dB.

    ref : 'max' measures each spectrogram against its own maximum, so its loudest bin is 0 dB; a number is a
        fixed reference (1.0 gives absolute dB). amin : floor before the log (1e-10 power, 1e-5 magnitude).
    top_db : clip each spectrogram to at most `top_db` below its own peak (None: no clip).
    dims : how many trailing dims make one spectrogram (2: `(freq, frames)`); the reference and `top_db`
        are taken over those, separately for each leading index, never over a whole batch.
    The floor keeps silence finite (at most 0 dB from `ref='max'`, else the floor's dB). Bad settings raise a
    ValueError naming them.
    """
    _check_db_args(ref, top_db, amin)
    if stype not in _DB_MULT: raise ValueError(f"stype must be 'power' or 'magnitude', got {stype!r}")
    mult = _DB_MULT[stype]
    amin = (1e-10 if stype == 'power' else 1e-5) if amin is None else amin
    red = tuple(range(-dims, 0))
    db = mult * torch.log10(x.clamp(min=amin))
    if isinstance(ref, str): db = db - db.amax(dim=red, keepdim=True)
    else: db = db - mult * math.log10(max(amin, abs(ref)))
    if top_db is not None: db = torch.maximum(db, db.amax(dim=red, keepdim=True) - top_db)
    return db


_DB_MULT = {'power': 10.0, 'magnitude': 20.0}


def _check_db_args(ref, top_db, amin):
    "ValueErrors for `amplitude_to_db` settings: `ref` 'max' or a number, `top_db` None or >= 0, `amin` None or > 0."
    if isinstance(ref, str) and ref != 'max':
        raise ValueError(f"ref must be 'max' or a number, got {ref!r}")
    if top_db is not None and not top_db >= 0: raise ValueError(f'top_db must be >= 0 or None, got {top_db}')
    if amin is not None and not amin > 0: raise ValueError(f'amin must be > 0 or None, got {amin}')


def mfcc(x: torch.Tensor, sr: int, n_mfcc: int = 20, n_mels: int = 128, ref: float | str = 1.0,
         top_db: float | None = 80.0, dct: torch.Tensor | None = None, **mel_kw) -> torch.Tensor:
    """Mel-frequency cepstral coefficients of `x` `(..., time)`: `(..., n_mfcc, frames)`, the orthonormal
    DCT-II of the dB mel spectrogram (`ref=1.0`, `top_db=80` per clip, as `librosa.feature.mfcc`)."""
    db = amplitude_to_db(melspectrogram(x, sr, n_mels=n_mels, **mel_kw), ref=ref, top_db=top_db)
    if dct is None: dct = dct_matrix(n_mfcc, n_mels, dtype=np.float64).to(x.device, x.dtype)
    return torch.matmul(dct, db)


# --------------------------------------------------------------------------- the typed spectrogram
@dataclass(frozen=True)
class SpecSettings:
    """What an `AudioSpectrogram` holds. kind: 'stft', 'mel' or 'mfcc'; scale: 'power', 'magnitude' or 'db'
    (or 'normalized' after `SpecNormalize`)."""
    sr: int
    n_fft: int
    hop_length: int
    kind: str = 'stft'
    scale: str = 'power'
    n_mels: int | None = None
    f_min: float = 0.0
    f_max: float | None = None
    htk: bool = False

    @property
    def frame_rate(self) -> float: return self.sr / self.hop_length

    def bin_hz(self, n_bins: int) -> np.ndarray | None:
        "Centre frequency in Hz of each of the `n_bins` rows, or None for cepstra."
        if self.kind == 'stft': return np.fft.rfftfreq(self.n_fft, 1.0 / self.sr)[:n_bins]
        if self.kind == 'mel':
            return mel_frequencies(self.n_mels + 2, self.f_min, self.f_max or self.sr / 2, self.htk)[1:-1]
        return None


class AudioSpectrogram(TensorImageBase):
    """A spectrogram batch `(batch, channels, freq, frames)` or item `(channels, freq, frames)` that remembers
    how it was made (`settings`, a `SpecSettings`) so it can draw itself with time and frequency axes.
    A batch padded to its longest clip also carries `lengths` `(batch,)`: each clip's frames before the
    padding (see `length_mask`)."""

    @property
    def duration(self) -> float: return self.shape[-1] / self.settings.frame_rate

    def show(self, ctx=None, title=None, figsize=(4, 3), cmap='magma', colorbar=False, **kwargs):
        "Draw the first channel with time (s) along x and frequency (Hz for STFT and mel rows) along y."
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
        if colorbar: plt.colorbar(im, ax=ax, label='dB' if st is not None and st.scale == 'db' else None)
        if title is not None: ax.set_title(title)
        return ax


def length_mask(lengths: torch.Tensor, n: int) -> torch.Tensor:
    "Boolean mask `(batch, n)`: True where index < `lengths` `(batch,)`, i.e. on real (not padded) samples or frames."
    return torch.arange(n, device=lengths.device) < lengths.to(torch.long)[:, None]


def masked_mean_std(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) standard deviation of each example of `x` `(batch, ..., frames)` over the frames
    where `mask` `(batch, frames)` is True; both shaped `(batch, 1, ..., 1)` to broadcast against `x`.
    An example needs at least one True frame; with a single value its standard deviation is 0."""
    m = mask.to(x.dtype).reshape(mask.shape[0], *([1] * (x.ndim - 2)), mask.shape[1]).expand_as(x)
    return _mean_std(x, m)


def _mean_std(x: torch.Tensor, weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased standard deviation of each example of `x` `(batch, ...)` (over the entries where the 0/1
    `weight`, shaped as `x`, is 1), shaped `(batch, 1, ..., 1)`. The mean is refined by the mean of the residuals
    (corrected two-pass), so a constant example gets exactly its value and a standard deviation of 0: a one-pass
    float32 mean is off by rounding, which dividing by the tiny standard deviation would blow up to O(1)."""
    red = tuple(range(1, x.ndim))
    def total(t): return (t if weight is None else t * weight).sum(dim=red, keepdim=True)
    n = total(torch.ones_like(x[:1])) if weight is None else weight.sum(dim=red, keepdim=True)
    mean = total(x) / n
    mean = mean + total(x - mean) / n
    return mean, (total((x - mean).square()) / (n - 1).clamp_min(1)).sqrt()


def _rewrap(like: AudioSpectrogram, data: torch.Tensor, **changes) -> AudioSpectrogram:
    "`data` as an `AudioSpectrogram` carrying `like`'s metadata (settings, lengths), with `changes` applied."
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
    sr = getattr(x, 'sr', None)
    if sr is None:
        raise ValueError(f'{type(tfm).__name__} needs an AudioTensor with a sample rate (`sr`), got {type(x).__name__}')
    if tfm.sample_rate is not None and sr != tfm.sample_rate:
        raise ValueError(f'{type(tfm).__name__} was configured for sample_rate={tfm.sample_rate} Hz but the batch '
                         f'is at {sr} Hz: load the audio at {tfm.sample_rate} Hz (e.g. AudioBlock(sr='
                         f'{tfm.sample_rate})) or change sample_rate')
    return sr


def _plain(x: torch.Tensor) -> torch.Tensor: return x.as_subclass(torch.Tensor)


class Spectrogram(_DeviceBuffers, DisplayedTransform):
    """Batch transform: `AudioTensor` `(batch, channels, samples)` -> `AudioSpectrogram`
    `(batch, channels, n_fft // 2 + 1, frames)` of |STFT|**power, computed on the batch's device.

    n_fft : int > 0, FFT size (default 1024). hop_length : int > 0, samples between frames (default
    `win_length // 4`). win_length : window size, <= n_fft (default n_fft). power : 2.0 power (default), 1.0
    magnitude. center, pad_mode : as `stft` (centred, any clip of at least 1 sample works; frames as
    `n_frames`). sample_rate : Hz the batches must be at (None: any; checked when given).
    Bad settings raise a ValueError naming them, here rather than on the first batch.
    """
    order = 50
    _kind = 'stft'

    def __init__(self, n_fft: int = 1024, hop_length: int | None = None, win_length: int | None = None,
                 power: float = 2.0, center: bool = True, pad_mode: str = 'constant', sample_rate: int | None = None):
        super().__init__()
        self.n_fft, self.win_length = n_fft, n_fft if win_length is None else win_length
        self.hop_length = max(1, self.win_length // 4) if hop_length is None else hop_length
        _check_stft_args(n_fft, self.hop_length, self.win_length, pad_mode)
        if power not in (1.0, 2.0): raise ValueError(f'power must be 1 (magnitude) or 2 (power), got {power}')
        if sample_rate is not None and not sample_rate > 0:
            raise ValueError(f'sample_rate must be > 0 Hz or None, got {sample_rate}')
        self.power, self.center, self.pad_mode, self.sample_rate = power, center, pad_mode, sample_rate
        self.window = torch.hann_window(self.win_length, periodic=True, dtype=torch.float64)

    def _spec(self, x: torch.Tensor, sr: int) -> torch.Tensor:
        return spectrogram(x, self.n_fft, self.hop_length, self.win_length, self._buf('window', x), self.center,
                           self.pad_mode, self.power)

    def _settings(self, sr: int) -> SpecSettings:
        return SpecSettings(sr, self.n_fft, self.hop_length, kind=self._kind,
                            scale='power' if self.power == 2 else 'magnitude')

    def n_frames(self, n_samples):
        "Frames computed from `n_samples` samples (int or tensor): `stft_frames` with these settings."
        return stft_frames(n_samples, self.n_fft, self.hop_length, self.center)

    def encodes(self, x: AudioTensor) -> AudioSpectrogram:
        sr = _check_rate(self, x)
        out = AudioSpectrogram(self._spec(_plain(x), sr), settings=self._settings(sr))
        lengths = getattr(x, 'lengths', None)
        if lengths is not None: out.lengths = self.n_frames(lengths).clamp(1, out.shape[-1])
        return out


class MelSpectrogram(Spectrogram):
    """Batch transform: `AudioTensor` `(batch, channels, samples)` -> mel `AudioSpectrogram`
    `(batch, channels, n_mels, frames)`: the `Spectrogram` projected on `mel_filterbank`.

    n_mels : number of mel bands (default 128). f_min, f_max : band edges in Hz (default 0 and sr / 2).
    htk, norm : mel scale and filter normalisation (default Slaney scale and Slaney norm, as librosa).
    sample_rate : Hz of the batches; the filterbank is built for it (None: taken from the first batch).
    Other arguments as `Spectrogram`.
    """
    _kind = 'mel'

    def __init__(self, sample_rate: int | None = None, n_fft: int = 1024, hop_length: int | None = None,
                 n_mels: int = 128, f_min: float = 0.0, f_max: float | None = None, win_length: int | None = None,
                 power: float = 2.0, center: bool = True, pad_mode: str = 'constant', htk: bool = False,
                 norm: str | None = 'slaney'):
        super().__init__(n_fft, hop_length, win_length, power, center, pad_mode, sample_rate)
        _check_int('n_mels', n_mels)
        self.n_mels, self.f_min, self.f_max, self.htk, self.norm = n_mels, f_min, f_max, htk, norm
        self._fbank_sr = None
        if sample_rate is not None: self._make_fbank(sample_rate)

    def _make_fbank(self, sr):
        self.fbank, self._fbank_sr = mel_filterbank(sr, self.n_fft, self.n_mels, self.f_min, self.f_max,
                                                    self.htk, self.norm, np.float64), sr
        self.__dict__.pop('_bufcache', None)

    def _spec(self, x, sr):
        if self._fbank_sr != sr: self._make_fbank(sr)
        return torch.matmul(self._buf('fbank', x), super()._spec(x, sr))

    def _settings(self, sr):
        return replace(super()._settings(sr), n_mels=self.n_mels, f_min=self.f_min, f_max=self.f_max, htk=self.htk)


class AmplitudeToDB(DisplayedTransform):
    """Batch transform: power or magnitude `AudioSpectrogram` -> dB, with the reference (`ref='max'`: each
    example's own peak is 0 dB) and `top_db` clipping applied per example, never per batch.
    amin : floor before the log (default 1e-10 for power, 1e-5 for magnitude). Silence gives finite dB.
    Bad settings raise a ValueError naming them."""
    order = 60

    def __init__(self, ref: float | str = 'max', top_db: float | None = 80.0, amin: float | None = None):
        super().__init__()
        _check_db_args(ref, top_db, amin)
        self.ref, self.top_db, self.amin = ref, top_db, amin

    def encodes(self, x: AudioSpectrogram) -> AudioSpectrogram:
        st = x.settings
        if st.scale not in ('power', 'magnitude'): return x
        db = amplitude_to_db(_plain(x), st.scale, self.ref, self.amin, self.top_db, dims=x.ndim - 1)
        return _rewrap(x, db, settings=replace(st, scale='db'))


class MFCC(MelSpectrogram):
    """Batch transform: `AudioTensor` `(batch, channels, samples)` -> `AudioSpectrogram` of MFCCs
    `(batch, channels, n_mfcc, frames)`: orthonormal DCT-II of the dB mel spectrogram, as `librosa.feature.mfcc`
    (`ref=1.0`, `top_db=80` per example). Mel arguments as `MelSpectrogram`."""
    _kind = 'mfcc'

    def __init__(self, sample_rate: int | None = None, n_mfcc: int = 20, n_fft: int = 1024,
                 hop_length: int | None = None, n_mels: int = 128, ref: float | str = 1.0,
                 top_db: float | None = 80.0, **mel_kw):
        super().__init__(sample_rate, n_fft, hop_length, n_mels, **mel_kw)
        _check_db_args(ref, top_db, None)
        self.n_mfcc, self.ref, self.top_db = n_mfcc, ref, top_db
        self.dct = dct_matrix(n_mfcc, n_mels, dtype=np.float64)             # checks 1 <= n_mfcc <= n_mels

    def _spec(self, x, sr):
        scale = 'power' if self.power == 2 else 'magnitude'
        db = amplitude_to_db(super()._spec(x, sr), scale, self.ref, top_db=self.top_db, dims=x.ndim - 1)
        return torch.matmul(self._buf('dct', x), db)

    def _settings(self, sr): return replace(super()._settings(sr), scale='db')


class SpecNormalize(DisplayedTransform):
    """Batch transform: standardise an `AudioSpectrogram` to zero mean and unit variance, which is what
    pretrained ImageNet networks expect of each (summed) input channel.

    per_example=False (default): one `mean` and `std` for the dataset; when not given they are measured on
    one training batch at set-up, as fastai's `Normalize` does. `decodes` undoes it for display.
    per_example=True: each example by its own statistics (loudness differences between clips are removed),
    over its real frames only when the batch carries `lengths`. A constant example (e.g. silence in dB) or one
    of a single value has standard deviation 0 and comes out as zeros.
    """
    order = 70

    def __init__(self, mean: float | None = None, std: float | None = None, per_example: bool = False,
                 eps: float = 1e-6):
        super().__init__()
        self.mean, self.std, self.per_example, self.eps = mean, std, per_example, eps

    def setups(self, dl):
        if self.per_example or (self.mean is not None and self.std is not None): return
        x = dl.one_batch()[0]
        if not isinstance(x, AudioSpectrogram):
            raise TypeError('SpecNormalize measures its statistics on spectrograms: put a Spectrogram, '
                            'MelSpectrogram or MFCC transform before it in batch_tfms')
        self.mean, self.std = float(x.mean()), float(x.std())

    def encodes(self, x: AudioSpectrogram) -> AudioSpectrogram:
        if self.per_example:
            lengths = getattr(x, 'lengths', None)
            if lengths is None: m, s = _mean_std(_plain(x))
            else: m, s = masked_mean_std(_plain(x), length_mask(lengths, x.shape[-1]))
            return (x - m) / (s + self.eps)
        if self.mean is None: raise ValueError('SpecNormalize has no statistics: pass mean/std or set it up on data')
        return (x - self.mean) / (self.std + self.eps)

    def decodes(self, x: AudioSpectrogram) -> AudioSpectrogram:
        if self.per_example or self.mean is None: return x
        return x * (self.std + self.eps) + self.mean


def get_frequency_batch_transforms(n_fft: int = 1024, n_hop: int = 256, n_mels: int = 40, sample_rate: int = 16000,
                                   f_min: float = 0.0, f_max: float | None = None, top_db: float | None = 80.0,
                                   normalize: str | None = 'dataset', mfcc: int | None = None,
                                   ref: float | str = 'max', **mel_kw) -> list:
    """The batch transforms that turn waveforms into normalised log-mel spectrograms, for `batch_tfms`:
    `[MelSpectrogram(...), AmplitudeToDB(top_db=top_db), SpecNormalize()]`.

    n_fft, n_hop, n_mels : FFT size, hop in samples and mel bands (the classic 1024 / 256 / 40).
    sample_rate : Hz the audio is loaded at (16000). f_min, f_max : mel band edges in Hz (0 to sr / 2).
    normalize : 'dataset' (statistics from a training batch), 'example' (each clip by itself) or None.
    mfcc : if an int, return that many MFCCs instead of log-mel bands.
    ref : dB reference: 'max' (each clip's peak is 0 dB, the default) or a fixed power such as 1.0.
    Other keywords (win_length, center, pad_mode, htk, norm, power) go to `MelSpectrogram`.
    """
    if mfcc: tfms = [MFCC(sample_rate, mfcc, n_fft, n_hop, n_mels, f_min=f_min, f_max=f_max, top_db=top_db, **mel_kw)]
    else: tfms = [MelSpectrogram(sample_rate, n_fft, n_hop, n_mels, f_min, f_max, **mel_kw),
                  AmplitudeToDB(ref=ref, top_db=top_db)]
    if normalize not in ('dataset', 'example', None):
        raise ValueError(f"normalize must be 'dataset', 'example' or None, got {normalize!r}")
    if normalize: tfms.append(SpecNormalize(per_example=normalize == 'example'))
    return tfms
