"""Augmentation on the batch's device: waveforms (pitch, tempo, gain, polarity, shift, noise, background,
filters) before the spectrogram, and SpecAugment masks after it.

The functions work on whole batches `(batch, channels, time)` (or `(batch, channels, freq, frames)` for the
masks) with one parameter per example, on any device; only the resampling inside `pitch_shift` loops over
examples (one FFT pair each, since each comes out at its own length). The transforms
draw those parameters (uniformly in the given range, each example independently with probability `p`)
from torch's random generator, so fastai's `set_seed` makes a batch reproducible; they run on training
batches only (`split_idx=0`), never on validation or inference batches.
"""
from __future__ import annotations

import functools
import math
import numbers
from pathlib import Path

import numpy as np

import torch
from fasttransform import DisplayedTransform

from .core import AudioTensor, audio_extensions, get_audio_files, load_audio
from .features import AudioSpectrogram, _check_int, _rewrap, stft_frames

__all__ = ['phase_vocoder', 'time_stretch', 'pitch_shift', 'apply_gain', 'time_shift', 'colored_noise', 'add_noise',
           'mix_at_snr', 'frequency_filter', 'mask_along', 'RandomAudioTransform', 'PitchShift', 'TimeStretch', 'Gain',
           'PolarityInversion', 'TimeShift', 'AddNoise', 'AddBackground', 'RandomFilter', 'FrequencyMask',
           'TimeMask', 'audio_aug_transforms']


# --------------------------------------------------------------------------- functions
def _per_example(v, x: torch.Tensor) -> torch.Tensor:
    "A number or `(batch,)` values as a float tensor `(batch, 1, ..., 1)` broadcasting against `x`."
    v = torch.as_tensor(v, dtype=torch.float32, device=x.device)
    if v.ndim == 0: v = v.expand(x.shape[0])
    return v.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)


def phase_vocoder(spec: torch.Tensor, rate: torch.Tensor, n_frames: int, hop_length: int,
                  n_fft: int | None = None) -> torch.Tensor:
    """Re-time complex STFT frames `spec` `(batch, freq, frames)` so that output frame k reads input time
    `k * rate[b]` (rate > 1 is faster): magnitudes are interpolated between neighbouring frames and each bin's
    phase advances by the measured instantaneous frequency, so partials keep their pitch. Returns
    `(batch, freq, n_frames)`; output frames past the end of the input are zero. `rate`: `(batch,)`.
    n_fft : the STFT's size, for bin k's expected advance of 2 pi k hop_length / n_fft per frame (default
    `2 * (freq - 1)`, the even size; an odd one must be given)."""
    _, n_freq, t = spec.shape
    n_fft = 2 * (n_freq - 1) if n_fft is None else n_fft
    spec = torch.nn.functional.pad(spec, (0, 2))
    mag_in, ang_in = spec.abs(), spec.angle()                  # once per input frame, then gathered (real)
    steps = torch.arange(n_frames, device=spec.device, dtype=torch.float32)[None] * rate.float()[:, None]
    i0 = steps.floor().long()
    frac = (steps - i0).to(mag_in.dtype)[:, None]
    valid = (i0 < t)[:, None]
    i0 = i0.clamp(max=t)
    idx0, idx1 = i0[:, None].expand(-1, n_freq, -1), (i0 + 1)[:, None].expand(-1, n_freq, -1)
    mag = torch.lerp(mag_in.gather(-1, idx0), mag_in.gather(-1, idx1), frac)
    advance = 2 * math.pi * hop_length / max(n_fft, 1)          # expected phase advance per frame of bin 1
    expected = (torch.arange(n_freq, device=spec.device, dtype=mag.dtype) * advance)[None, :, None]
    dphi = ang_in.gather(-1, idx1) - ang_in.gather(-1, idx0) - expected
    dphi = dphi - 2 * math.pi * torch.round(dphi / (2 * math.pi))
    step = torch.remainder(expected, 2 * math.pi) + dphi
    phase = ang_in[..., :1] + torch.cumsum(step, -1) - step          # exclusive cumulative sum
    return torch.polar(mag * valid, phase)


def _rows(x: torch.Tensor, values):
    """`x` `(batch, ..., time)` as rows `(batch * channels, time)`, and `values` (a number or one per example)
    as a float tensor with one entry per row."""
    v = torch.as_tensor(values, dtype=torch.float32, device=x.device).expand(x.shape[0])
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    return flat.reshape(-1, x.shape[-1]), v[:, None].expand(-1, flat.shape[1]).reshape(-1)


def _stft_args(n_fft, hop_length, x):
    """torch.stft settings for the vocoder: centred frames on zero padding (as librosa >= 0.10), so clips of any
    length (even shorter than `n_fft // 2`, which reflect padding refuses) can be stretched."""
    hop_length = max(1, n_fft // 4) if hop_length is None else hop_length
    _check_int('n_fft', n_fft)
    _check_int('hop_length', hop_length)
    if hop_length > n_fft: raise ValueError(f'hop_length must be <= n_fft ({n_fft}), got {hop_length}')
    return dict(n_fft=n_fft, hop_length=hop_length, window=torch.hann_window(n_fft, device=x.device, dtype=x.dtype),
                center=True, pad_mode='constant', return_complex=True)


def _stretch_to(x2: torch.Tensor, rate: torch.Tensor, length: int, n_fft: int, hop_length: int | None):
    "Phase-vocoder `x2` `(n, time)` by `rate` `(n,)` and return exactly `length` samples."
    kw = _stft_args(n_fft, hop_length, x2)
    spec = torch.stft(x2, **kw)
    out = phase_vocoder(spec, rate, stft_frames(length, n_fft, kw['hop_length']), kw['hop_length'], n_fft)
    return torch.istft(out, n_fft, kw['hop_length'], window=kw['window'], center=True, length=length)


def time_stretch(x: torch.Tensor, rate, n_fft: int = 1024, hop_length: int | None = None) -> torch.Tensor:
    """Play `x` `(batch, ..., time)` `rate` times faster (rate > 1) or slower (< 1) at the same pitch, with a
    phase vocoder (STFT of `n_fft`, hop `n_fft // 4`), then cut or zero-pad back to the input length.
    rate : a number or one per example `(batch,)`, finite and > 0 (else a ValueError). Any clip of at least one
    sample works (one much shorter than `n_fft` is mostly smeared, not stretched)."""
    rows, r = _rows(x, rate)
    if not (torch.isfinite(r) & (r > 0)).all(): raise ValueError(f'rate must be finite and > 0, got {r.tolist()}')
    return _stretch_to(rows, r, x.shape[-1], n_fft, hop_length).reshape(x.shape)


@functools.lru_cache(maxsize=4)
def _smooth_sizes(limit: int) -> np.ndarray:
    "All 7-smooth numbers (2^a 3^b 5^c 7^d, the sizes FFTs are fastest at) up to `limit`, sorted."
    out = [1]
    for p in (2, 3, 5, 7):
        out = [v * p ** e for v in out for e in range(int(math.log(limit, p)) + 1) if v * p ** e <= limit]
    return np.array(sorted(set(out)))


def _smooth_around(x: float) -> tuple[np.ndarray, int]:
    "The 7-smooth sizes up to a power of 2 above 2x (so the table is cached) and where `x` falls among them."
    sizes = _smooth_sizes(1 << int(2 * x + 16).bit_length())
    return sizes, int(np.searchsorted(sizes, x))


def _nearest_smooth(x: float) -> int:
    sizes, j = _smooth_around(x)
    j = min(max(j, 1), len(sizes) - 1)
    return int(sizes[j - 1] if x - sizes[j - 1] < sizes[j] - x else sizes[j])


def _next_smooth(x: float) -> int:
    sizes, j = _smooth_around(x)
    return int(sizes[j])


def _resample_fft(x2: torch.Tensor, factor: torch.Tensor, length: int, pad: int = 512):
    """Resample each row of `x2` `(n, time)` so that output sample j is the band-limited value of the input at
    `j * f[n]`, zeros past the input's end, `length` samples in all. Returns `(out, f)`, `f` being the factor
    used: FFT sizes are rounded to fast 7-smooth ones (and recur between batches, so their plans are cached),
    which moves f by up to ~0.5% (9 cents of pitch) from `factor`. Done in the frequency domain by truncating
    or zero-padding the spectrum, ideal low-pass interpolation, so nothing aliases; at least `pad` zeros after
    the signal keep its end from wrapping onto its start. One batched rfft; one irfft per row, since each row
    comes out at its own length. (irfft zero-pads a short spectrum itself.)"""
    n = x2.shape[-1]
    n_in = _next_smooth(n + pad)
    spec = torch.fft.rfft(x2, n=n_in, dim=-1)
    out = x2.new_zeros(x2.shape[0], length)
    used = []
    # A one-row torch FFT on the CPU pays ~25 ms of set-up per call (MKL); numpy's caches its plans (~1 ms).
    on_cpu = x2.device.type == 'cpu'
    spec_rows = spec.numpy() if on_cpu else spec
    for i, f in enumerate(factor.tolist()):
        n_out = _nearest_smooth(n_in / f)
        bins = min(n_out // 2 + 1, spec.shape[-1])
        if on_cpu: y = torch.from_numpy(np.fft.irfft(spec_rows[i, :bins], n=n_out).astype(np.float32))
        else: y = torch.fft.irfft(spec_rows[i, :bins], n=n_out)
        y = y.to(x2.dtype) * (n_out / n_in)
        used.append(n_in / n_out)
        keep = min(length, int(math.ceil(n / used[-1])))
        out[i, :keep] = y[:keep]
    return out, torch.tensor(used, dtype=torch.float32, device=x2.device)


def frequency_filter(x: torch.Tensor, gain_fn, sr: int | None = None) -> torch.Tensor:
    """Filter `x` `(batch, ..., time)` in the frequency domain (zero phase): `gain_fn(hz)` gets the rfft bin
    frequencies `(1, n_bins)` (in Hz if `sr` is given, else cycles per sample) and returns the amplitude gain,
    shape `(batch, n_bins)` or broadcastable."""
    n = x.shape[-1]
    spec = torch.fft.rfft(x, dim=-1)
    hz = torch.fft.rfftfreq(n, d=1.0 / (sr or 1.0), device=x.device)[None]
    g = torch.as_tensor(gain_fn(hz), device=x.device, dtype=spec.real.dtype)
    g = g.reshape(g.shape[0], *([1] * (x.ndim - 2)), g.shape[-1])
    return torch.fft.irfft(spec * g, n=n, dim=-1).to(x.dtype)


def pitch_shift(x: torch.Tensor, semitones, n_fft: int = 1024, hop_length: int | None = None) -> torch.Tensor:
    """Shift the pitch of `x` `(batch, ..., time)` by `semitones` (a number or one per example) keeping its
    duration: resample by 2**(semitones/12) in the frequency domain (ideal band-limited interpolation, so
    nothing aliases when shifting up), then `time_stretch` back to the original length. `semitones` must be
    finite (else a ValueError); any clip of at least one sample works."""
    rows, st = _rows(x, semitones)
    if not torch.isfinite(st).all(): raise ValueError(f'semitones must be finite, got {st.tolist()}')
    n = x.shape[-1]
    longest = int(math.ceil(n / float(2.0 ** (st.min() / 12)) * 1.01)) + 1
    res, fr = _resample_fft(rows, 2.0 ** (st / 12), longest)
    keep = torch.arange(longest, device=x.device)[None] < (n / fr)[:, None]
    return _stretch_to(res * keep, 1.0 / fr, n, n_fft, hop_length).reshape(x.shape)


def apply_gain(x: torch.Tensor, db) -> torch.Tensor:
    "Multiply `x` `(batch, ...)` by 10**(db/20): +6 dB doubles the amplitude. `db`: a number or one per example."
    return x * 10.0 ** (_per_example(db, x) / 20)


def time_shift(x: torch.Tensor, shift, wrap: bool = True) -> torch.Tensor:
    """Delay `x` `(batch, ..., time)` by `shift` samples (negative: advance), one per example. With `wrap` the
    samples pushed off one end come back at the other (a roll); otherwise the gap is filled with zeros."""
    n = x.shape[-1]
    s = torch.as_tensor(shift, device=x.device).long().expand(x.shape[0])
    src = torch.arange(n, device=x.device)[None] - s[:, None]
    inside = (src >= 0) & (src < n)
    src = src % n
    flat = x.reshape(x.shape[0], -1, n)
    out = flat.gather(-1, src[:, None].expand(-1, flat.shape[1], -1))
    if not wrap: out = out * inside[:, None].to(x.dtype)
    return out.reshape(x.shape)


_NOISE_EXPONENT = {'white': 0.0, 'pink': 1.0, 'brown': 2.0}


def _noise_exponent(color: str) -> float:
    if color not in _NOISE_EXPONENT: raise ValueError(f"color must be one of {list(_NOISE_EXPONENT)}, got {color!r}")
    return _NOISE_EXPONENT[color]


def colored_noise(shape, color: str = 'white', device=None, dtype=torch.float32) -> torch.Tensor:
    """Gaussian noise of `shape` `(..., time)` whose power falls as 1/f**k: k=0 'white', 1 'pink', 2 'brown'
    (shaped in the frequency domain; the DC bin is removed for pink and brown). Unit power (mean square) along
    time, for any length: a 1-sample white noise is +-1, a 1-sample pink or brown one is 0 (no bin but DC)."""
    k = _noise_exponent(color)
    w = torch.randn(shape, device=device, dtype=dtype)
    if k:
        spec = torch.fft.rfft(w, dim=-1)
        f = torch.fft.rfftfreq(shape[-1], device=device).to(dtype)
        amp = torch.where(f > 0, f.clamp(min=1e-12) ** (-k / 2), torch.zeros_like(f))
        w = torch.fft.irfft(spec * amp, n=shape[-1], dim=-1)
    return w / w.square().mean(dim=-1, keepdim=True).sqrt().clamp(min=1e-12)


def mix_at_snr(x: torch.Tensor, other: torch.Tensor, snr_db) -> torch.Tensor:
    """`x + g * other` with `g` chosen per example so that 10*log10(power(x) / power(g * other)) = `snr_db`
    (power = mean square over everything but the batch dim). A silent `x` or `other` gets nothing added."""
    red = tuple(range(1, x.ndim))
    ps, pn = x.pow(2).mean(red, keepdim=True), other.pow(2).mean(red, keepdim=True)
    g = torch.sqrt(ps / pn.clamp(min=1e-20) / 10.0 ** (_per_example(snr_db, x) / 10)) * (pn > 0)
    return x + g * other


def add_noise(x: torch.Tensor, snr_db, color: str = 'white') -> torch.Tensor:
    "Add `color` noise to `x` `(batch, ..., time)` at `snr_db` (a number or one per example); see `mix_at_snr`."
    return mix_at_snr(x, colored_noise(x.shape, color, x.device, x.dtype), snr_db)


def mask_along(x: torch.Tensor, dim: int, start, width, value=0.0) -> torch.Tensor:
    """Set `width[b]` consecutive entries from `start[b]` along `dim` of each example of `x` to `value`
    (SpecAugment). `start`, `width`: `(batch,)` integers; `value`: a number, or `(batch,)` values, one per example."""
    n = x.shape[dim]
    pos = torch.arange(n, device=x.device)
    start = torch.as_tensor(start, device=x.device)[:, None]
    width = torch.as_tensor(width, device=x.device)[:, None]
    m = (pos[None] >= start) & (pos[None] < start + width)                 # (batch, n)
    shape = [x.shape[0]] + [1] * (x.ndim - 1)
    shape[dim % x.ndim] = n
    if not isinstance(value, torch.Tensor): return x.masked_fill(m.reshape(shape), value)
    return torch.where(m.reshape(shape), _per_example(value, x), x)


# --------------------------------------------------------------------------- transforms
def _bounds(rng_range) -> tuple:
    "A number or a `(lo, hi)` pair as `(lo, hi)`."
    return (rng_range, rng_range) if isinstance(rng_range, numbers.Real) else tuple(rng_range)


def _uniform(rng_range, n: int) -> torch.Tensor:
    lo, hi = _bounds(rng_range)
    return lo + (hi - lo) * torch.rand(n)


def _check_range(name: str, rng_range, above: float | None = None, at_least: float | None = None):
    """Raise a ValueError naming `name` unless `rng_range` is a number or a `(lo, hi)` pair of finite numbers with
    lo <= hi, lo > `above` and lo >= `at_least` (when given)."""
    try: lo, hi = (float(v) for v in _bounds(rng_range))
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number or a (low, high) pair, got {rng_range!r}') from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f'{name} must be finite with low <= high, got {rng_range!r}')
    if above is not None and not lo > above: raise ValueError(f'{name} must be > {above}, got {rng_range!r}')
    if at_least is not None and not lo >= at_least: raise ValueError(f'{name} must be >= {at_least}, got {rng_range!r}')


class _RandomBatchTransform(DisplayedTransform):
    """Picks each example with probability `p`, draws its parameters (`draw`) and sends the picked ones through
    `apply` together on the batch's device. Training batches only (`split_idx=0`). Parameters come from
    torch's generator, which `set_seed` seeds. (No `encodes` here: fasttransform merges a base's `encodes`
    into every subclass, and waveform and spectrogram augmentations must each see only their own type.)
    The batch keeps its shape, dtype and metadata (`sr`, `lengths`, `settings`); with `p=0` it is unchanged.
    Out-of-range settings raise a ValueError naming them when the transform is made, not mid-training."""
    split_idx, order = 0, 30

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p <= 1: raise ValueError(f'p must be in [0, 1], got {p}')
        self.p = p

    def draw(self, n: int) -> dict: return {}
    def apply(self, x: torch.Tensor, **params) -> torch.Tensor: raise NotImplementedError

    def _augment(self, x):
        picked = (torch.rand(x.shape[0]) < self.p).nonzero().flatten()
        if len(picked) == 0: return x.as_subclass(torch.Tensor)
        params = {k: v.to(x.device) if isinstance(v, torch.Tensor) else v for k, v in self.draw(len(picked)).items()}
        out = x.as_subclass(torch.Tensor).clone()
        idx = picked.to(x.device)
        out[idx] = self.apply(out[idx], **params)
        return out


class RandomAudioTransform(_RandomBatchTransform):
    """Base of the waveform augmentations: `AudioTensor` batches `(batch, channels, samples)` in, the same out,
    each example picked with probability `p` and given its own random parameters. Training batches only."""
    def encodes(self, x: AudioTensor) -> AudioTensor:
        self._sr = x.sr
        return AudioTensor(self._augment(x), **x.__dict__)          # sr, and lengths from `pad_to_longest`


class PitchShift(RandomAudioTransform):
    "Shift each picked clip's pitch by a uniform number of `semitones` in `(lo, hi)`, keeping its duration."
    def __init__(self, semitones=(-2.0, 2.0), p=0.5, n_fft=1024):
        super().__init__(p)
        _check_range('semitones', semitones)
        _check_int('n_fft', n_fft)
        self.semitones, self.n_fft = semitones, n_fft

    def draw(self, n): return {'semitones': _uniform(self.semitones, n)}
    def apply(self, x, semitones): return pitch_shift(x, semitones, self.n_fft)


class TimeStretch(RandomAudioTransform):
    """Play each picked clip `rate` times faster (uniform in `(lo, hi)`) at the same pitch, then cut or
    zero-pad it back to the clip length."""
    def __init__(self, rate=(0.8, 1.25), p=0.5, n_fft=1024):
        super().__init__(p)
        _check_range('rate', rate, above=0)
        _check_int('n_fft', n_fft)
        self.rate, self.n_fft = rate, n_fft

    def draw(self, n): return {'rate': _uniform(self.rate, n)}
    def apply(self, x, rate): return time_stretch(x, rate, self.n_fft)


class Gain(RandomAudioTransform):
    "Change each picked clip's level by a uniform `db` in `(lo, hi)` decibels."
    order = 40

    def __init__(self, db=(-6.0, 6.0), p=0.5):
        super().__init__(p)
        _check_range('db', db)
        self.db = db

    def draw(self, n): return {'db': _uniform(self.db, n)}
    def apply(self, x, db): return apply_gain(x, db)


class PolarityInversion(RandomAudioTransform):
    "Flip the sign of each picked clip (inaudible alone, but changes the waveform a network sees)."
    order = 40
    def apply(self, x): return -x


class TimeShift(RandomAudioTransform):
    """Shift each picked clip by a uniform fraction of its length in `(-max_shift, max_shift)`; `wrap=True`
    rolls it around, `wrap=False` fills the gap with silence."""
    def __init__(self, max_shift: float = 0.2, wrap: bool = True, p=0.5):
        super().__init__(p)
        if not isinstance(max_shift, numbers.Real) or not 0 <= max_shift < math.inf:
            raise ValueError(f'max_shift must be a fraction >= 0, got {max_shift!r}')
        self.max_shift, self.wrap = max_shift, wrap

    def draw(self, n): return {'frac': _uniform((-self.max_shift, self.max_shift), n)}
    def apply(self, x, frac): return time_shift(x, (frac * x.shape[-1]).round().long(), self.wrap)


class AddNoise(RandomAudioTransform):
    """Add `color` noise ('white', 'pink' or 'brown') to each picked clip at a uniform signal-to-noise ratio
    `snr_db` in `(lo, hi)` decibels."""
    order = 45

    def __init__(self, snr_db=(10.0, 40.0), color: str = 'white', p=0.5):
        super().__init__(p)
        _noise_exponent(color)                                  # refuse an unknown colour now, not mid-training
        _check_range('snr_db', snr_db)
        self.snr_db, self.color = snr_db, color

    def draw(self, n): return {'snr_db': _uniform(self.snr_db, n)}
    def apply(self, x, snr_db): return add_noise(x, snr_db, self.color)


class AddBackground(RandomAudioTransform):
    """Mix a random segment of a random background clip (audio files under `folder`, or a list of files) into
    each picked clip at a uniform `snr_db` in `(lo, hi)`. The backgrounds are loaded once, at the clips'
    sample rate, on first use; shorter ones are looped."""
    order = 45

    def __init__(self, folder, snr_db=(5.0, 30.0), p=0.5):
        super().__init__(p)
        self.files = get_audio_files(folder) if isinstance(folder, (str, Path)) and Path(folder).is_dir() else \
            [Path(f) for f in folder]
        if not self.files: raise FileNotFoundError(f'AddBackground: no audio files ({", ".join(audio_extensions[:3])}...) in {folder}')
        _check_range('snr_db', snr_db)
        self.snr_db, self._bank, self._bank_sr = snr_db, None, None

    def _load(self, sr):
        if self._bank_sr != sr: self._bank, self._bank_sr = [load_audio(f, sr=sr)[0].as_subclass(torch.Tensor) for f in self.files], sr
        return self._bank

    def draw(self, n):
        return {'which': torch.randint(len(self.files), (n,)), 'offset': torch.rand(n), 'snr_db': _uniform(self.snr_db, n)}

    def apply(self, x, which, offset, snr_db):
        bank, n = self._load(self._sr), x.shape[-1]
        segs = []
        for i, o in zip(which.tolist(), offset.tolist()):
            b = bank[i]
            if len(b) < n: b = b.repeat(-(-n // len(b)))
            start = int(o * (len(b) - n + 1))
            segs.append(b[start:start + n])
        bg = torch.stack(segs).to(x.device, x.dtype).reshape(x.shape[0], *([1] * (x.ndim - 2)), n).expand_as(x)
        return mix_at_snr(x, bg, snr_db)

    def __getstate__(self):
        d = dict(self.__dict__)
        d['_bank'], d['_bank_sr'] = None, None
        return d


class RandomFilter(RandomAudioTransform):
    """Filter each picked clip with a zero-phase Butterworth-shaped `kind` chosen at random among `kinds`:
    'lowpass' or 'highpass' (cutoff log-uniform in `cutoff` Hz, `order` sets the slope: 6*order dB/octave),
    or 'eq' (a bell of `eq_db` dB gain, one octave wide, at a log-uniform centre in `cutoff`)."""
    order = 35

    def __init__(self, kinds=('lowpass', 'highpass', 'eq'), cutoff=(200.0, 4000.0), eq_db=(-12.0, 12.0), order=2,
                 p=0.5):
        super().__init__(p)
        bad = set(kinds) - {'lowpass', 'highpass', 'eq'}
        if bad: raise ValueError(f'unknown filter kinds {sorted(bad)}')
        if not kinds: raise ValueError("kinds must name at least one of 'lowpass', 'highpass', 'eq'")
        _check_range('cutoff', cutoff, above=0)
        _check_range('eq_db', eq_db)
        _check_int('order', order)
        self.kinds, self.cutoff, self.eq_db, self.filter_order = tuple(kinds), cutoff, eq_db, order

    def draw(self, n):
        lo, hi = (math.log(c) for c in self.cutoff)
        return {'kind': torch.randint(len(self.kinds), (n,)), 'fc': torch.exp(_uniform((lo, hi), n)),
                'db': _uniform(self.eq_db, n)}

    def apply(self, x, kind, fc, db):
        names = torch.tensor([['lowpass', 'highpass', 'eq'].index(k) for k in self.kinds], device=x.device)[kind]
        fc, db, k2 = fc[:, None], db[:, None], 2 * self.filter_order

        def gain(hz):
            ratio = hz / fc
            low = 1 / torch.sqrt(1 + ratio ** k2)
            high = ratio ** (k2 / 2) / torch.sqrt(1 + ratio ** k2)
            bell = 10 ** (db / 20 * torch.exp(-0.5 * (torch.log2(hz.clamp(min=1.0) / fc) / 0.5) ** 2))
            return torch.where(names[:, None] == 0, low, torch.where(names[:, None] == 1, high, bell))

        return frequency_filter(x, gain, sr=self._sr)


class _SpecMask(_RandomBatchTransform):
    """SpecAugment: `n_masks` bands of a uniform width in `width` (bins/frames) set to `value` in each picked
    example. `value='mean'` (the default) fills with each spectrogram's own mean level, which is neutral with or
    without normalisation (0, the mean after `SpecNormalize`, is the loudest value of an unnormalised dB
    spectrogram referenced to its maximum); a number fills with that number."""
    order, _dim = 80, -2

    def __init__(self, width=(0, 8), n_masks: int = 1, value: float | str = 'mean', p=1.0):
        super().__init__(p)
        _check_range('width', width, at_least=0)
        if any(not isinstance(w, (int, np.integer)) for w in _bounds(width)):
            raise ValueError(f'width must be an int or a pair of ints (bins/frames), got {width!r}')
        _check_int('n_masks', n_masks, low=0)
        if isinstance(value, str) and value != 'mean': raise ValueError(f"value must be a number or 'mean', got {value!r}")
        self.width, self.n_masks, self.value = _bounds(width), n_masks, value

    def apply(self, x, **_):
        n = x.shape[self._dim]
        value = x.mean(dim=tuple(range(1, x.ndim))) if self.value == 'mean' else self.value   # before any mask
        for _ in range(self.n_masks):                # widths past the axis are capped at its length: all masked
            w = torch.randint(min(self.width[0], n), min(self.width[1], n) + 1, (x.shape[0],))
            start = (torch.rand(x.shape[0]) * (n - w + 1)).long()
            x = mask_along(x, self._dim, start.to(x.device), w.to(x.device), value)
        return x

    def encodes(self, x: AudioSpectrogram) -> AudioSpectrogram:
        return _rewrap(x, self._augment(x))                  # settings, and lengths of a padded batch


class FrequencyMask(_SpecMask):
    """Mask `n_masks` bands of consecutive frequency rows, each of a uniform width in `width`, in each picked
    spectrogram, with its mean level (`value='mean'`) or a number. Its order puts it after `SpecNormalize`."""
    _dim = -2


class TimeMask(_SpecMask):
    "Mask `n_masks` runs of consecutive frames, each of a uniform width in `width`, as `FrequencyMask`."
    _dim = -1


def audio_aug_transforms(pitch=(-2.0, 2.0), stretch=(0.85, 1.15), gain_db=(-6.0, 6.0), shift=0.1,
                         noise_snr=(15.0, 40.0), filter_p=0.3, freq_mask=(0, 6), time_mask=(0, 20), n_masks=2,
                         p=0.5, background=None, background_snr=(5.0, 30.0)) -> list:
    """A preset of batch augmentations, as `aug_transforms` is for images: returns the list to put in
    `batch_tfms` next to the spectrogram transforms (their `order` puts the waveform ones before and the masks
    after it). Each waveform augmentation applies to a clip with probability `p`; None (or 0) leaves one out.

    pitch : semitones (-2, 2). stretch : rate (0.85, 1.15). gain_db : (-6, 6). shift : fraction of the clip
    (0.1, rolled). noise_snr : white noise SNR in dB (15, 40). filter_p : probability of a random
    low-/high-pass/EQ (0.3). freq_mask, time_mask : SpecAugment widths in bins/frames, `n_masks` each (2).
    background : a folder of background clips to mix in at `background_snr` dB.
    """
    t = []
    if pitch: t.append(PitchShift(pitch, p=p))
    if stretch: t.append(TimeStretch(stretch, p=p))
    if shift: t.append(TimeShift(shift, p=p))
    if filter_p: t.append(RandomFilter(p=filter_p))
    if gain_db: t.append(Gain(gain_db, p=p))
    if noise_snr: t.append(AddNoise(noise_snr, p=p))
    if background: t.append(AddBackground(background, background_snr, p=p))
    if freq_mask: t.append(FrequencyMask(freq_mask, n_masks))
    if time_mask: t.append(TimeMask(time_mask, n_masks))
    return t
