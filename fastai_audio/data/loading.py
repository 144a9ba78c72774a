"""Decoding: the `AudioLoader` type transform (path or array -> `AudioTensor` at a rate, downmixed) and its cache."""
from __future__ import annotations

import hashlib
import os
import random
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from fasttransform import Transform

from ..core import AudioTensor, load_audio_slice, downmix, load_audio
from ..runtime.waveform import resample
from ..runtime.functional import seconds_to_samples
from .compat import DispatchShortcut

__all__ = ['AudioLoader', 'audio_loader_of', 'SOXR_QUALITIES']

SOXR_QUALITIES = ('QQ', 'LQ', 'MQ', 'HQ', 'VHQ')     # soxr's, quickest to cleanest


class AudioLoader(DispatchShortcut, Transform):
    """Type transform: a path (str or Path) -> `AudioTensor` `(channels, samples)`, resampled and downmixed.

    An `AudioTensor` or 1-D/2-D array is resampled and downmixed the same way (an array needs `sr`).

    Parameters
    ----------
    sr : int, optional
        Sample rate in Hz of the output (default 16000; None keeps the file's rate).
    mono : bool
        Downmix to one channel (default True).
    train_slice : float, optional
        Seconds (`train_crop` is its old name; default None: decode whole files). For training items only,
        decode just a random `train_slice`-second slice of the file (plus a few samples' margin when
        resampling) instead of all of it: random crops of long recordings then cost what the crop costs.
        `AudioCropPad` still sets the exact length. Validation and inference items are decoded whole
        (`whole_clips()` turns the slicing off for training items too).
    cache : None, 'ram', 'memmap' or str or Path, optional
        Keep each decoded, resampled and downmixed clip (default None: no cache), in memory (per process: each
        worker has its own) or as .npy files in the folder (created if needed; shared, memory-mapped when
        read, so a random crop reads only its part). Entries are keyed by the file's path, size and
        modification time and by `sr` and `mono`, so an edited file or another setting never reads a stale
        entry. 'memmap': the loaders gather whole batches from one memory-mapped store a split (see
        `fastai_audio.data.memmap`); an item decoded alone, outside a batch, is decoded as with None.
    quality : {'QQ', 'LQ', 'MQ', 'HQ', 'VHQ'}
        soxr's quality when resampling: 'QQ', 'LQ', 'MQ', 'HQ' (default) or 'VHQ', quicker to cleaner.

    Raises
    ------
    ValueError
        For a `quality` not in `SOXR_QUALITIES`.
    """
    def __init__(self, sr: int | None = 16000, *, mono: bool = True, train_slice: float | None = None, cache=None,
                 quality: str = 'HQ'):
        super().__init__()
        if quality not in SOXR_QUALITIES: raise ValueError(f'quality must be one of {SOXR_QUALITIES}, got {quality!r}')
        self.sr, self.mono, self.train_slice, self.cache, self.quality = sr, mono, train_slice, cache, quality
        if cache not in (None, 'ram', 'memmap'): Path(cache).expanduser().mkdir(parents=True, exist_ok=True)
        self._training = False

    def __call__(self, *args, split_idx=None, **kwargs):
        self._training = split_idx == 0
        return super().__call__(*args, split_idx=split_idx, **kwargs)

    def shortcut(self, x):
        # the common item, a path, straight to the decoder: fasttransform's per-call dispatch costs about as much
        # as decoding a short clip (see AudioCropPad.shortcut); every other input is dispatched as before
        return self._decode_path(x) if isinstance(x, (str, Path)) else NotImplemented

    def encodes(self, fn: str | Path) -> AudioTensor: return self._decode_path(fn)

    def _decode_path(self, fn) -> AudioTensor:
        crop = self._training and self.train_slice
        if self.cache not in (None, 'memmap'):
            x = self._from_cache(Path(fn))
            if not crop: return AudioTensor(torch.from_numpy(np.array(x)), sr=self._rate)
            start, n = self._random_slice(x.shape[-1], self._rate)
            return AudioTensor(torch.from_numpy(np.array(x[:, start:start + n])), sr=self._rate)
        if crop: return load_audio_slice(fn, self.sr, self.mono, self.quality, pick=self._random_slice)
        return load_audio(fn, sr=self.sr, mono=self.mono, quality=self.quality)

    def encodes(self, x: AudioTensor | torch.Tensor) -> AudioTensor:
        x = AudioTensor.create(x, sr=self.sr)
        if self.mono and x.shape[-2] > 1: x = downmix(x)
        if self.sr is not None and x.sr != self.sr:
            x = AudioTensor(resample(x.as_subclass(torch.Tensor), x.sr, self.sr, self.quality), sr=self.sr)
        return x

    def _random_slice(self, frames: int, file_sr: int):
        rate = file_sr if self.sr is None else self.sr
        need = seconds_to_samples(self.train_slice, file_sr) + (0 if rate == file_sr else 64)
        return (random.randint(0, frames - need) if frames > need else 0), need

    def cache_key(self, path: Path) -> str:
        """The cache entry's name for `path` under the current settings.

        Parameters
        ----------
        path : Path
            The audio file (it must exist: its size and modification time are read).

        Returns
        -------
        str
            32 hexadecimal characters.
        """
        st = path.stat()
        raw = f'{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.sr}|{self.mono}'
        if self.quality != 'HQ': raw += f'|{self.quality}'          # (HQ keys stay those of earlier versions)
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def _from_cache(self, path: Path) -> np.ndarray:
        key = self.cache_key(path)
        if self.cache == 'ram':
            ram = self.__dict__.setdefault('_ram', {})
            if key not in ram:
                x = load_audio(path, sr=self.sr, mono=self.mono, quality=self.quality)
                ram[key] = (x.numpy(), x.sr)
            x, self._rate = ram[key]
            return x
        f = Path(self.cache).expanduser() / f'{key}-{self.sr}.npy'
        if not f.exists():
            x = load_audio(path, sr=self.sr, mono=self.mono, quality=self.quality)
            tmp = f.with_name(f'{f.stem}.{os.getpid()}.tmp.npy')
            np.save(tmp, x.numpy(), allow_pickle=False)
            os.replace(tmp, f)
            if self.sr is None: f.with_suffix('.sr').write_text(str(x.sr))
        self._rate = self.sr if self.sr is not None else int(f.with_suffix('.sr').read_text())
        return np.load(f, mmap_mode='r', allow_pickle=False)

    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop('_ram', None)                  # workers start with their own, empty memory cache
        return d

    def __setstate__(self, d):
        if 'train_crop' in d: d['train_slice'] = d.pop('train_crop')     # pickled by 0.1
        d.setdefault('quality', 'HQ')
        self.__dict__.update(d)

    @contextmanager
    def whole_clips(self):
        """Within this context training items are decoded whole (for sliding windows over training clips).

        Yields
        ------
        AudioLoader
            This loader, with `train_slice` off until the context ends.
        """
        crop, self.train_slice = self.train_slice, None
        try: yield self
        finally: self.train_slice = crop


def audio_loader_of(dset) -> AudioLoader | None:
    """The `AudioLoader` among the transforms of a fastai `Datasets` or `TfmdLists`.

    Parameters
    ----------
    dset : Datasets or TfmdLists
        The dataset whose pipelines are searched.

    Returns
    -------
    AudioLoader or None
        The first one found (None if it has none).
    """
    tfms = getattr(dset, 'tfms', None)
    pipes = tfms if isinstance(tfms, (list, tuple)) or type(tfms).__name__ == 'L' else [tfms]
    return next((t for p in pipes for t in getattr(p, 'fs', []) if isinstance(t, AudioLoader)), None)
