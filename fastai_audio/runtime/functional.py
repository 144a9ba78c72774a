"""The kernels of the front end, in torch alone: pure functions on `(..., time)` waveforms and `(..., freq, frames)`
spectrograms, read by the fastai batch transforms (`transforms.spectrogram`), the exportable `FrontEndModule`, the
backbones (PANNs, CREPE) and the served models alike.

- window, edge padding, STFT (`torch.stft` for training, the DFT-basis convolution where a graph must export;
  equal), power, mel filterbank, DCT, dB, two-pass statistics and normalisation, device resampling;
- framing, each rule written once: `seconds_to_samples` (the one rounding of seconds to samples: to the nearest),
  `window_starts` (every hop while windows fit, then one flush with the end; a short clip gets one window) and
  `frame_signal` (the windows themselves, a short clip padded by `pad_to`).

Defaults: a kernel and its transform share their defaults, or the kernel has none. The STFT size has none here
(`stft`, `spectrogram`, `melspectrogram` and `mfcc` need `n_fft`: librosa says 2048, the transforms and
`FrontEnd` say 1024); every other default equals the one of the same parameter in `Spectrogram`,
`MelSpectrogram`, `MFCC`, `AmplitudeToDB`, `SpecNormalize` and `Resample` (`tests/test_one_place.py` compares the
signatures). Settings after the leading ones of `amplitude_to_db` are keyword-only, in `AmplitudeToDB`'s order.

Configured alike (center=True, pad_mode='constant', periodic Hann window, Slaney mel scale and norm, power 2)
the kernels match `librosa.stft`, `librosa.feature.melspectrogram`, `librosa.power_to_db` and
`librosa.feature.mfcc`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from .arguments import renamed_parameters

from .compat import check

__all__ = ['hz_to_mel', 'mel_to_hz', 'mel_frequencies', 'mel_filterbank', 'dct_matrix', 'window_function', 'pad_signal', 'stft_frames', 'stft', 'dft_basis', 'stft_dft', 'power_spectrum', 'spectrogram', 'melspectrogram', 'amplitude_to_db', 'mfcc', 'mean_std', 'masked_mean_std', 'length_mask', 'standardize', 'seconds_to_samples', 'window_starts', 'frame_signal', 'pad_to', 'resample_batch', 'level_db', 'frame_level_db', 'gate_frames']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('check_int', 'check_stft_args', 'check_db_args', 'resample_rows', 'regression_delta', 'pcen_kernel', 'resample_frames')

# =========================================================================== checks
def check_int(name: str, value, low: int = 1):
    "Raise a ValueError naming `name` unless `value` is an int >= `low`."
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f'{name} must be an int >= {low}, got {value!r}')


# =========================================================================== mel scale, filterbank, DCT
_F_SP, _MIN_LOG_HZ, _MIN_LOG_MEL, _LOGSTEP = 200.0 / 3, 1000.0, 15.0, math.log(6.4) / 27.0


def hz_to_mel(f, htk: bool = False):
    """Frequencies in Hz to mels.

    Slaney's scale (default) is linear below 1 kHz (3 bins per 200 Hz) and logarithmic above; `htk=True` uses
    2595 * log10(1 + f / 700).

    Parameters
    ----------
    f : float or np.ndarray
        Frequencies in Hz.
    htk : bool
        HTK mel scale instead of Slaney's (default False).

    Returns
    -------
    np.ndarray
        Mels, float64, the shape of `f` (0-d for a float).

    Examples
    --------
    >>> float(hz_to_mel(1000.0)), float(hz_to_mel(0.0, htk=True))
    (15.0, 0.0)
    """
    f = np.asarray(f, dtype=np.float64)
    if htk: return 2595.0 * np.log10(1.0 + f / 700.0)
    lin = f / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(m, htk: bool = False):
    """Mels to Hz, the inverse of `hz_to_mel` on the same scale.

    Parameters
    ----------
    m : float or np.ndarray
        Mels.
    htk : bool
        HTK mel scale instead of Slaney's (default False).

    Returns
    -------
    np.ndarray
        Hz, float64, the shape of `m` (0-d for a float).
    """
    m = np.asarray(m, dtype=np.float64)
    if htk: return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    lin = m * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, lin)


def mel_frequencies(n_mels: int, f_min: float = 0.0, *, f_max: float = 11025.0, htk: bool = False) -> np.ndarray:
    """`n_mels` frequencies in Hz, equally spaced on the mel scale from `f_min` to `f_max` (both included).

    Parameters
    ----------
    n_mels : int
        How many frequencies.
    f_min : float
        The first, in Hz (default 0.0).
    f_max : float
        The last, in Hz (default 11025.0).
    htk : bool
        HTK mel scale instead of Slaney's (default False).

    Returns
    -------
    np.ndarray
        Shape `(n_mels,)`, float64 Hz.
    """
    return mel_to_hz(np.linspace(hz_to_mel(f_min, htk), hz_to_mel(f_max, htk), n_mels), htk)


def mel_filterbank(sr: int, n_fft: int, *, n_mels: int = 128, f_min: float = 0.0, f_max: float | None = None,
                   htk: bool = False, norm: str | None = 'slaney', dtype=None) -> torch.Tensor:
    """Triangular mel filters.

    Filter i rises from mel point i to i+1 and falls to i+2, over `n_mels + 2` points equally spaced in mels. A
    band narrower than the bins' spacing catches no bin and is all zeros, as in librosa.

    Parameters
    ----------
    sr : int > 0
        Sample rate in Hz.
    n_fft : int > 0
        FFT size.
    n_mels : int > 0
        Number of bands (default 128).
    f_min : float
        Lower band edge in Hz (default 0.0); need 0 <= f_min < f_max.
    f_max : float or None
        Upper band edge in Hz (default None: sr / 2); need f_max <= sr / 2.
    htk : bool
        HTK mel scale instead of Slaney's (default False).
    norm : {'slaney', None}
        'slaney' (the default) scales each triangle to unit area (2 / bandwidth in Hz), so a band is an average
        of power; None leaves peaks at 1.
    dtype : numpy dtype or None
        Dtype of the result (default None: float32).

    Returns
    -------
    torch.Tensor
        The filters, `(n_mels, n_fft // 2 + 1)`.

    Raises
    ------
    ValueError
        Naming the bad setting: sr not > 0, n_fft or n_mels not a positive int, band edges out of order or too
        close for `n_mels` distinct bands, an unknown `norm`.
    """
    if not sr > 0: raise ValueError(f'sr must be > 0 Hz, got {sr}')
    check_int('n_fft', n_fft)
    check_int('n_mels', n_mels)
    f_max = sr / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sr / 2 + 1e-6:
        raise ValueError(f'need 0 <= f_min < f_max <= sr/2, got f_min={f_min}, f_max={f_max}, sr={sr}')
    fft_hz = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    pts = mel_frequencies(n_mels + 2, f_min, f_max=f_max, htk=htk)
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


def dct_matrix(n_mfcc: int, n_mels: int, *, norm: str | None = 'ortho', dtype=None) -> torch.Tensor:
    """DCT-II basis of shape `(n_mfcc, n_mels)`: row k is cos(pi * k * (2n + 1) / (2 * n_mels)).

    Parameters
    ----------
    n_mfcc : int
        Rows (coefficients); needs 1 <= n_mfcc <= n_mels.
    n_mels : int
        Columns (mel bands), >= 1.
    norm : {'ortho', None}
        'ortho' (the default) makes the full matrix orthonormal (as scipy's `dct(type=2, norm='ortho')`); None
        scales the rows by 2.
    dtype : numpy dtype or None
        Dtype of the result (default None: float32).

    Returns
    -------
    torch.Tensor
        The basis, `(n_mfcc, n_mels)`.

    Raises
    ------
    ValueError
        Unless 1 <= n_mfcc <= n_mels, or for an unknown `norm`.
    """
    check_int('n_mels', n_mels)
    check_int('n_mfcc', n_mfcc)
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
    """The periodic analysis window `name` of `win_length` samples.

    Parameters
    ----------
    name : {'hann', 'hamming', 'rectangular'}
        Which window.
    win_length : int
        Samples, >= 1.
    dtype : torch.dtype
        Dtype of the result (default torch.float64).

    Returns
    -------
    torch.Tensor
        Shape `(win_length,)`.

    Raises
    ------
    ValueError
        For an unknown name, or a win_length that is not an int >= 1.
    """
    check_int('win_length', win_length)
    if name == 'hann': return torch.hann_window(win_length, periodic=True, dtype=dtype)
    if name == 'hamming': return torch.hamming_window(win_length, periodic=True, dtype=dtype)
    if name == 'rectangular': return torch.ones(win_length, dtype=dtype)
    raise ValueError(f'window must be one of {WINDOWS}, got {name!r}')


def check_stft_args(n_fft, hop_length, win_length, pad_mode):
    "Validate STFT settings (`hop_length`, `win_length` already defaulted), naming the culprit in a ValueError."
    check_int('n_fft', n_fft)
    check_int('win_length', win_length)
    check_int('hop_length', hop_length)
    if win_length > n_fft: raise ValueError(f'win_length must be <= n_fft ({n_fft}), got {win_length}')
    if pad_mode not in PAD_MODES: raise ValueError(f'pad_mode must be one of {PAD_MODES}, got {pad_mode!r}')


def pad_signal(x: torch.Tensor, pad: int, mode: str = 'constant') -> torch.Tensor:
    """`x` extended by `pad` samples on both sides as `numpy.pad` does, for any length.

    A clip shorter than `pad` is reflected or wrapped again and again (a 1-sample clip is repeated), where
    `torch.nn.functional.pad` would refuse. Index arithmetic only, so it exports (TorchScript, ONNX).

    Parameters
    ----------
    x : torch.Tensor
        Signals `(..., time)`.
    pad : int
        Samples added at each end.
    mode : {'constant', 'reflect', 'replicate', 'circular'}
        'constant' (zeros, the default), 'reflect', 'replicate' (numpy's 'edge') or 'circular' (numpy's 'wrap').

    Returns
    -------
    torch.Tensor
        Shape `(..., time + 2 * pad)`.

    Raises
    ------
    ValueError
        For an unknown mode.
    """
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
    """Frames the STFT gives for `n_samples` samples.

    1 + (n + 2 * (n_fft // 2) - n_fft) // hop_length centred (1 + n // hop_length for an even n_fft), else
    1 + (n - n_fft) // hop_length.

    Parameters
    ----------
    n_samples : int or torch.Tensor
        Samples of the signal.
    n_fft : int
        FFT size.
    hop_length : int
        Samples between frames.
    center : bool
        Whether the signal is padded by n_fft // 2 at each end (default True).

    Returns
    -------
    int or torch.Tensor
        Frames, as `n_samples` is.

    Examples
    --------
    >>> stft_frames(16000, 1024, 256), stft_frames(16000, 1024, 256, center=False)
    (63, 59)
    """
    if center: return 1 + (n_samples + 2 * (n_fft // 2) - n_fft) // hop_length
    return 1 + (n_samples - n_fft) // hop_length


def _centre_window(window: torch.Tensor, n_fft: int) -> torch.Tensor:
    "`window` zero-padded at both ends to `n_fft` samples (the extra sample, if odd, on the right)."
    left = (n_fft - window.shape[-1]) // 2
    return F.pad(window, (left, n_fft - window.shape[-1] - left))


def _centred(x: torch.Tensor, n_fft: int, center: bool, pad_mode: str) -> torch.Tensor:
    "The signal both STFT forms transform: padded by n_fft // 2 with `pad_mode` when centred (the one rule)."
    return pad_signal(x, n_fft // 2, pad_mode) if center else x


def stft(x: torch.Tensor, n_fft: int, *, hop_length: int | None = None, win_length: int | None = None,
         window: torch.Tensor | None = None, center: bool = True, pad_mode: str = 'constant') -> torch.Tensor:
    """Short-time Fourier transform by `torch.stft` (the fast form, for training).

    Parameters
    ----------
    x : torch.Tensor
        Signals `(..., time)`, at least 1 sample (centred) or `n_fft` samples (`center=False`).
    n_fft : int > 0
        FFT size in samples (no default: librosa says 2048, the transforms and `FrontEnd` 1024).
    hop_length : int or None
        Samples between frames (default None: `win_length // 4`, at least 1).
    win_length : int or None
        Window size in samples, <= n_fft (default None: n_fft).
    window : torch.Tensor or None
        The window, `(win_length,)` (default None: periodic Hann), zero-padded to n_fft at the centre.
    center : bool
        Frame t is centred on sample `t * hop_length`, the signal padded by `n_fft // 2` on both sides with
        `pad_mode` (default True).
    pad_mode : {'constant', 'reflect', 'replicate', 'circular'}
        The padding when centred (see `pad_signal`; default 'constant').

    Returns
    -------
    torch.Tensor
        Complex, `(..., n_fft // 2 + 1, frames)`, frames as `stft_frames`.

    Raises
    ------
    ValueError
        For bad settings (naming them), or a signal too short.

    Examples
    --------
    >>> stft(torch.zeros(2, 16000), n_fft=512).shape
    torch.Size([2, 257, 126])
    """
    win_length = n_fft if win_length is None else win_length
    hop_length = max(1, win_length // 4) if hop_length is None else hop_length
    check_stft_args(n_fft, hop_length, win_length, pad_mode)
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
    """The windowed DFT as convolution weights: the cosine rows then the minus-sine rows, times the window.

    Parameters
    ----------
    n_fft : int
        FFT size in samples.
    window : torch.Tensor
        The window, `(win_length,)`, zero-padded at the centre to n_fft if shorter.

    Returns
    -------
    torch.Tensor
        Shape `(2 * (n_fft // 2 + 1), 1, n_fft)`, float64.
    """
    window = _centre_window(window.double(), n_fft)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
    ang = 2 * math.pi * k * torch.arange(n_fft, dtype=torch.float64)[None] / n_fft
    return torch.cat([torch.cos(ang) * window, -torch.sin(ang) * window])[:, None]


def stft_dft(x: torch.Tensor, basis: torch.Tensor, hop_length: int, *, center: bool = True,
             pad_mode: str = 'constant') -> tuple[torch.Tensor, torch.Tensor]:
    """The STFT as a strided convolution with a DFT basis, the form that TorchScript and ONNX export.

    Equal to `stft` with the same settings.

    Parameters
    ----------
    x : torch.Tensor
        Signals `(..., time)`.
    basis : torch.Tensor
        The windowed DFT basis `(2 * (n_fft // 2 + 1), 1, n_fft)` (see `dft_basis`), in the dtype of `x`.
    hop_length : int
        Samples between frames.
    center : bool
        Whether the signal is padded by n_fft // 2 at each end with `pad_mode` (default True).
    pad_mode : {'constant', 'reflect', 'replicate', 'circular'}
        The padding when centred (see `pad_signal`; default 'constant').

    Returns
    -------
    tuple of torch.Tensor
        Real and imaginary parts, each `(..., n_fft // 2 + 1, frames)`.
    """
    x = _centred(x, basis.shape[-1], center, pad_mode)
    shape = x.shape
    out = F.conv1d(x.reshape(-1, 1, shape[-1]), basis, stride=hop_length)
    re, im = out.chunk(2, dim=1)
    return re.reshape(*shape[:-1], *re.shape[-2:]), im.reshape(*shape[:-1], *im.shape[-2:])


def power_spectrum(re: torch.Tensor, im: torch.Tensor, power: float = 2.0) -> torch.Tensor:
    """|re + i im| ** power.

    Parameters
    ----------
    re : torch.Tensor
        Real parts.
    im : torch.Tensor
        Imaginary parts, shaped as `re`.
    power : float
        2 power (the default), 1 magnitude, any power > 0.

    Returns
    -------
    torch.Tensor
        Shaped as `re`.
    """
    pw = torch.addcmul(re * re, im, im)          # re^2 + im^2: ~5x faster on CPU than |z|^2 via abs
    if power == 2: return pw
    return pw.sqrt() if power == 1 else pw.pow(power / 2)


def spectrogram(x: torch.Tensor, n_fft: int, *, hop_length: int | None = None, win_length: int | None = None,
                window: torch.Tensor | None = None, center: bool = True, pad_mode: str = 'constant',
                power: float = 2.0) -> torch.Tensor:
    """|STFT|**power of signals `(..., time)`.

    Parameters
    ----------
    x : torch.Tensor
        Signals `(..., time)`.
    n_fft : int > 0
        FFT size in samples (no default, as `stft`).
    hop_length : int or None
        Samples between frames, as `stft` (default None: `win_length // 4`).
    win_length : int or None
        Window size in samples, as `stft` (default None: n_fft).
    window : torch.Tensor or None
        The window, as `stft` (default None: periodic Hann).
    center : bool
        Centred frames, as `stft` (default True).
    pad_mode : {'constant', 'reflect', 'replicate', 'circular'}
        The padding when centred, as `stft` (default 'constant').
    power : float
        2 gives power (energy per bin, the default), 1 magnitude; any power > 0.

    Returns
    -------
    torch.Tensor
        Real, `(..., n_fft // 2 + 1, frames)`.

    Raises
    ------
    ValueError
        For a power not > 0, or as `stft`.
    """
    if not power > 0: raise ValueError(f'power must be > 0, got {power}')
    z = stft(x, n_fft, hop_length=hop_length, win_length=win_length, window=window, center=center, pad_mode=pad_mode)
    return power_spectrum(z.real, z.imag, power)


def melspectrogram(x: torch.Tensor, sr: int, n_fft: int, *, hop_length: int | None = None, n_mels: int = 128,
                   f_min: float = 0.0, f_max: float | None = None, power: float = 2.0, htk: bool = False,
                   norm: str | None = 'slaney', fbank: torch.Tensor | None = None, **stft_kw) -> torch.Tensor:
    """Mel spectrogram of signals `(..., time)` at `sr` Hz.

    The `spectrogram` (power 2 by default) projected on `mel_filterbank(sr, n_fft, n_mels, f_min, f_max, htk,
    norm)` (or on `fbank`). `n_fft` has no default (the transforms' and `FrontEnd`'s 1024 is not librosa's 2048:
    say which); the other defaults are `MelSpectrogram`'s.

    Parameters
    ----------
    x : torch.Tensor
        Signals `(..., time)`.
    sr : int
        Sample rate in Hz.
    n_fft : int > 0
        FFT size in samples.
    hop_length : int or None
        Samples between frames (default None: `win_length // 4`, as `stft`).
    n_mels : int
        Mel bands (default 128).
    f_min : float
        Lower band edge in Hz (default 0.0).
    f_max : float or None
        Upper band edge in Hz (default None: sr / 2).
    power : float
        2 power (the default), 1 magnitude.
    htk : bool
        HTK mel scale instead of Slaney's (default False).
    norm : {'slaney', None}
        The filters' normalisation, as `mel_filterbank` (default 'slaney').
    fbank : torch.Tensor or None
        Filters `(n_mels, n_fft // 2 + 1)` to use instead (default None: `mel_filterbank` of the settings).
    **stft_kw
        `win_length`, `window`, `center`, `pad_mode`, passed to `spectrogram`.

    Returns
    -------
    torch.Tensor
        Shape `(..., n_mels, frames)`.

    Raises
    ------
    ValueError
        As `mel_filterbank` and `spectrogram`, for bad settings.

    Examples
    --------
    >>> melspectrogram(torch.zeros(16000), sr=16000, n_fft=1024, hop_length=256, n_mels=64).shape
    torch.Size([64, 63])
    """
    if fbank is None: fbank = mel_filterbank(sr, n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max, htk=htk, norm=norm, dtype=np.float64).to(x.device, x.dtype)
    return torch.matmul(fbank, spectrogram(x, n_fft, hop_length=hop_length, power=power, **stft_kw))


_DB_MULT = {'power': 10.0, 'magnitude': 20.0}


def check_db_args(ref, top_db, amin):
    "ValueErrors for `amplitude_to_db` settings: `ref` 'max' or a number, `top_db` None or >= 0, `amin` None or > 0."
    if isinstance(ref, str) and ref != 'max':
        raise ValueError(f"ref must be 'max' or a number, got {ref!r}")
    if top_db is not None and not top_db >= 0: raise ValueError(f'top_db must be >= 0 or None, got {top_db}')
    if amin is not None and not amin > 0: raise ValueError(f'amin must be > 0 or None, got {amin}')


def amplitude_to_db(x: torch.Tensor, stype: str = 'power', *, ref: float | str = 'max', amin: float | None = None,
                    top_db: float | None = 80.0, dims: int = 2) -> torch.Tensor:
    """A power (`stype='power'`: 10 log10) or magnitude (`'magnitude'`: 20 log10) spectrogram in dB.

    Parameters
    ----------
    x : torch.Tensor
        Spectrograms `(..., freq, frames)`, >= 0.
    stype : {'power', 'magnitude'}
        What `x` holds (default 'power').
    ref : 'max' or float
        'max' (the default) measures each spectrogram against its own maximum (its loudest bin is 0 dB); a
        number is a fixed reference (1.0 gives absolute dB).
    amin : float or None
        Floor before the log (default None: 1e-10 for power, 1e-5 for magnitude), so silence stays finite.
    top_db : float or None
        Clip each spectrogram to at most `top_db` below its own peak (default 80.0; None: no clip).
    dims : int
        How many trailing dims make one spectrogram (2, the default: `(freq, frames)`; 3: `(channels, freq,
        frames)`, what the batch transforms use); the reference and `top_db` are taken over those, separately
        for each leading index, never over a whole batch.

    Returns
    -------
    torch.Tensor
        dB, shaped as `x`.

    Raises
    ------
    ValueError
        For a `ref` string other than 'max', `top_db` < 0, `amin` <= 0, or an unknown `stype`.
    """
    check_db_args(ref, top_db, amin)
    if stype not in _DB_MULT: raise ValueError(f"stype must be 'power' or 'magnitude', got {stype!r}")
    mult = _DB_MULT[stype]
    amin = (1e-10 if stype == 'power' else 1e-5) if amin is None else amin
    red = tuple(range(-dims, 0))
    db = mult * torch.log10(x.clamp(min=amin))
    if isinstance(ref, str): db = db - db.amax(dim=red, keepdim=True)
    else: db = db - mult * math.log10(max(amin, abs(ref)))
    if top_db is not None: db = torch.maximum(db, db.amax(dim=red, keepdim=True) - top_db)
    return db


def mfcc(x: torch.Tensor, sr: int, *, n_mfcc: int = 20, n_mels: int = 128, ref: float | str = 1.0,
         top_db: float | None = 80.0, amin: float | None = None, dct: torch.Tensor | None = None,
         **mel_kw) -> torch.Tensor:
    """Mel-frequency cepstral coefficients of signals `(..., time)`.

    The orthonormal DCT-II of the dB mel spectrogram (`ref=1.0`, `top_db=80` per clip, as
    `librosa.feature.mfcc`).

    Parameters
    ----------
    x : torch.Tensor
        Signals `(..., time)`.
    sr : int
        Sample rate in Hz.
    n_mfcc : int
        Coefficients, <= n_mels (default 20).
    n_mels : int
        Mel bands (default 128).
    ref : 'max' or float
        dB reference, as `amplitude_to_db` (default 1.0: absolute dB).
    top_db : float or None
        Clip at this many dB below each clip's peak (default 80.0; None: no clip).
    amin : float or None
        Floor before the log (default None: 1e-10 for power, 1e-5 for magnitude).
    dct : torch.Tensor or None
        A DCT matrix `(n_mfcc, n_mels)` to use instead (default None: `dct_matrix(n_mfcc, n_mels)`).
    **mel_kw
        Passed to `melspectrogram` (`n_fft` among them: it has no default).

    Returns
    -------
    torch.Tensor
        Shape `(..., n_mfcc, frames)`.

    Raises
    ------
    ValueError
        As `melspectrogram`, `amplitude_to_db` and `dct_matrix`, for bad settings.
    """
    mel = melspectrogram(x, sr, n_mels=n_mels, **mel_kw)
    db = amplitude_to_db(mel, 'power' if mel_kw.get('power', 2.0) == 2 else 'magnitude', ref=ref, amin=amin,
                         top_db=top_db)
    if dct is None: dct = dct_matrix(n_mfcc, n_mels, dtype=np.float64).to(x.device, x.dtype)
    return torch.matmul(dct, db)


# =========================================================================== resampling on the device
def resample_rows(x2: torch.Tensor, factor: torch.Tensor, length: int, half_width: int = 16, phases: int = 2048,
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
    """Resample signals from `orig_sr` to `sr` Hz on their device.

    Band-limited: a Hann-windowed sinc `2 * half_width` output samples wide, cut off just below the lower
    Nyquist frequency, so nothing aliases when the rate drops. Against soxr 'VHQ' on content below 0.9 x the
    lower Nyquist frequency the difference is -50 dB of the signal or less (`tests/test_frontend.py`).

    Parameters
    ----------
    x : torch.Tensor
        Signals `(..., time)`.
    orig_sr : int
        Their sample rate in Hz.
    sr : int
        The sample rate wanted, in Hz.
    half_width : int
        Half the kernel's width in output samples (default 16); 32 gains about 20 dB for twice the work.

    Returns
    -------
    torch.Tensor
        `(..., ceil(time * sr / orig_sr))`; `x` itself when the rates match.
    """
    if orig_sr == sr: return x
    n = x.shape[-1]
    length = -(-n * sr // orig_sr)
    rows = x.reshape(-1, n)
    f = orig_sr / sr
    factor = torch.full((rows.shape[0],), f, device=x.device)
    taps = math.ceil(half_width * max(1.0, f))     # the same transition width when reading faster
    return resample_rows(rows, factor, length, taps).reshape(*x.shape[:-1], length)


# =========================================================================== statistics, normalisation
def length_mask(lengths: torch.Tensor, n: int) -> torch.Tensor:
    """Boolean mask of the real (not padded) samples or frames of a padded batch.

    Parameters
    ----------
    lengths : torch.Tensor
        Real lengths `(batch,)`.
    n : int
        The padded length.

    Returns
    -------
    torch.Tensor
        Bool `(batch, n)`: True where index < `lengths`.
    """
    return torch.arange(n, device=lengths.device) < lengths.to(torch.long)[:, None]


def mean_std(x: torch.Tensor, weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased standard deviation of each example of a batch, in two passes.

    The mean is refined by the mean of the residuals, so a constant example gets exactly its value and a
    standard deviation of 0 (a one-pass float32 mean is off by rounding, which dividing by the tiny standard
    deviation would blow up to O(1)).

    Parameters
    ----------
    x : torch.Tensor
        Examples `(batch, ...)`.
    weight : torch.Tensor or None
        0/1, shaped as `x`: only the entries where it is 1 count (default None: all).

    Returns
    -------
    tuple of torch.Tensor
        (mean, standard deviation), each `(batch, 1, ..., 1)`.
    """
    red = tuple(range(1, x.ndim))
    def total(t): return (t if weight is None else t * weight).sum(dim=red, keepdim=True)
    n = total(torch.ones_like(x[:1])) if weight is None else weight.sum(dim=red, keepdim=True)
    mean = total(x) / n
    mean = mean + total(x - mean) / n
    return mean, (total((x - mean).square()) / (n - 1).clamp_min(1)).sqrt()


def masked_mean_std(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`mean_std` of each example over its real frames only (a padded batch's).

    Parameters
    ----------
    x : torch.Tensor
        Examples `(batch, ..., frames)`.
    mask : torch.Tensor
        Bool `(batch, frames)`, True on the frames that count; an example needs at least one True frame.

    Returns
    -------
    tuple of torch.Tensor
        (mean, standard deviation), each `(batch, 1, ..., 1)`.
    """
    m = mask.to(x.dtype).reshape(mask.shape[0], *([1] * (x.ndim - 2)), mask.shape[1]).expand_as(x)
    return mean_std(x, m)


def standardize(x: torch.Tensor, mean, std, eps: float = 1e-6) -> torch.Tensor:
    """(x - mean) / (std + eps).

    Parameters
    ----------
    x : torch.Tensor
        Values to standardise.
    mean : float or torch.Tensor
        A number (dataset statistics) or a tensor broadcasting to `x`.
    std : float or torch.Tensor
        A number (dataset statistics) or a tensor broadcasting to `x`.
    eps : float
        Added to `std` (default 1e-6).

    Returns
    -------
    torch.Tensor
        Shaped as `x` (broadcast).
    """
    return (x - mean) / (std + eps)


# =========================================================================== framing
@renamed_parameters(sample_rate='sr')
def seconds_to_samples(seconds, sr: int, at_least: int = 0):
    """Seconds as a whole number of samples, rounded to the nearest (halves to even).

    The one rounding of seconds to samples in the package (loading, cropping, windows, augmentations).

    Parameters
    ----------
    seconds : float or torch.Tensor
        A duration, or a tensor of them.
    sr : int
        Sample rate in Hz.
    at_least : int
        The fewest samples returned (default 0).

    Returns
    -------
    int or torch.Tensor
        An int for a number, a long tensor of the same shape for a tensor of seconds.

    Examples
    --------
    >>> seconds_to_samples(0.96, 16000), seconds_to_samples(0.0, 16000, at_least=1)
    (15360, 1)
    """
    if isinstance(seconds, torch.Tensor): return (seconds * sr).round().long().clamp_min(at_least)
    return max(at_least, int(round(seconds * sr)))


def pad_to(x: torch.Tensor, length: int, pad: str = 'zeros') -> torch.Tensor:
    """Signals extended at the end to at least `length` samples.

    Parameters
    ----------
    x : torch.Tensor
        Signals `(..., time)`.
    length : int
        The fewest samples wanted.
    pad : {'zeros', 'repeat'}
        With zeros ('zeros', the default) or by looping the clip ('repeat'; an empty clip gets zeros).

    Returns
    -------
    torch.Tensor
        `(..., max(time, length))`: a longer clip is returned as it is.

    Raises
    ------
    ValueError
        For another `pad`.
    """
    n = x.shape[-1]
    if pad == 'repeat' and n > 0: return x.index_select(-1, torch.arange(max(n, length), device=x.device) % n)
    if pad != 'zeros' and pad != 'repeat': raise ValueError("pad must be 'zeros' or 'repeat', got " + pad)
    return F.pad(x, (0, max(0, length - n)))


def window_starts(n_samples: int, window_length: int, hop_length: int) -> torch.Tensor:
    """Start samples of windows over a signal: every hop while they fit, then one flush with the end.

    0, hop, 2 hop... while they fit, and one more flush with the end if the last stops short, so every sample
    is seen and no window hangs over the end; a signal shorter than one window gets one window at 0 (pad it to
    `window_length`, as `frame_signal` does). Branch-free, so it exports. The one framing rule of the package
    (served windows, embeddings, windowed datasets, CREPE frames).

    Parameters
    ----------
    n_samples : int
        Samples of the signal.
    window_length : int > 0
        Samples per window.
    hop_length : int > 0
        Samples between window starts.

    Returns
    -------
    torch.Tensor
        Long `(n_windows,)`.

    Raises
    ------
    ValueError
        For a window_length or hop_length that is not > 0.

    Examples
    --------
    >>> window_starts(10, 4, 3).tolist()
    [0, 3, 6]
    >>> window_starts(11, 4, 3).tolist()
    [0, 3, 6, 7]
    """
    if not torch.jit.is_scripting():
        for name, v in (('window_length', window_length), ('hop_length', hop_length)):
            if isinstance(v, int) and v <= 0: raise ValueError(f'{name} must be > 0, got {v}')
    last = (torch.ones((), dtype=torch.long) * (n_samples - window_length)).clamp_min(0)
    count = (last + hop_length - 1) // hop_length + 1
    if torch.jit.is_scripting(): n = int(count)
    else:
        n = count.item()            # read from a tensor: exporters then keep the count free, one window included
        check(n >= 1)
    return torch.clamp(torch.arange(n) * hop_length, max=last)


def frame_signal(wave: torch.Tensor, window_length: int, hop_length: int, pad: str = 'zeros') -> torch.Tensor:
    """Windows of a waveform, starting at `window_starts`.

    A signal shorter than one window gives one window, padded by `pad_to`.

    Parameters
    ----------
    wave : torch.Tensor
        `(samples,)` or `(channels, samples)`.
    window_length : int > 0
        Samples per window.
    hop_length : int > 0
        Samples between window starts.
    pad : {'zeros', 'repeat'}
        How a short signal is padded (default 'zeros').

    Returns
    -------
    torch.Tensor
        `(n_windows, window_length)`, or `(n_windows, channels, window_length)` for `(channels, samples)`.
    """
    wave = pad_to(wave, window_length, pad)
    n = wave.shape[-1]
    starts = window_starts(n, window_length, hop_length).to(wave.device)
    idx = (starts[:, None] + torch.arange(window_length, device=wave.device)[None]).reshape(-1)
    out = wave.index_select(-1, idx)
    if wave.ndim == 1: return out.reshape(-1, window_length)
    return out.reshape(wave.shape[0], -1, window_length).transpose(0, 1)


# =========================================================================== levels
def level_db(x: torch.Tensor, amin: float = 1e-10) -> torch.Tensor:
    """RMS level of the last axis in dB re full scale.

    0 dB for a constant of 1.0, -3.01 dB for a full-scale sine, `10 * log10(amin)` (-100 dB) for silence.

    Parameters
    ----------
    x : torch.Tensor
        Samples, `(..., time)`, in [-1, 1].
    amin : float
        Floor of the mean square (default 1e-10).

    Returns
    -------
    torch.Tensor
        `(...)` decibels.

    Examples
    --------
    >>> round(float(level_db(torch.full((100,), 0.1))), 3)
    -20.0
    """
    return _power_db(x.square().mean(-1), amin)


def _power_db(mean_square: torch.Tensor, amin: float = 1e-10) -> torch.Tensor:
    "A mean square as dB re full scale, floored at `amin`."
    return 10 * torch.log10(mean_square.clamp_min(amin))


def frame_level_db(x: torch.Tensor, frame_length: int, hop_length: int, center: bool = True) -> torch.Tensor:
    """`level_db` of each STFT frame.

    The frames of `stft` (zero padding of `frame_length // 2` when `center`), so frame i here is frame i of a
    spectrogram with `n_fft = frame_length`; a mean square over each frame by average pooling, which every export
    path takes at any length. Scriptable (served detectors gate their frames with it), hence `center` positional.

    Parameters
    ----------
    x : torch.Tensor
        Samples, `(..., time)`.
    frame_length : int
        Samples a frame (the front end's n_fft).
    hop_length : int
        Samples between frames.
    center : bool
        Frames centred on their sample (default True), as the front end's.

    Returns
    -------
    torch.Tensor
        `(..., frames)` decibels, `stft_frames(time, frame_length, hop_length, center)` of them.
    """
    if center: x = torch.nn.functional.pad(x, [frame_length // 2, frame_length // 2])
    power = torch.nn.functional.avg_pool1d(x.reshape(-1, 1, x.shape[-1]).square(), frame_length, hop_length)
    return _power_db(power.reshape(x.shape[:-1] + power.shape[-1:]))


def gate_frames(probs: torch.Tensor, wave: torch.Tensor, frame_length: int, hop_length: int, center: bool,
                gate_db: float) -> torch.Tensor:
    """Frame probabilities with the frames at or below a level gate set to 0: the gate rule, written once.

    A frame is heard when its loudest channel's `frame_level_db` is above `gate_db`. Scriptable (the served
    detector's graph carries it), hence all positional.

    Parameters
    ----------
    probs : torch.Tensor
        `(..., frames, classes)`, on the STFT's frame grid of `wave`.
    wave : torch.Tensor
        `(..., channels, samples)`, the audio the frames come from.
    frame_length, hop_length : int
        The front end's n_fft and hop in samples.
    center : bool
        Whether its frames are centred.
    gate_db : float
        The gate in dB re full scale (`-math.inf`: none).

    Returns
    -------
    torch.Tensor
        `probs` with the unheard frames 0.
    """
    heard = frame_level_db(wave, frame_length, hop_length, center).amax(-2) > gate_db        # (..., frames)
    return probs * heard[..., :probs.shape[-2], None].to(probs.dtype)


# =========================================================================== window scores to clip scores
def aggregate_windows(preds: torch.Tensor, clip_ids: torch.Tensor | None = None, n_clips: int | None = None,
                      agg: str = 'mean') -> torch.Tensor:
    """Clip scores from window scores: the mean or the max over each clip's windows.

    The one rule by which window scores become clip scores, for served models and learners alike. Scriptable,
    and the one-clip form exports (ONNX, `torch.export`).

    Parameters
    ----------
    preds : torch.Tensor
        The windows' scores (probabilities), `(n_windows, ...)`.
    clip_ids : torch.Tensor or None
        Long `(n_windows,)`, the clip of each window (default None: all the windows are one clip's).
    n_clips : int or None
        Clips in the result (default None: `clip_ids.max() + 1`). A clip with no window scores zeros.
    agg : {'mean', 'max'}
        How the windows are aggregated (default 'mean').

    Returns
    -------
    torch.Tensor
        `(...)` for one clip (`clip_ids` None), else `(n_clips, ...)`.

    Raises
    ------
    ValueError
        For another `agg`.
    """
    if agg != 'mean' and agg != 'max': raise ValueError("agg must be 'mean' or 'max', got '" + agg + "'")
    if clip_ids is None: return preds.amax(dim=0) if agg == 'max' else preds.mean(dim=0)
    n = int(clip_ids.max()) + 1 if n_clips is None else n_clips
    flat = preds.reshape(preds.shape[0], -1)
    ids = clip_ids.to(preds.device)
    idx = ids.unsqueeze(1).expand_as(flat)
    if agg == 'mean':
        out = flat.new_zeros((n, flat.shape[1])).scatter_add_(0, idx, flat)
        out = out / torch.bincount(ids, minlength=n).clamp_min(1).to(flat.dtype).unsqueeze(1)
    else:
        out = flat.new_full((n, flat.shape[1]), float('-inf')).scatter_reduce_(0, idx, flat, 'amax')
        out = out.nan_to_num(neginf=0.0)
    return out.reshape([n] + list(preds.shape[1:]))


__all__ += ['aggregate_windows']


# =========================================================================== per-channel energy normalisation
@torch.jit.script_if_tracing           # a traced front end stays right for clips of other lengths
def exponential_smoothing(x: torch.Tensor, smoothing: float, initial: float = 1.0) -> torch.Tensor:
    """The first-order recursion `M[t] = (1 - s) M[t-1] + s x[t]`, `M[-1] = initial`, along the last axis, loop-free.

    Unrolled, `M[t] = sum_{k <= t} s (1 - s) ** (t - k) x[k] + (1 - s) ** (t + 1) initial`: one product with a
    lower-triangular `(frames, frames)` matrix shared by all rows. Written so, it has no loop over frames, and
    TorchScript, `torch.export` and ONNX carry it for any number of frames; it equals the recursion up to
    rounding. The matrix takes frames ** 2 numbers (a 1-minute clip at 62.5 frames a second: 14 M), so serve
    hour-long recordings in windows.

    Parameters
    ----------
    x : torch.Tensor
        `(..., frames)`, floating point (computed in its dtype).
    smoothing : float
        `s`, in (0, 1].
    initial : float
        `M[-1]` (default 1.0, librosa's for PCEN).

    Returns
    -------
    torch.Tensor
        `M`, shaped and typed as `x`.

    Examples
    --------
    >>> exponential_smoothing(torch.tensor([1., 1., 1.]), 0.5, initial=0.0)
    tensor([0.5000, 0.7500, 0.8750])
    """
    a = 1.0 - smoothing
    t = torch.arange(x.shape[-1], dtype=x.dtype, device=x.device)
    lag = t[:, None] - t[None, :]                                                    # t - k
    weights = torch.where(lag >= 0, smoothing * torch.pow(a, lag.clamp(min=0)), torch.zeros_like(lag))
    return torch.matmul(x, weights.T) + initial * torch.pow(a, t + 1)


def deltas(x: torch.Tensor, order: int = 1, *, width: int = 5) -> torch.Tensor:
    """Time derivatives of features: the regression slope over `width` frames (HTK's delta), `order` times.

    `d[t] = sum_{n=1..N} n (x[t+n] - x[t-n]) / (2 sum_{n=1..N} n**2)` with `N = width // 2`, the edges repeated
    (the first and last frame stand in for frames beyond the clip). Inside the clip it equals
    `librosa.feature.delta(x, width=width)`, whose edges are fitted by a polynomial instead.

    Parameters
    ----------
    x : torch.Tensor
        `(..., frames)`.
    order : int >= 1
        1 (default): velocity; 2: acceleration (the delta of the delta).
    width : int
        Odd, >= 3 (default 5).

    Returns
    -------
    torch.Tensor
        Shaped and typed as `x`.

    Examples
    --------
    >>> deltas(torch.arange(6.))
    tensor([0.5000, 0.8000, 1.0000, 1.0000, 0.8000, 0.5000])
    """
    check_int('order', order)
    if isinstance(width, bool) or not isinstance(width, int) or width < 3 or width % 2 == 0:
        raise ValueError(f'width must be an odd int >= 3, got {width!r}')
    for _ in range(order): x = regression_delta(x, width // 2)
    return x


@torch.jit.script_if_tracing
def regression_delta(x: torch.Tensor, half_width: int) -> torch.Tensor:
    "One `deltas` pass over `(..., frames)` with N = `half_width`, unchecked (the form `FrontEndModule` scripts)."
    N = half_width
    kernel = torch.arange(-N, N + 1, dtype=x.dtype, device=x.device) / float(N * (N + 1) * (2 * N + 1) // 3)
    y = F.conv1d(F.pad(x.reshape(-1, 1, x.shape[-1]), (N, N), mode='replicate'), kernel.view(1, 1, -1))
    return y.reshape(x.shape)


def pcen_smoothing(sr: int, hop_length: int, time_constant: float = 0.4) -> float:
    """The weight `s` of PCEN's smoother `M[t] = (1 - s) M[t-1] + s E[t]` for a time constant in seconds.

    It is the positive root of `T**2 s**2 + s - 1 = 0` with `T = time_constant * sr / hop_length` frames, the
    weight librosa's `pcen` derives from its time constant.

    Parameters
    ----------
    sr : int
        Sample rate in Hz of the audio the spectrogram was computed from.
    hop_length : int
        Samples between its frames.
    time_constant : float
        Seconds the smoother averages over (default 0.4).

    Returns
    -------
    float
        `s`, in (0, 1].

    Examples
    --------
    >>> round(pcen_smoothing(22050, 512), 6)
    0.056389
    """
    check_int('sr', sr)
    check_int('hop_length', hop_length)
    if not time_constant > 0: raise ValueError(f'time_constant must be > 0 seconds, got {time_constant!r}')
    t = time_constant * sr / hop_length
    return (math.sqrt(1 + 4 * t * t) - 1) / (2 * t * t)


def pcen(spec: torch.Tensor, sr: int, hop_length: int, *, gain: float = 0.98, bias: float = 2.0, power: float = 0.5,
         time_constant: float = 0.4, eps: float = 1e-6, smoothing: float | None = None) -> torch.Tensor:
    """Per-channel energy normalisation (Wang et al. 2017) of a magnitude or power spectrogram.

    Each frequency channel `E` is divided by a smoothed copy of itself raised to `gain` (automatic gain
    control: a constant gain or a slow level change of the recording chain cancels), then compressed:
    `(E / (eps + M) ** gain + bias) ** power - bias ** power`, with `M[t] = (1 - s) M[t-1] + s E[t]` and
    `M[-1] = 1` (librosa's initial state). Equal to `librosa.pcen` with the same settings (and `max_size=1`);
    like it, it expects the spectrogram of audio scaled to integer range (multiply a [-1, 1] waveform's
    magnitudes by 2 ** 31 first, or its power by 2 ** 62).

    Parameters
    ----------
    spec : torch.Tensor
        `(..., freq, frames)`, non-negative (magnitudes or powers, e.g. a mel spectrogram before dB).
    sr : int
        Sample rate in Hz of the audio, with `hop_length` for the smoother's time constant.
    hop_length : int
        Samples between frames.
    gain : float
        Exponent of the gain control, in [0, 1] (default 0.98).
    bias : float
        Offset before the compression, >= 0 (default 2.0).
    power : float
        Compression exponent, >= 0 (default 0.5); 0 compresses with `log1p` instead.
    time_constant : float
        Seconds the smoother averages over (default 0.4).
    eps : float
        Floor of the smoothed energy, > 0 (default 1e-6).
    smoothing : float or None
        The smoother's weight `s` in (0, 1]; None (default) derives it from `time_constant`
        (`pcen_smoothing`).

    Returns
    -------
    torch.Tensor
        The same shape and dtype as `spec`.

    Raises
    ------
    ValueError
        For a setting out of its range, naming it.

    Examples
    --------
    >>> out = pcen(torch.rand(2, 40, 100) * 2 ** 31, 16000, 256)    # doctest: +SKIP
    """
    s = pcen_smoothing(sr, hop_length, time_constant) if smoothing is None else float(smoothing)
    if not 0 < s <= 1: raise ValueError(f'smoothing must be in (0, 1], got {smoothing!r}')
    if not 0 <= gain <= 1: raise ValueError(f'gain must be in [0, 1], got {gain!r}')
    if bias < 0 or power < 0 or not eps > 0:
        raise ValueError(f'bias and power must be >= 0 and eps > 0, got bias={bias!r}, power={power!r}, eps={eps!r}')
    return pcen_kernel(spec, s, float(gain), float(bias), float(power), float(eps))


def pcen_kernel(spec: torch.Tensor, smoothing: float, gain: float, bias: float, power: float,
                eps: float) -> torch.Tensor:
    "`pcen` with its smoother's weight given and nothing checked (the form `FrontEndModule` scripts)."
    x = spec
    smooth = exponential_smoothing(x, smoothing, initial=1.0)
    agc = torch.exp(-gain * (math.log(eps) + torch.log1p(smooth / eps)))     # (eps + M) ** -gain, in log space
    if power == 0: out = torch.log1p(x * agc)
    elif bias == 0: out = torch.exp(power * (torch.log(x) + torch.log(agc)))
    else: out = bias ** power * torch.expm1(power * torch.log1p(x * agc / bias))
    return out.to(spec.dtype)


__all__ += ['exponential_smoothing', 'deltas', 'pcen_smoothing', 'pcen']


@torch.jit.script_if_tracing
def resample_frames(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`(batch, channels, rows, frames)` resampled along time to the frames of `like` (`(..., frames)`) by linear
    interpolation (frame centres aligned, as `F.interpolate(align_corners=False)`); the rows stay as they are.
    `like` is a tensor rather than a count so that a traced front end follows the clip's length."""
    n_in, n_out = x.shape[-1], like.shape[-1]
    pos = ((torch.arange(n_out, dtype=x.dtype, device=x.device) + 0.5) * n_in / n_out - 0.5).clamp(0, n_in - 1)
    left = pos.floor()
    right = (left + 1).clamp(max=n_in - 1)
    w = pos - left
    return x.index_select(-1, left.long()) * (1 - w) + x.index_select(-1, right.long()) * w
