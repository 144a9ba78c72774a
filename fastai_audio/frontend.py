"""What the model hears, in torch alone: the front-end description, its kernels, and the waveform-in model.

This module imports only torch, numpy, safetensors and the standard library (never fastai, never the rest of
fastai_audio), so it serves a model where fastai is absent: copy this one file next to a folder written by
`fastai_audio.export_waveform_model` and

    from frontend import load_waveform_model
    model = load_waveform_model('tagger/')          # model.safetensors + config.json
    probs = model(torch.from_numpy(wave))           # 1-D float waveform at model.sample_rate -> (n_classes,)

It holds, each written once and read by training, prediction, export, embeddings and the backbones:

- `FrontEnd`: a frozen, typed description of how waveforms become the network's input (rate, channels,
  STFT geometry, linear / mel / MFCC, power, mel band, dB, normalisation), with `to_dict` / `from_dict`.
- the kernels, pure functions on `(..., time)` waveforms and `(..., freq, frames)` spectrograms: window, edge
  padding, STFT (`torch.stft` for training, the DFT-basis convolution where a graph must export; equal),
  power, mel filterbank, DCT, dB, two-pass statistics and normalisation, and framing (seconds to samples,
  window starts with the last window flush with the end, padding a short clip).
- `FrontEndModule`: a `FrontEnd` as an exportable `nn.Module` over those kernels.
- `WaveformClassifier`, `AudioModelSpec` (everything a trained model needs to be used), the network
  describe / rebuild pair (`describe_network`, `build_network`) and `load_waveform_model`.

Configured alike (center=True, pad_mode='constant', periodic Hann window, Slaney mel scale and norm, power 2)
the kernels match `librosa.stft`, `librosa.feature.melspectrogram`, `librosa.power_to_db` and
`librosa.feature.mfcc`.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ['FrontEnd', 'FrontEndModule', 'AudioModelSpec', 'WaveformClassifier', 'load_waveform_model',
           'describe_network', 'build_network', 'ConcatPool',
           'hz_to_mel', 'mel_to_hz', 'mel_frequencies', 'mel_filterbank', 'dct_matrix', 'window_function',
           'pad_signal', 'stft_frames', 'stft', 'dft_basis', 'stft_dft', 'power_spectrum', 'spectrogram',
           'melspectrogram', 'amplitude_to_db', 'mfcc', 'mean_std', 'masked_mean_std', 'length_mask', 'standardize',
           'seconds_to_samples', 'frame_signal', 'pad_to', 'resample_batch']

FORMAT_VERSION = 2          # of `FrontEnd.to_dict` / `AudioModelSpec.to_dict` (1: the v0.1 export config)


# =========================================================================== checks
def _check_int(name: str, value, low: int = 1):
    "Raise a ValueError naming `name` unless `value` is an int >= `low`."
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f'{name} must be an int >= {low}, got {value!r}')


# =========================================================================== mel scale, filterbank, DCT
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
    """Triangular mel filters.

    Parameters
    ----------
    sr : int > 0, sample rate in Hz. n_fft : int > 0, FFT size. n_mels : int > 0, number of bands.
    f_min, f_max : band edges in Hz (f_max None: sr / 2); need 0 <= f_min < f_max <= sr / 2.
    htk : HTK mel scale instead of Slaney's. norm : 'slaney' scales each triangle to unit area
        (2 / bandwidth in Hz), so a band is an average of power; None leaves peaks at 1.
    dtype : numpy dtype of the result (default float32).

    Returns
    -------
    torch.Tensor `(n_mels, n_fft // 2 + 1)`. Filter i rises from mel point i to i+1 and falls to i+2, over
    `n_mels + 2` points equally spaced in mels. A band narrower than the bins' spacing catches no bin and is
    all zeros, as in librosa. Bad settings raise a ValueError naming them.
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


# =========================================================================== window, padding, STFT
PAD_MODES = ('constant', 'reflect', 'replicate', 'circular')
WINDOWS = ('hann', 'hamming', 'rectangular')


def window_function(name: str, win_length: int, dtype=torch.float64) -> torch.Tensor:
    "The periodic analysis window `name` ('hann', 'hamming' or 'rectangular') of `win_length` samples."
    _check_int('win_length', win_length)
    if name == 'hann': return torch.hann_window(win_length, periodic=True, dtype=dtype)
    if name == 'hamming': return torch.hamming_window(win_length, periodic=True, dtype=dtype)
    if name == 'rectangular': return torch.ones(win_length, dtype=dtype)
    raise ValueError(f'window must be one of {WINDOWS}, got {name!r}')


def _check_stft_args(n_fft, hop_length, win_length, pad_mode):
    "Validate STFT settings (`hop_length`, `win_length` already defaulted), naming the culprit in a ValueError."
    _check_int('n_fft', n_fft)
    _check_int('win_length', win_length)
    _check_int('hop_length', hop_length)
    if win_length > n_fft: raise ValueError(f'win_length must be <= n_fft ({n_fft}), got {win_length}')
    if pad_mode not in PAD_MODES: raise ValueError(f'pad_mode must be one of {PAD_MODES}, got {pad_mode!r}')


def pad_signal(x: torch.Tensor, pad: int, mode: str = 'constant') -> torch.Tensor:
    """`x` `(..., time)` extended by `pad` samples on both sides as `numpy.pad` does: 'constant' (zeros),
    'reflect', 'replicate' (numpy's 'edge') or 'circular' (numpy's 'wrap'), for any length: a clip shorter than
    `pad` is reflected or wrapped again and again (a 1-sample clip is repeated), where
    `torch.nn.functional.pad` would refuse. Index arithmetic only, so it exports (TorchScript, ONNX)."""
    if mode == 'constant': return F.pad(x, (pad, pad))
    n = x.shape[-1]
    idx = torch.arange(-pad, n + pad, device=x.device)
    size = torch.ones((), dtype=idx.dtype, device=x.device) * n     # the length as a tensor: exports for any length
    if mode == 'replicate': idx = torch.minimum(idx.clamp(min=0), size - 1)
    elif mode == 'circular': idx = idx % size
    elif mode == 'reflect':
        period = (2 * (size - 1)).clamp(min=1)                        # a 1-sample clip repeats its sample
        idx = idx % period
        idx = torch.where(idx >= size, period - idx, idx)
    else: raise ValueError(f'pad_mode must be one of {PAD_MODES}, got {mode!r}')
    return x.index_select(-1, idx)


def stft_frames(n_samples, n_fft: int, hop_length: int, center: bool = True):
    """Frames the STFT gives for `n_samples` samples (int or tensor): 1 + (n + 2 * (n_fft // 2) - n_fft) //
    hop_length centred (1 + n // hop_length for an even n_fft), else 1 + (n - n_fft) // hop_length."""
    if center: return 1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length
    return 1 + (n_samples - n_fft) // hop_length


def _centre_window(window: torch.Tensor, n_fft: int) -> torch.Tensor:
    "`window` zero-padded at both ends to `n_fft` samples (the extra sample, if odd, on the right)."
    left = (n_fft - window.shape[-1]) // 2
    return F.pad(window, (left, n_fft - window.shape[-1] - left))


def _centred(x: torch.Tensor, n_fft: int, center: bool, pad_mode: str) -> torch.Tensor:
    "The signal both STFT forms transform: padded by n_fft // 2 with `pad_mode` when centred (the one rule)."
    return pad_signal(x, n_fft // 2, pad_mode) if center else x


def stft(x: torch.Tensor, n_fft: int = 2048, hop_length: int | None = None, win_length: int | None = None,
         window: torch.Tensor | None = None, center: bool = True, pad_mode: str = 'constant') -> torch.Tensor:
    """Short-time Fourier transform by `torch.stft` (the fast form, for training).

    Parameters
    ----------
    x : tensor `(..., time)`, at least 1 sample (centred) or `n_fft` samples (`center=False`).
    n_fft : int > 0. hop_length : samples between frames (default `win_length // 4`, at least 1).
    win_length : <= n_fft (default n_fft). window : `(win_length,)` (default periodic Hann), zero-padded to
        n_fft at the centre. center : frame t is centred on sample `t * hop_length`, the signal padded by
        `n_fft // 2` on both sides with `pad_mode` (see `pad_signal`).

    Returns
    -------
    complex tensor `(..., n_fft // 2 + 1, frames)`, frames as `stft_frames`. Bad settings raise a ValueError.
    """
    win_length = n_fft if win_length is None else win_length
    hop_length = max(1, win_length // 4) if hop_length is None else hop_length
    _check_stft_args(n_fft, hop_length, win_length, pad_mode)
    n = x.shape[-1]
    if n < 1: raise ValueError(f'stft needs at least 1 sample along the last dim, got shape {tuple(x.shape)}')
    if not center and n < n_fft:
        raise ValueError(f'center=False needs at least n_fft={n_fft} samples, got {n} (center=True takes any length)')
    x = _centred(x, n_fft, center, pad_mode)
    if window is None: window = window_function('hann', win_length, x.dtype).to(x.device)
    shape = x.shape
    spec = torch.stft(x.reshape(-1, shape[-1]), n_fft, hop_length=hop_length, win_length=win_length,
                      window=window, center=False, return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def dft_basis(n_fft: int, window: torch.Tensor) -> torch.Tensor:
    """The windowed DFT as convolution weights `(2 * (n_fft // 2 + 1), 1, n_fft)`, float64: the cosine rows
    then the minus-sine rows, times `window` (zero-padded at the centre to n_fft if shorter)."""
    window = _centre_window(window.double(), n_fft)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
    ang = 2 * math.pi * k * torch.arange(n_fft, dtype=torch.float64)[None] / n_fft
    return torch.cat([torch.cos(ang) * window, -torch.sin(ang) * window])[:, None]


def stft_dft(x: torch.Tensor, basis: torch.Tensor, hop_length: int, center: bool = True,
             pad_mode: str = 'constant') -> tuple[torch.Tensor, torch.Tensor]:
    """The STFT of `x` `(..., time)` as a strided convolution with `basis` (see `dft_basis`), the form that
    TorchScript and ONNX export: real and imaginary parts, each `(..., n_fft // 2 + 1, frames)`, equal to
    `stft` with the same settings."""
    x = _centred(x, basis.shape[-1], center, pad_mode)
    shape = x.shape
    out = F.conv1d(x.reshape(-1, 1, shape[-1]), basis, stride=hop_length)
    re, im = out.chunk(2, dim=1)
    return re.reshape(*shape[:-1], *re.shape[-2:]), im.reshape(*shape[:-1], *im.shape[-2:])


def power_spectrum(re: torch.Tensor, im: torch.Tensor, power: float = 2.0) -> torch.Tensor:
    "|re + i im| ** power: 2 power, 1 magnitude, any power > 0."
    pw = torch.addcmul(re * re, im, im)          # re^2 + im^2: ~5x faster on CPU than |z|^2 via abs
    if power == 2: return pw
    return pw.sqrt() if power == 1 else pw.pow(power / 2)


def spectrogram(x: torch.Tensor, n_fft: int = 2048, hop_length: int | None = None, win_length: int | None = None,
                window: torch.Tensor | None = None, center: bool = True, pad_mode: str = 'constant',
                power: float = 2.0) -> torch.Tensor:
    """|STFT|**power of `x` `(..., time)`: real tensor `(..., n_fft // 2 + 1, frames)`. `power=2` gives power
    (energy per bin), `power=1` magnitude; any power > 0 (else a ValueError). Other arguments as `stft`."""
    if not power > 0: raise ValueError(f'power must be > 0, got {power}')
    z = stft(x, n_fft, hop_length, win_length, window, center, pad_mode)
    return power_spectrum(z.real, z.imag, power)


def melspectrogram(x: torch.Tensor, sr: int, n_fft: int = 2048, hop_length: int | None = None, n_mels: int = 128,
                   f_min: float = 0.0, f_max: float | None = None, power: float = 2.0, htk: bool = False,
                   norm: str | None = 'slaney', fbank: torch.Tensor | None = None, **stft_kw) -> torch.Tensor:
    """Mel spectrogram of `x` `(..., time)` at `sr` Hz: `(..., n_mels, frames)`, the `spectrogram` (power 2 by
    default) projected on `mel_filterbank(sr, n_fft, n_mels, f_min, f_max, htk, norm)` (or on `fbank`).
    Defaults are librosa's (2048, hop 512, 128 bands); the fastai transforms and presets set their own."""
    if fbank is None: fbank = mel_filterbank(sr, n_fft, n_mels, f_min, f_max, htk, norm, np.float64).to(x.device, x.dtype)
    return torch.matmul(fbank, spectrogram(x, n_fft, hop_length, power=power, **stft_kw))


_DB_MULT = {'power': 10.0, 'magnitude': 20.0}


def _check_db_args(ref, top_db, amin):
    "ValueErrors for `amplitude_to_db` settings: `ref` 'max' or a number, `top_db` None or >= 0, `amin` None or > 0."
    if isinstance(ref, str) and ref != 'max':
        raise ValueError(f"ref must be 'max' or a number, got {ref!r}")
    if top_db is not None and not top_db >= 0: raise ValueError(f'top_db must be >= 0 or None, got {top_db}')
    if amin is not None and not amin > 0: raise ValueError(f'amin must be > 0 or None, got {amin}')


def amplitude_to_db(x: torch.Tensor, stype: str = 'power', ref: float | str = 'max', amin: float | None = None,
                    top_db: float | None = 80.0, dims: int = 2) -> torch.Tensor:
    """A power (`stype='power'`: 10 log10) or magnitude (`'magnitude'`: 20 log10) spectrogram in dB.

    Parameters
    ----------
    ref : 'max' measures each spectrogram against its own maximum (its loudest bin is 0 dB); a number is a
        fixed reference (1.0 gives absolute dB).
    amin : floor before the log (None: 1e-10 for power, 1e-5 for magnitude), so silence stays finite.
    top_db : clip each spectrogram to at most `top_db` below its own peak (None: no clip).
    dims : how many trailing dims make one spectrogram (2: `(freq, frames)`; 3: `(channels, freq, frames)`,
        what the batch transforms use); the reference and `top_db` are taken over those, separately for
        each leading index, never over a whole batch.
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


def mfcc(x: torch.Tensor, sr: int, n_mfcc: int = 20, n_mels: int = 128, ref: float | str = 1.0,
         top_db: float | None = 80.0, dct: torch.Tensor | None = None, **mel_kw) -> torch.Tensor:
    """Mel-frequency cepstral coefficients of `x` `(..., time)`: `(..., n_mfcc, frames)`, the orthonormal
    DCT-II of the dB mel spectrogram (`ref=1.0`, `top_db=80` per clip, as `librosa.feature.mfcc`)."""
    db = amplitude_to_db(melspectrogram(x, sr, n_mels=n_mels, **mel_kw), ref=ref, top_db=top_db)
    if dct is None: dct = dct_matrix(n_mfcc, n_mels, dtype=np.float64).to(x.device, x.dtype)
    return torch.matmul(dct, db)


# =========================================================================== resampling on the device
def _resample_rows(x2: torch.Tensor, factor: torch.Tensor, length: int, half_width: int = 16, phases: int = 2048,
                   chunk: int = 8192) -> torch.Tensor:
    """Resample each row of `x2` `(n, time)` so that output sample j is the band-limited value of the input at
    `j * factor[n]` (zeros past the input's end), `length` samples in all, batched: a Hann-windowed sinc of
    `2 * half_width` taps, its cut-off lowered to 1 / factor where the row is read faster (factor > 1), so
    nothing aliases. Polyphase: each row's kernel is tabulated at `phases` fractional positions (an error of
    at most 1 / (2 * phases) sample), and the taps are read from an unfolded view of the padded rows. All rows
    at once, in chunks of `chunk` output samples, on the device, without reading any value back to the host."""
    n, t = x2.shape
    w = half_width
    taps = torch.arange(-w + 1, w + 1, device=x2.device, dtype=x2.dtype)
    f = factor.to(x2.dtype)
    cut = torch.where(f > 1, 0.97 / f, torch.ones_like(f))[:, None, None]      # read faster: below the new Nyquist
    d = (torch.arange(phases + 1, device=x2.device, dtype=x2.dtype) / phases)[:, None] - taps
    table = cut * torch.sinc(cut * d) * (0.5 + 0.5 * torch.cos(math.pi * d / w))   # (n, phases + 1, taps)
    windows = F.pad(x2, (w - 1, 2 * w + 1)).unfold(1, 2 * w, 1)   # [r, b]: x2[r, b - w + 1 : b + w + 1], 0 outside
    rows = torch.arange(n, device=x2.device)[:, None]
    out = []
    for j0 in range(0, length, chunk):
        pos = torch.arange(j0, min(length, j0 + chunk), device=x2.device, dtype=x2.dtype)[None] * f[:, None]
        base = pos.floor()
        phase = ((pos - base) * phases).round().long()
        b = base.long().clamp(max=t + w)                                   # far past the end: an all-zero window
        out.append(torch.einsum('nlk,nlk->nl', windows[rows, b], table[rows, phase]))
    return torch.cat(out, -1) if out else x2.new_zeros(n, 0)


def resample_batch(x: torch.Tensor, orig_sr: int, sr: int, half_width: int = 16) -> torch.Tensor:
    """Resample `x` `(..., time)` from `orig_sr` to `sr` Hz on its device: band-limited (a Hann-windowed sinc
    `2 * half_width` output samples wide, cut off just below the lower Nyquist frequency, so nothing aliases
    when the rate drops), `ceil(time * sr / orig_sr)` samples out; `x` itself when the rates match. Against
    soxr 'VHQ' on content below 0.9 x the lower Nyquist frequency the difference is -50 dB of the signal or
    less (`tests/test_frontend.py`); `half_width=32` gains about 20 dB for twice the work."""
    if orig_sr == sr: return x
    n = x.shape[-1]
    length = -(-n * sr // orig_sr)
    rows = x.reshape(-1, n)
    f = orig_sr / sr
    factor = torch.full((rows.shape[0],), f, device=x.device)
    taps = math.ceil(half_width * max(1.0, f))     # the same transition width when reading faster
    return _resample_rows(rows, factor, length, taps).reshape(*x.shape[:-1], length)


# =========================================================================== statistics, normalisation
def length_mask(lengths: torch.Tensor, n: int) -> torch.Tensor:
    "Boolean mask `(batch, n)`: True where index < `lengths` `(batch,)`, i.e. on real (not padded) samples or frames."
    return torch.arange(n, device=lengths.device) < lengths.to(torch.long)[:, None]


def mean_std(x: torch.Tensor, weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased standard deviation of each example of `x` `(batch, ...)` (over the entries where the 0/1
    `weight`, shaped as `x`, is 1), shaped `(batch, 1, ..., 1)`. Two passes: the mean is refined by the mean of
    the residuals, so a constant example gets exactly its value and a standard deviation of 0 (a one-pass
    float32 mean is off by rounding, which dividing by the tiny standard deviation would blow up to O(1))."""
    red = tuple(range(1, x.ndim))
    def total(t): return (t if weight is None else t * weight).sum(dim=red, keepdim=True)
    n = total(torch.ones_like(x[:1])) if weight is None else weight.sum(dim=red, keepdim=True)
    mean = total(x) / n
    mean = mean + total(x - mean) / n
    return mean, (total((x - mean).square()) / (n - 1).clamp_min(1)).sqrt()


def masked_mean_std(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`mean_std` of each example of `x` `(batch, ..., frames)` over the frames where `mask` `(batch, frames)` is
    True (a padded batch's real frames). An example needs at least one True frame."""
    m = mask.to(x.dtype).reshape(mask.shape[0], *([1] * (x.ndim - 2)), mask.shape[1]).expand_as(x)
    return mean_std(x, m)


def standardize(x: torch.Tensor, mean, std, eps: float = 1e-6) -> torch.Tensor:
    "(x - mean) / (std + eps): `mean` and `std` numbers (dataset statistics) or tensors broadcasting to `x`."
    return (x - mean) / (std + eps)


# =========================================================================== framing
def seconds_to_samples(seconds: float, sample_rate: int, at_least: int = 0) -> int:
    "`seconds` at `sample_rate` Hz as a whole number of samples (rounded to the nearest), at least `at_least`."
    return max(at_least, int(round(seconds * sample_rate)))


def pad_to(x: torch.Tensor, length: int, pad: str = 'zeros') -> torch.Tensor:
    """`x` `(..., time)` extended at the end to at least `length` samples: with zeros (`pad='zeros'`) or by
    looping the clip (`'repeat'`; an empty clip gets zeros). A longer clip is returned as it is."""
    n = x.shape[-1]
    if pad == 'repeat' and n > 0: return x.index_select(-1, torch.arange(max(n, length), device=x.device) % n)
    if pad != 'zeros' and pad != 'repeat': raise ValueError("pad must be 'zeros' or 'repeat', got " + pad)
    return F.pad(x, (0, max(0, length - n)))


def window_starts(n_samples: int, window_length: int, hop_length: int) -> torch.Tensor:
    """Start samples of windows of `window_length` every `hop_length` samples over a signal of `n_samples`
    (at least `window_length`; pad a shorter one first): 0, hop, 2 hop... while they fit, and one more flush
    with the end if the last stops short, so every sample is seen and no window hangs over the end. A tensor
    `(n_windows,)`; branch-free, so it exports."""
    last = n_samples - window_length
    count = (torch.ones((), dtype=torch.long) * last + hop_length - 1) // hop_length + 1
    if torch.jit.is_scripting(): n = int(count)
    else:
        n = count.item()            # read from a tensor: exporters then keep the count free, one window included
        torch._check(n >= 1)
    return torch.clamp(torch.arange(n) * hop_length, max=last)


def frame_signal(wave: torch.Tensor, window_length: int, hop_length: int, pad: str = 'zeros') -> torch.Tensor:
    """Windows of `wave` `(samples,)` or `(channels, samples)` starting at `window_starts`: `(n_windows,
    window_length)` or `(n_windows, channels, window_length)`. A signal shorter than one window gives one
    window, padded by `pad_to` with `pad` ('zeros' or 'repeat')."""
    wave = pad_to(wave, window_length, pad)
    n = wave.shape[-1]
    starts = window_starts(n, window_length, hop_length).to(wave.device)
    idx = (starts[:, None] + torch.arange(window_length, device=wave.device)[None]).reshape(-1)
    out = wave.index_select(-1, idx)
    if wave.ndim == 1: return out.reshape(-1, window_length)
    return out.reshape(wave.shape[0], -1, window_length).transpose(0, 1)


# =========================================================================== the description
KINDS = ('linear', 'mel', 'mfcc', 'waveform')
NORMALIZE = ('dataset', 'example')


@dataclass(frozen=True)
class FrontEnd:
    """How waveforms become what the network sees: a frozen, typed description read by training, prediction,
    export, embeddings and backbones alike.

    Parameters
    ----------
    name : str, a label (presets: 'classic_2018', 'panns'...; 'custom' otherwise).
    sample_rate : int > 0, Hz the audio is loaded at.
    n_fft : int > 0, FFT size in samples. hop_length : int > 0, samples between frames (None: win_length // 4).
    n_mels : int > 0, mel bands (kind 'mel' and 'mfcc').
    f_min, f_max : mel band edges in Hz (f_max None: sample_rate / 2).
    win_length : int, window size in samples, <= n_fft (None: n_fft), zero-padded at the centre to n_fft.
    center : bool, frames centred on their sample, the clip padded by n_fft // 2 with `pad_mode`
        ('constant' zeros, 'reflect', 'replicate' or 'circular').
    htk : bool, HTK mel scale instead of Slaney's. mel_norm : 'slaney' (unit-area filters) or None (unit peak).
    power : 2.0 power or 1.0 magnitude.
    ref : dB reference, 'max' (each example's own peak is 0 dB) or a fixed value (1.0: absolute dB).
    top_db : clip at this many dB below each example's peak (None: no clip).
    normalize : None, 'dataset' (one `mean` and `std`, measured on a training batch when None) or 'example'
        (each example by its own two-pass statistics).
    kind : 'linear' (|STFT| rows), 'mel', 'mfcc' (`n_mfcc` orthonormal DCT-II coefficients of the dB mels) or
        'waveform' (the network hears the samples themselves: a raw-audio network computes its own front end).
    channels : int > 0, audio channels the network sees (1: mono).
    window_fn : 'hann' (periodic, default), 'hamming' or 'rectangular': the analysis window.
    to_db : bool, convert to dB (always for 'mfcc'). amin : floor before the log (None: 1e-10 power, 1e-5
        magnitude). mean, std : dataset statistics (normalize='dataset'). eps : added to the standard deviation.
    n_mfcc : int, coefficients for kind 'mfcc' (<= n_mels).

    The dB reference, `top_db` and per-example statistics are taken over each example's
    `(channels, rows, frames)`, never over a batch. Every field is checked when a description is made: an
    invalid value raises naming the field. `replace(**changes)` gives a checked variant; `to_dict()` /
    `from_dict()` go through JSON. A field derived from another (win_length and hop_length from n_fft) follows
    it in `replace` unless given.

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
    ref: float | str = 'max'
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

    def __post_init__(self):
        def bad(field, want, exc=ValueError): raise exc(f'FrontEnd.{field} must be {want}, got {getattr(self, field)!r}')
        def num(v): return isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v)
        if not isinstance(self.name, str): bad('name', 'a str', TypeError)
        for f in ('center', 'htk', 'to_db'):
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
        if not (self.ref == 'max' or num(self.ref) and self.ref > 0): bad('ref', "'max' or a number > 0")
        if self.top_db is not None and not (num(self.top_db) and self.top_db >= 0): bad('top_db', 'None or >= 0')
        if self.amin is not None and not (num(self.amin) and self.amin > 0): bad('amin', 'None or > 0')
        if self.normalize not in (None, *NORMALIZE): bad('normalize', f"None or one of {NORMALIZE}")
        for f in ('mean', 'std'):
            if getattr(self, f) is not None and not num(getattr(self, f)): bad(f, 'None or a number')
        if self.std is not None and self.std < 0: bad('std', '>= 0')
        if not (num(self.eps) and self.eps >= 0): bad('eps', 'a number >= 0')
        if self.kind == 'waveform' and (self.to_db or self.normalize is not None):
            bad('kind', "'waveform' (the samples as they are) only with to_db=False and normalize=None")
        if self.kind == 'mfcc':
            if not self.to_db: bad('to_db', "True for kind 'mfcc' (cepstra of dB mels)")
            if self.n_mfcc > self.n_mels: bad('n_mfcc', f'<= n_mels ({self.n_mels})')

    # ---- variants and JSON
    def replace(self, **changes) -> 'FrontEnd':
        "A checked copy with `changes`; win_length and hop_length follow a new n_fft when they had its defaults."
        if 'n_fft' in changes:
            if 'win_length' not in changes and self.win_length == self.n_fft: changes['win_length'] = None
            if 'hop_length' not in changes and self.hop_length == max(1, self.win_length // 4):
                changes['hop_length'] = None
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        "Plain JSON-able fields, with `format_version`."
        return {'format_version': FORMAT_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> 'FrontEnd':
        "The description `to_dict` wrote. An unknown field or a newer format raises a ValueError naming it."
        d = dict(d)
        version = d.pop('format_version', FORMAT_VERSION)
        if version > FORMAT_VERSION:
            raise ValueError(f'FrontEnd format_version {version} is newer than this code reads ({FORMAT_VERSION})')
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown: raise ValueError(f'FrontEnd has no field {unknown[0]!r} (fields: {", ".join(sorted(names))})')
        return cls(**d)

    # ---- derived facts
    @property
    def frame_rate(self) -> float: return self.sample_rate / self.hop_length

    @property
    def n_rows(self) -> int:
        "Rows of the output: n_fft // 2 + 1 (linear), n_mels or n_mfcc (None for 'waveform')."
        return {'linear': self.n_fft // 2 + 1, 'mel': self.n_mels, 'mfcc': self.n_mfcc}.get(self.kind)

    @property
    def scale(self) -> str:
        "'power', 'magnitude', 'db' or 'normalized': what the values are."
        if self.normalize is not None: return 'normalized'
        if self.to_db: return 'db'
        return 'power' if self.power == 2 else 'magnitude'

    def samples(self, seconds: float) -> int:
        "`seconds` as samples at this sample rate (`seconds_to_samples`)."
        return seconds_to_samples(seconds, self.sample_rate)

    def n_frames(self, n_samples):
        "Frames from `n_samples` samples (int or tensor), by `stft_frames` with these settings."
        if isinstance(n_samples, float):
            import warnings
            warnings.warn('FrontEnd.n_frames takes samples; passing seconds is deprecated: use '
                          'fe.n_frames(fe.samples(seconds))', DeprecationWarning, stacklevel=2)
            n_samples = self.samples(n_samples)
        return stft_frames(n_samples, self.n_fft, self.hop_length, self.center)

    def bin_hz(self, n_bins: int | None = None) -> np.ndarray | None:
        "Centre frequency in Hz of each row (the first `n_bins`), or None for cepstra."
        n_bins = self.n_rows if n_bins is None else n_bins
        if self.kind == 'linear': return np.fft.rfftfreq(self.n_fft, 1.0 / self.sample_rate)[:n_bins]
        if self.kind == 'mel':
            return mel_frequencies(self.n_mels + 2, self.f_min, self.f_max or self.sample_rate / 2, self.htk)[1:-1]
        return None

    def relevant_fields(self) -> list[str]:
        "The fields that change what this front end computes (mel fields mean nothing for a linear one...)."
        skip = {'name'}
        if self.kind == 'waveform': return ['sample_rate', 'channels', 'kind']
        if self.kind == 'linear': skip |= {'n_mels', 'f_min', 'f_max', 'htk', 'mel_norm'}
        if self.kind != 'mfcc': skip.add('n_mfcc')
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

    def batch_tfms(self, **overrides) -> list:
        "The fastai batch transforms computing this front end, for `batch_tfms=` (needs fastai_audio.features)."
        from fastai_audio.features import front_end_tfms
        return front_end_tfms(self.replace(**overrides) if overrides else self)

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
    """A `FrontEnd` as an `nn.Module` that TorchScript, `torch.export` and ONNX export: waveforms
    `(batch, channels, samples)` (or `(batch, samples)` for one channel) -> `(batch, channels, rows, frames)`.

    The STFT is `stft_dft` (a strided convolution with the windowed DFT basis); the basis, mel filters and DCT
    matrix are buffers (so they travel in a state dict), built from the description unless given (a backbone's
    checkpoint may bring its own filters). The values equal the fastai batch transforms configured by the same
    description (within float32 rounding).
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
            if fbank is None: fbank = mel_filterbank(fe.sample_rate, fe.n_fft, fe.n_mels, fe.f_min, fe.f_max, fe.htk,
                                                     fe.mel_norm, np.float64)
            self.register_buffer('fbank', fbank.float())
        if fe.kind == 'mfcc': self.register_buffer('dct', dct_matrix(fe.n_mfcc, fe.n_mels, dtype=np.float64).float())
        self.hop_length, self.center, self.pad_mode, self.power = fe.hop_length, fe.center, fe.pad_mode, float(fe.power)
        self.kind, self.to_db, self.ref, self.amin, self.top_db = fe.kind, fe.to_db, fe.ref, fe.amin, fe.top_db
        self.stype = 'power' if fe.power == 2 else 'magnitude'
        self.normalize, self.mean, self.std, self.eps = fe.normalize or '', fe.mean, fe.std, fe.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2: x = x.unsqueeze(1)
        if self.waveform: return x
        re, im = stft_dft(x, self.basis, self.hop_length, self.center, self.pad_mode)
        s = power_spectrum(re, im, self.power)
        if self.kind in ('mel', 'mfcc'): s = torch.matmul(self.fbank, s)
        if self.to_db: s = amplitude_to_db(s, self.stype, self.ref, self.amin, self.top_db, dims=3)
        if self.kind == 'mfcc': s = torch.matmul(self.dct, s)
        if self.normalize == 'example':
            m, sd = mean_std(s)
            s = standardize(s, m, sd, self.eps)
        elif self.normalize == 'dataset': s = standardize(s, self.mean, self.std, self.eps)
        return s


# =========================================================================== the served model
@dataclass(frozen=True)
class AudioModelSpec:
    """Everything a trained model needs to be used: built once by `audio_learner` from the DataLoaders, read
    by `predict`, sliding windows, export, embeddings, `Checkpoint` and the CLI; `config.json` of an exported
    model is its `to_dict()`.

    Parameters
    ----------
    front_end : `FrontEnd`. classes : class names, in the network's output order. multi_label : bool.
    duration : seconds the training clips were cropped or padded to (None: whole clips).
    pad : how a clip shorter than that is padded, 'zeros' or 'repeat'.
    window, hop : seconds per prediction window and between windows (defaults: duration and window / 2;
        window None scores the whole clip at once). agg : 'mean' or 'max' of the windows' probabilities.
    network : how `build_network` rebuilds the network (`describe_network`), or None.
    """
    front_end: FrontEnd
    classes: tuple = ()
    multi_label: bool = False
    duration: float | None = None
    pad: str = 'zeros'
    window: float | None = None
    hop: float | None = None
    agg: str = 'mean'
    network: dict | None = None

    def __post_init__(self):
        if not isinstance(self.front_end, FrontEnd):
            raise ValueError(f'AudioModelSpec.front_end must be a FrontEnd, got {type(self.front_end).__name__}')
        object.__setattr__(self, 'classes', tuple(str(c) for c in self.classes))
        if self.pad not in ('zeros', 'repeat'): raise ValueError(f"AudioModelSpec.pad must be 'zeros' or 'repeat', got {self.pad!r}")
        if self.agg not in ('mean', 'max'): raise ValueError(f"AudioModelSpec.agg must be 'mean' or 'max', got {self.agg!r}")
        for f in ('duration', 'window', 'hop'):
            v = getattr(self, f)
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f'AudioModelSpec.{f} must be None or > 0 seconds, got {v!r}')
        if self.window is None and self.duration is not None: object.__setattr__(self, 'window', self.duration)
        if self.hop is None and self.window is not None: object.__setattr__(self, 'hop', self.window / 2)

    def replace(self, **changes) -> 'AudioModelSpec':
        "A checked copy; a new `window` brings its default hop (window / 2) unless `hop` is given too."
        if 'window' in changes and 'hop' not in changes: changes['hop'] = None
        return dataclasses.replace(self, **changes)

    @property
    def window_length(self) -> int | None:
        "Samples per window (None: whole clips)."
        return None if self.window is None else seconds_to_samples(self.window, self.front_end.sample_rate, 1)

    @property
    def hop_length(self) -> int | None:
        return None if self.hop is None else seconds_to_samples(self.hop, self.front_end.sample_rate, 1)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {'format_version': FORMAT_VERSION, **d, 'front_end': self.front_end.to_dict(),
                'classes': list(self.classes), 'sample_rate': self.front_end.sample_rate}

    @classmethod
    def from_dict(cls, d: dict) -> 'AudioModelSpec':
        "The spec `to_dict` wrote (or a v0.1 export's config.json). Unknown fields raise a ValueError naming them."
        d = dict(d)
        if d.get('format_version', 1) == 1: d = _from_v1(d)
        version = d.pop('format_version')
        if version > FORMAT_VERSION:
            raise ValueError(f'AudioModelSpec format_version {version} is newer than this code reads ({FORMAT_VERSION})')
        d.pop('sample_rate', None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown: raise ValueError(f'AudioModelSpec has no field {unknown[0]!r} (fields: {", ".join(sorted(names))})')
        return cls(**{**d, 'front_end': FrontEnd.from_dict(d['front_end'])})


def _from_v1(cfg: dict) -> dict:
    "A v0.1 export config (log-mel only, windows in seconds) in the current format."
    fe = dict(cfg['front_end'])
    norm = fe.pop('normalize', None)
    fe.update(normalize='dataset', mean=norm[0], std=norm[1]) if isinstance(norm, (list, tuple)) else fe.update(normalize=norm)
    return dict(format_version=FORMAT_VERSION, front_end=fe, classes=cfg['classes'], multi_label=cfg['multi_label'],
                duration=cfg['window_seconds'], pad='repeat' if cfg.get('repeat') else 'zeros',
                window=cfg['window_seconds'], hop=cfg['hop_seconds'], agg=cfg['agg'], network=cfg.get('arch'))


class WaveformClassifier(nn.Module):
    """One waveform `(samples,)` (or `(channels, samples)`) at `sample_rate` -> class probabilities `(n_classes,)`.

    Parameters
    ----------
    front_end : module, windows `(n, channels, samples)` -> network input. net : the network.
    sample_rate : int, Hz. window_length, hop_length : samples per window and between window starts
        (`frame_signal`: the last window flush with the end, a shorter clip padded by `pad`);
        window_length None scores the whole clip as one window. multi_label : sigmoid instead of softmax.
    agg_max : aggregate the windows by max instead of mean. pad : 'zeros' or 'repeat'. channels : the
        network's channels (1: a 1-D waveform is expected, as the loaders downmix).

    `window_probs(wave)` gives the per-window probabilities `(n_windows, n_classes)`.
    """
    def __init__(self, front_end: nn.Module, net: nn.Module, sample_rate: int, window_length: int | None = None,
                 hop_length: int | None = None, multi_label: bool = False, agg_max: bool = False, pad: str = 'zeros',
                 channels: int = 1, **deprecated):
        super().__init__()
        window_length = _renamed(deprecated, 'window', 'window_length', window_length, 'WaveformClassifier')
        hop_length = _renamed(deprecated, 'hop', 'hop_length', hop_length, 'WaveformClassifier')
        if deprecated.pop('repeat', False): pad = 'repeat'
        if isinstance(pad, bool): pad = 'repeat' if pad else 'zeros'      # 0.1's positional `repeat`
        if deprecated: raise TypeError(f'WaveformClassifier got unexpected arguments {sorted(deprecated)}')
        self.front_end, self.net = front_end, net
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.whole = window_length is None
        self.window_length = 0 if self.whole else int(window_length)
        self.hop_length = int(hop_length or max(1, self.window_length // 2))
        self.multi_label, self.agg_max, self.pad = bool(multi_label), bool(agg_max), pad

    def windows(self, wave: torch.Tensor) -> torch.Tensor:
        "`(n_windows, channels, window_length)` cut from `wave` by `frame_signal` (the whole clip if no window)."
        if wave.ndim == 1: wave = wave.unsqueeze(0)
        if self.whole: return wave.unsqueeze(0)
        return frame_signal(wave, self.window_length, self.hop_length, self.pad)

    def window_probs(self, wave: torch.Tensor) -> torch.Tensor:
        logits = self.net(self.front_end(self.windows(wave)))
        return torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        p = self.window_probs(wave)
        return p.amax(dim=0) if self.agg_max else p.mean(dim=0)


def _renamed(kwargs: dict, old: str, new: str, value, where: str):
    "The value of a renamed argument: `new`'s, or `old`'s (popped from `kwargs`) with a DeprecationWarning."
    if old not in kwargs: return value
    import warnings
    warnings.warn(f'{where}: `{old}` is renamed `{new}`; the old name goes in the next release',
                  DeprecationWarning, stacklevel=3)
    old_value = kwargs.pop(old)
    return old_value if value is None else value


def waveform_classifier(spec: AudioModelSpec, net: nn.Module) -> WaveformClassifier:
    "The `WaveformClassifier` that `spec` describes, around `net` (eval mode)."
    fe = spec.front_end
    model = WaveformClassifier(FrontEndModule(fe), net, fe.sample_rate, spec.window_length, spec.hop_length,
                               spec.multi_label, spec.agg == 'max', spec.pad, fe.channels)
    model.spec, model.classes = spec, list(spec.classes)
    return model.eval()


# =========================================================================== describing and rebuilding networks
class ConcatPool(nn.Module):
    "Adaptive max and average pooling to `size`, concatenated along channels (max first, as fastai's head)."
    def __init__(self, size: int = 1):
        super().__init__()
        self.size = size

    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, self.size), F.adaptive_avg_pool2d(x, self.size)], 1)


class _TimmBody(nn.Module):
    "A timm model without classifier, keyed `model.*` (the layout fastai's `TimmBody` gives)."
    def __init__(self, model, needs_pool: bool):
        super().__init__()
        self.model, self.needs_pool = model, needs_pool

    def forward(self, x): return self.model.forward_features(x) if self.needs_pool else self.model(x)


def _head_layer(m: nn.Module) -> dict | None:
    name = type(m).__name__
    if name in ('AdaptiveConcatPool2d', 'ConcatPool'): return dict(type='ConcatPool', size=m.size)
    if isinstance(m, nn.AdaptiveAvgPool2d): return dict(type='AvgPool', size=m.output_size)
    if name == 'Flatten' or isinstance(m, nn.Flatten): return dict(type='Flatten')
    if isinstance(m, nn.BatchNorm1d): return dict(type='BatchNorm1d', num_features=m.num_features, eps=m.eps,
                                                  momentum=m.momentum)
    if isinstance(m, nn.Dropout): return dict(type='Dropout', p=m.p)
    if isinstance(m, nn.Linear): return dict(type='Linear', in_features=m.in_features, out_features=m.out_features,
                                             bias=m.bias is not None)
    if isinstance(m, nn.ReLU): return dict(type='ReLU')
    return None


def _layer(d: dict) -> nn.Module:
    t = d['type']
    if t == 'ConcatPool': return ConcatPool(d.get('size', 1))
    if t == 'AvgPool': return nn.AdaptiveAvgPool2d(d.get('size', 1))
    if t == 'Flatten': return nn.Flatten()
    if t == 'BatchNorm1d': return nn.BatchNorm1d(d['num_features'], eps=d['eps'], momentum=d['momentum'])
    if t == 'Dropout': return nn.Dropout(d['p'])
    if t == 'Linear': return nn.Linear(d['in_features'], d['out_features'], bias=d['bias'])
    if t == 'ReLU': return nn.ReLU()
    raise ValueError(f'cannot rebuild a head layer of type {t!r}')


def describe_network(model: nn.Module, arch_name: str | None = None) -> dict | None:
    """How `build_network` rebuilds `model` (a torchvision body named `arch_name`, or a timm body, with a
    fastai head, as `audio_learner` builds them; or a backbone of the audio-model registry, which records its
    name in `audio_model_name`), or None for a network it cannot describe (load it then with `net=`). Needs
    neither fastai nor timm: the layers are recognised by type."""
    name = getattr(model, 'audio_model_name', None)
    if isinstance(name, str):
        return dict(source='audio_model', name=name, n_out=int(model.head[-1].out_features),
                    **getattr(model, 'audio_model_kwargs', {}))
    if not (isinstance(model, nn.Sequential) and len(model) == 2 and isinstance(model[1], nn.Sequential)): return None
    head = [_head_layer(m) for m in model[1]]
    if any(h is None for h in head): return None
    body = model[0]
    first = next((m for m in body.modules() if isinstance(m, nn.Conv2d)), None)
    if first is None: return None
    if type(body).__name__ in ('TimmBody', '_TimmBody'):
        cfg = getattr(body.model, 'pretrained_cfg', None) or getattr(body.model, 'default_cfg', {})
        return dict(source='timm', name=cfg['architecture'], n_in=first.in_channels, needs_pool=bool(body.needs_pool),
                    head=head)
    if arch_name is None: return None
    return dict(source='torchvision', name=arch_name, n_in=first.in_channels, body_children=len(body), head=head)


def _set_input_channels(model: nn.Module, n_in: int):
    "Replace the first `nn.Conv2d` by one with `n_in` input channels (weights come from the checkpoint)."
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                if child.in_channels != n_in:
                    setattr(parent, name, nn.Conv2d(n_in, child.out_channels, child.kernel_size, child.stride,
                                                    child.padding, child.dilation, child.groups,
                                                    child.bias is not None, child.padding_mode))
                return


def torchvision_body(name: str, n_in: int, body_children: int) -> nn.Sequential:
    "The first `body_children` children of torchvision's `name` (untrained), its first convolution taking `n_in` channels."
    import torchvision
    full = getattr(torchvision.models, name)(weights=None)
    _set_input_channels(full, n_in)
    return nn.Sequential(*list(full.children())[:body_children])


def build_network(arch: dict) -> nn.Module:
    """An untrained network with the layout (and so the state-dict keys) described by `arch`
    (`describe_network`): `nn.Sequential(body, head)`. A torchvision body needs torchvision, a timm body timm;
    a served model that should need neither is loaded from its TorchScript, ONNX or `model.pt2` file. A
    registry backbone is built by `create_audio_model(name, n_out, pretrained=False)`."""
    if arch['source'] == 'audio_model':
        from fastai_audio.backbones import create_audio_model
        extra = {k: v for k, v in arch.items() if k not in ('source', 'name', 'n_out')}
        return create_audio_model(arch['name'], arch['n_out'], pretrained=False, **extra)
    if arch['source'] == 'torchvision': body = torchvision_body(arch['name'], arch['n_in'], arch['body_children'])
    elif arch['source'] == 'timm':
        import timm
        body = _TimmBody(timm.create_model(arch['name'], pretrained=False, num_classes=0, in_chans=arch['n_in']),
                         arch['needs_pool'])
    else: raise ValueError(f"unknown network source {arch['source']!r}")
    return nn.Sequential(body, nn.Sequential(*[_layer(d) for d in arch['head']]))


def load_waveform_model(path, net: nn.Module | None = None) -> WaveformClassifier:
    """The `WaveformClassifier` in folder `path` (model.safetensors + config.json), in eval mode.

    The network is rebuilt from the config's `network` (torchvision or timm needed for those bodies) unless
    `net` (the same architecture, any weights) is given; every weight must match (`strict=True`). For a model
    that needs torch alone, load `model.pt2` (`torch.export.load(path / 'model.pt2').module()`), `model.ts`
    or `model.onnx` instead."""
    from safetensors.torch import load_file
    path = Path(path)
    cfg = json.loads((path / 'config.json').read_text())
    if cfg.get('kind') == 'sed':
        raise ValueError(f'{path} holds a sound event detector (frame probabilities): load it with load_sed_model')
    if cfg.get('kind') == 'embedding':
        raise ValueError(f'{path} holds an embedder + head model: load model.ts or model.onnx, or build the '
                         'EmbeddingClassifier and load_state_dict(model.safetensors)')
    spec = AudioModelSpec.from_dict(cfg)
    if net is None:
        if not spec.network: raise ValueError(f'{path / "config.json"} does not say how to rebuild the network: pass net=')
        net = build_network(spec.network)
    model = waveform_classifier(spec, net)
    model.load_state_dict(load_file(str(path / 'model.safetensors')), strict=True)
    model.config = cfg
    return model.eval()
