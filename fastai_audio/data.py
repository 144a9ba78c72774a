"""Data: crop/pad, `AudioBlock`, `AudioDataLoaders` and the fluent `AudioItemList`.

Items flow: path -> `AudioLoader` (decode, resample, downmix; CPU, in the workers) -> `CropPad` (item
transform: random crop when training, start/centre crop when validating) -> collate -> batch transforms on
the batch's device (spectrogram, dB, normalisation) -> model.
"""
from __future__ import annotations

import hashlib
import os
import random
import warnings
from contextlib import contextmanager
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from fastai.data.block import CategoryBlock, DataBlock, TransformBlock
from fastai.data.core import DataLoaders, TfmdDL, get_show_batch_func, show_batch
from fastai.data.load import _loaders as _fastai_loaders
from fastai.torch_core import to_device
from fastai.data.transforms import (ColReader, ColSplitter, GrandparentSplitter, RandomSplitter, RegexLabeller,
                                    parent_label)
from fastai.vision.data import get_grid
from fastcore.basics import ifnone
from fastcore.meta import delegates
from fasttransform import DisplayedTransform, Transform
from plum import dispatch

from .core import AudioLoadError, AudioTensor, _load, audio_extensions, downmix, get_audio_files, load_audio, resample, tidy_grid
from .features import AudioSpectrogram, Spectrogram, get_frequency_batch_transforms

__all__ = ['crop_pad', 'is_multi_label', 'find_bad_audio', 'check_one_rate', 'FolderSplitter', 'AudioLoader', 'CropPad',
           'same_rate', 'pad_to_longest', 'AudioDL', 'AudioBlock', 'AudioRegexLabeller',
           'AudioDataLoaders',
           'AudioItemList']


# --------------------------------------------------------------------------- crop and pad
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
    if n < n_samples:
        if pad == 'zeros': return torch.nn.functional.pad(x, (0, n_samples - n))
        if pad == 'repeat' and n: return x.repeat(*([1] * (x.ndim - 1)), -(-n_samples // n))[..., :n_samples]
        return torch.nn.functional.pad(x, (0, n_samples))                            # nothing to repeat
    return x


class AudioLoader(Transform):
    """Type transform: a path (str or Path) -> `AudioTensor` `(channels, samples)` at `sr` Hz (None keeps the
    file's rate), downmixed to one channel if `mono`. An `AudioTensor` or 1-D/2-D array is resampled and
    downmixed the same way (an array needs `sr`).

    train_crop : seconds. For training items only, decode just a random `train_crop`-second slice of the file
        (plus a few samples' margin when resampling) instead of all of it: random crops of long recordings then
        cost what the crop costs. `CropPad` still sets the exact length. Validation and inference items are
        decoded whole (`whole_clips()` turns the slicing off for training items too).
    cache : None, 'ram' or a folder. Keep each decoded, resampled and downmixed clip, in memory (per process:
        each worker has its own) or as .npy files in the folder (shared, memory-mapped when read, so a random
        crop reads only its part). Entries are keyed by the file's path, size and modification time and by
        `sr` and `mono`, so an edited file or another setting never reads a stale entry.
    """
    def __init__(self, sr: int | None = 16000, mono: bool = True, train_crop: float | None = None, cache=None):
        super().__init__()
        self.sr, self.mono, self.train_crop, self.cache = sr, mono, train_crop, cache
        if cache not in (None, 'ram'): Path(cache).expanduser().mkdir(parents=True, exist_ok=True)
        self._training = False

    def __call__(self, *args, split_idx=None, **kwargs):
        self._training = split_idx == 0
        return super().__call__(*args, split_idx=split_idx, **kwargs)

    def encodes(self, fn: str | Path) -> AudioTensor:
        crop = self._training and self.train_crop
        if self.cache is not None:
            x = self._from_cache(Path(fn))
            if not crop: return AudioTensor(torch.from_numpy(np.array(x)), sr=self._rate)
            start, n = self._random_slice(x.shape[-1], self._rate)
            return AudioTensor(torch.from_numpy(np.array(x[:, start:start + n])), sr=self._rate)
        if crop: return _load(fn, self.sr, self.mono, pick=self._random_slice)
        return load_audio(fn, sr=self.sr, mono=self.mono)

    def _random_slice(self, frames: int, file_sr: int):
        rate = file_sr if self.sr is None else self.sr
        need = int(np.ceil(self.train_crop * file_sr)) + (0 if rate == file_sr else 64)
        return (random.randint(0, frames - need) if frames > need else 0), need

    def cache_key(self, path: Path) -> str:
        "The cache entry's name for `path` under the current settings."
        st = path.stat()
        raw = f'{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{self.sr}|{self.mono}'
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def _from_cache(self, path: Path) -> np.ndarray:
        key = self.cache_key(path)
        if self.cache == 'ram':
            ram = self.__dict__.setdefault('_ram', {})
            if key not in ram:
                x = load_audio(path, sr=self.sr, mono=self.mono)
                ram[key] = (x.numpy(), x.sr)
            x, self._rate = ram[key]
            return x
        f = Path(self.cache).expanduser() / f'{key}-{self.sr}.npy'
        if not f.exists():
            x = load_audio(path, sr=self.sr, mono=self.mono)
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

    @contextmanager
    def whole_clips(self):
        "Within this context training items are decoded whole (for sliding windows over training clips)."
        crop, self.train_crop = self.train_crop, None
        try: yield self
        finally: self.train_crop = crop

    def encodes(self, x: AudioTensor | torch.Tensor) -> AudioTensor:
        x = AudioTensor.create(x, sr=self.sr)
        if self.mono and x.shape[-2] > 1: x = downmix(x)
        if self.sr is not None and x.sr != self.sr: x = AudioTensor(resample(x.as_subclass(torch.Tensor), x.sr, self.sr), sr=self.sr)
        return x


class CropPad(DisplayedTransform):
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

    def encodes(self, x: AudioTensor) -> AudioTensor:
        n = int(round(self.duration * x.sr))
        return crop_pad(x, n, self.train_mode if self._training else self.valid_mode, self.pad)


def same_rate(samples):
    """`before_batch` check: the clips of one batch share a sample rate (`AudioBlock(sr=None)` keeps each file's
    rate, and a batch and its spectrogram need one); else a ValueError saying the rates and to pass `sr=`."""
    rates = sorted({s[0].sr for s in samples if hasattr(s[0], 'sr')})
    if len(rates) > 1:
        raise ValueError(f'one batch holds clips at {", ".join(map(str, rates))} Hz: sr=None keeps each file\'s sample '
                         f'rate, and a batch needs one. Pass sr= (e.g. sr={rates[0]}) to resample every file to one rate.')
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


class AudioDL(TfmdDL):
    """fastai's `TfmdDL`, with the host-to-device copy of each batch made non-blocking when its memory is pinned
    (`pin_memory=True`, the default of `AudioBlock` when CUDA is available): the CPU goes on queueing the
    spectrogram kernels while the waveforms travel. Batches are otherwise exactly `TfmdDL`'s."""
    def __iter__(self):
        if not (self.pin_memory and self.device is not None and torch.device(self.device).type == 'cuda'):
            yield from super().__iter__()
            return
        # fastai's DataLoader.__iter__, with non_blocking=True in the copy
        self.randomize()
        self.before_iter()
        self._DataLoader__idxs = self.get_idxs()
        loader = _fastai_loaders[self.fake_l.num_workers == 0]
        for b in loader(self.fake_l):
            if type(b) == list: b = tuple(b)
            yield self.after_batch(to_device(b, self.device, non_blocking=True))
        self.after_iter()
        if hasattr(self, 'it'): del self.it


def AudioBlock(sr: int | None = 16000, duration: float | None = None, mono: bool = True, train_crop: str = 'random',
               valid_crop: str = 'start', pad: str = 'zeros', cache=None) -> TransformBlock:
    """A `TransformBlock` for audio files: decoded to `AudioTensor`s at `sr` Hz (default 16000; None keeps each
    file's rate), `mono` by default, and cut or padded to `duration` seconds (`CropPad` with `train_crop`,
    `valid_crop` and `pad`). With `duration=None` clips keep their length and each batch is zero-padded to
    its longest clip (with `pad`: zeros, whose extent the batch records in `lengths`, or the clip repeated;
    see `pad_to_longest`). `cache` (None, 'ram' or a folder) keeps decoded clips: see `AudioLoader`.
    Its loaders are `AudioDL`s, with pinned memory (non-blocking copies) by default when CUDA is available."""
    item_tfms = [CropPad(duration, train_crop, valid_crop, pad)] if duration else []
    dls_kwargs = {'pin_memory': torch.cuda.is_available()}
    dls_kwargs['before_batch'] = partial(pad_to_longest, pad=pad) if not duration else same_rate
    slice_ = duration if duration and train_crop == 'random' else None      # decode only the training crop
    return TransformBlock(type_tfms=AudioLoader(sr, mono, train_crop=slice_, cache=cache), item_tfms=item_tfms,
                          dl_type=AudioDL, dls_kwargs=dls_kwargs)


def audio_loader_of(dset) -> AudioLoader | None:
    "The `AudioLoader` among the transforms of a fastai `Datasets` or `TfmdLists` `dset` (None if it has none)."
    tfms = getattr(dset, 'tfms', None)
    pipes = tfms if isinstance(tfms, (list, tuple)) or type(tfms).__name__ == 'L' else [tfms]
    return next((t for p in pipes for t in getattr(p, 'fs', []) if isinstance(t, AudioLoader)), None)


def is_multi_label(dls) -> bool:
    "True when the targets of `dls` are one-hot multi-labels (a `MultiCategoryBlock`: last target transform `OneHotEncode`)."
    from fastai.data.transforms import OneHotEncode
    tfms = getattr(dls, 'tfms', None)
    return bool(tfms) and any(isinstance(t, OneHotEncode) for t in tfms[-1].fs)


# --------------------------------------------------------------------------- showing batches
@dispatch
def show_batch(x: AudioSpectrogram, y, samples, ctxs=None, max_n=9, nrows=None, ncols=None, figsize=None, **kwargs):
    if ctxs is None: ctxs = get_grid(min(len(samples), max_n), nrows=nrows, ncols=ncols, figsize=figsize)
    return tidy_grid(get_show_batch_func(object)(x, y, samples, ctxs=ctxs, max_n=max_n, **kwargs))


@dispatch
def show_batch(x: AudioTensor, y, samples, ctxs=None, max_n=9, nrows=None, ncols=None, figsize=None, **kwargs):
    if ctxs is None: ctxs = get_grid(min(len(samples), max_n), nrows=nrows, ncols=ncols, figsize=figsize)
    return tidy_grid(get_show_batch_func(object)(x, y, samples, ctxs=ctxs, max_n=max_n, player=False, **kwargs))


# --------------------------------------------------------------------------- bad files
def _problem(path) -> str | None:
    try: load_audio(path, sr=None, mono=False)
    except AudioLoadError as e: return e.cause
    return None


def find_bad_audio(files, n_workers: int | None = None, progress: bool = True):
    """The files among `files` that cannot be used, as a DataFrame with columns `file` and `reason`: each file
    is decoded in full (in `n_workers` threads, default: the CPU count) with the checks training applies
    (readable, not empty or truncated, has samples, no NaN or infinite values). Empty when all are fine."""
    import pandas as pd
    from fastcore.parallel import parallel
    files = list(files)
    reasons = parallel(_problem, files, n_workers=n_workers, threadpool=True, progress=progress and len(files) > 1)
    return pd.DataFrame([(str(f), r) for f, r in zip(files, reasons) if r is not None], columns=['file', 'reason'])


class _SkipBadAudio:
    """`get_items` for `on_error='skip'`: the items of `get_items(source)` (or `source`) whose audio file
    (`get_x(item)`, or the item) loads; the others are left out with a warning and listed in `report`."""
    def __init__(self, get_items=None, get_x=None): self.get_items, self.get_x, self.report = get_items, get_x, None

    def __call__(self, source):
        items, rows, files = _items_and_files(source, self.get_items, self.get_x)
        self.report = find_bad_audio(files)
        if len(self.report) == len(files):
            raise ValueError(f'on_error=skip: none of the {len(files)} audio files can be read; first: '
                             f'{self.report.file[0]}: {self.report.reason[0]}' if files else 'no audio files found')
        if len(self.report):
            warnings.warn(f'{len(self.report)} of {len(files)} audio files cannot be read and are left out '
                          f"(on_error='skip'); `dls.skipped` lists each with the reason. First: "
                          f'{self.report.file[0]}: {self.report.reason[0]}')
        bad = set(self.report.file)
        keep = [str(f) not in bad for f in files]
        return items[keep] if hasattr(items, 'iterrows') else [o for o, k in zip(rows, keep) if k]


def _items_and_files(source, get_items=None, get_x=None):
    "The items of `source` (`get_items(source)`, or `source`), each as a row (of a DataFrame) and its audio file."
    items = get_items(source) if get_items is not None else source
    rows = [r for _, r in items.iterrows()] if hasattr(items, 'iterrows') else list(items)
    return items, rows, [get_x(r) if get_x is not None else r for r in rows]


def _check_on_error(on_error: str) -> str:
    "`on_error` if it is 'raise' or 'skip' (what the loaders and `predict_folder` take), else a ValueError."
    if on_error not in ('raise', 'skip'): raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    return on_error


@lru_cache(maxsize=None)
def _loader_arguments() -> frozenset:
    "The keyword arguments fastai's `DataBlock.dataloaders` uses (its own, `FilteredBase.dataloaders`', `TfmdDL`'s)."
    import inspect
    from fastai.data.core import FilteredBase
    names = set()
    for f in (DataBlock.dataloaders, FilteredBase.dataloaders, TfmdDL.__init__):
        names |= {n for n, p in inspect.signature(f).parameters.items() if p.kind is not p.VAR_KEYWORD}
    return frozenset(names - {'self', 'source', 'dataset'})


def _check_loader_kwargs(kwargs: dict, where: str, own=()):
    """Raise a TypeError naming each keyword in `kwargs` that neither `where` (whose own arguments are `own`) nor
    fastai's loaders take: fastai's `**kwargs` would otherwise swallow it, and the setting be silently lost."""
    import difflib
    unknown = sorted(set(kwargs) - _loader_arguments())
    if not unknown: return
    known = sorted(_loader_arguments() | set(own))
    hints = [f'{k!r}' + (f" (did you mean {', '.join(map(repr, close))}?)"
                         if (close := difflib.get_close_matches(k, known, n=2, cutoff=0.6)) else '') for k in unknown]
    raise TypeError(f'{where} got unexpected keyword argument{"s" if len(unknown) > 1 else ""} {", ".join(hints)}: '
                    f'neither an audio setting nor an argument of fastai\'s DataLoaders')


def _batch_tfms(given, kwargs: dict, where: str, name: str = 'batch_tfms', alias: str = 'tfms'):
    """The batch transforms: `given` (the argument called `name`), or the `alias` in `kwargs`, popped from it
    (`tfms` is fastai v1's and `databunch`'s name for the factories' `batch_tfms`): both names work, and
    giving both is a TypeError."""
    if alias not in kwargs: return given
    tfms = kwargs.pop(alias)
    if given is not None: raise TypeError(f'{where}: give {name} or {alias} (the same list), not both')
    return tfms


def _build_dls(dblock: DataBlock, source, on_error: str, **kwargs) -> 'AudioDataLoaders':
    """`dblock.dataloaders(source, **kwargs)` as `AudioDataLoaders`; with `on_error='skip'` unreadable files
    are left out first and listed in `dls.skipped` (with `'raise'`, the default, the first one stops the run
    with an error naming it)."""
    loader = next((t for tfms in dblock.type_tfms for t in tfms if isinstance(t, AudioLoader)), None)
    if loader is not None and loader.sr is None: check_one_rate(_items_and_files(source, dblock.get_items, dblock.get_x)[2])
    skip = None
    if _check_on_error(on_error) == 'skip':
        skip = dblock.get_items = _SkipBadAudio(dblock.get_items, dblock.get_x)
    dls = AudioDataLoaders.from_dls(dblock.dataloaders(source, **kwargs))
    if skip is not None: dls.skipped = skip.report
    return dls


def check_one_rate(files):
    """A ValueError when the audio `files` (paths; other items are passed over) have more than one sample rate,
    saying which files have which rate and to pass `sr=`: loading with `sr=None` keeps each file's rate, and
    a batch (and a spectrogram's mel scale) needs one."""
    by_rate = {}
    for f in files:
        if not isinstance(f, (str, Path)): continue
        try: rate = sf.info(str(f)).samplerate
        except (RuntimeError, OSError): continue              # unreadable: the loader names it when it gets there
        by_rate.setdefault(rate, []).append(str(f))
    if len(by_rate) < 2: return
    rates = sorted(by_rate, key=lambda r: -len(by_rate[r]))
    desc = '; '.join(f'{r} Hz: {len(by_rate[r])} files (e.g. {", ".join(by_rate[r][:2])})' for r in rates)
    raise ValueError(f'sr=None keeps each file\'s sample rate, but these files have {len(rates)} different rates: {desc}. '
                     f'Pass sr= (e.g. sr={rates[0]}) to resample every file to one rate.')


# --------------------------------------------------------------------------- DataLoaders
def _default_batch_tfms(batch_tfms, sr):
    "None means the classic log-mel front end at the loader's rate; pass [] to keep waveforms."
    if batch_tfms is not None: return batch_tfms
    return get_frequency_batch_transforms(sample_rate=sr or 16000)


def _check_split_folders(path, train: str, valid: str):
    "A FileNotFoundError unless `path` holds the folders `train` and `valid`, saying what it holds instead."
    path = Path(path)
    if not path.is_dir(): raise FileNotFoundError(f'from_folder: {path} is not a folder')
    missing = [n for n in (train, valid) if not (path / n).is_dir()]
    if not missing:
        loose = next((f for n in (train, valid) for f in sorted((path / n).iterdir())
                      if f.is_file() and f.suffix.lower() in audio_extensions), None)
        if loose is not None:
            raise ValueError(f'from_folder labels each file by its class folder (e.g. {path / train}/dog/1.wav), but '
                             f'{loose.parent} holds audio files directly (e.g. {loose.name}). Put them in one folder '
                             f'a class, or label them from their names with AudioDataLoaders.from_name_re (or '
                             f'AudioItemList.from_folder(path).split_by_folder().label_from_re(pattern)).')
        return
    found = sorted(p.name for p in path.iterdir() if p.is_dir())
    shown = ', '.join(found[:8]) + (f' and {len(found) - 8} more' if len(found) > 8 else '') if found else 'none'
    raise FileNotFoundError(
        f"from_folder: looked for the folders {train!r} and {valid!r} under {path} to split by, but "
        f"{' and '.join(map(repr, missing))} {'is' if len(missing) == 1 else 'are'} missing (folders found: {shown}). "
        f'For class folders without a split, pass valid_pct=0.2 to hold out 20% at random (as '
        f'ImageDataLoaders.from_folder); for other folder names, pass train= and valid=.')


def _single_label(block) -> bool:
    "True for a `CategoryBlock`-like target block (its type transforms categorise one label)."
    from fastai.data.transforms import Categorize
    return any(isinstance(t, Categorize) for t in getattr(block, 'type_tfms', []))


def _warn_if_delimited(df, label_col, delims=(',', ';', '|')):
    """Warn when single-label categories read from `df[label_col]` contain a delimiter: 'bird,insect' would become
    a class of its own, where the CSV most likely lists two labels (pass `label_delim=`)."""
    col = df.iloc[:, label_col] if isinstance(label_col, int) else df[label_col]
    labels = col.dropna().astype(str)
    for d in delims:
        hit = labels[labels.str.contains(d, regex=False)]
        if len(hit):
            warnings.warn(f'{len(hit)} of {len(labels)} labels in column {label_col!r} contain {d!r} (e.g. '
                          f'{hit.iloc[0]!r}) and are read as single classes; for several labels a clip, pass '
                          f'label_delim={d!r}')
            return


# the factories' own arguments (for the hints of `_check_loader_kwargs`)
_FACTORY_ARGUMENTS = ('sr', 'duration', 'mono', 'item_tfms', 'batch_tfms', 'tfms', 'cache', 'on_error', 'valid_pct', 'seed',
                      'vocab', 'train', 'valid', 'fn_col', 'label_col', 'label_delim', 'folder', 'suff', 'valid_col',
                      'y_block', 'label_func', 'pat')


class AudioDataLoaders(DataLoaders):
    """`DataLoaders` for audio classification, built like `ImageDataLoaders`. Each factory takes the audio
    settings `sr` (Hz, default 16000), `duration` (seconds, None keeps lengths), `mono`, and `batch_tfms`
    (or `tfms`, its fastai v1 name; None: `get_frequency_batch_transforms(sample_rate=sr)`, i.e. normalised
    40-band log-mel on the batch's device; [] keeps waveforms), `cache=` (None, 'ram' or a folder: keep decoded clips, see
    `AudioLoader`) and `on_error=` ('raise', the default: an unreadable file stops the run with an error that
    names it; 'skip': every file is decoded once up front, the unreadable ones are left out with a warning
    and listed with their reasons in `dls.skipped`). Other keywords go to fastai's loaders (`bs`, `num_workers`,
    `shuffle`...); one that neither takes is a TypeError naming it, never silently dropped."""

    @classmethod
    def from_dls(cls, dls: DataLoaders) -> 'AudioDataLoaders':
        "The same loaders as an `AudioDataLoaders`."
        return dls if isinstance(dls, cls) else cls(*dls.loaders, path=dls.path, device=dls.device)

    def show_batch(self, b=None, max_n=9, **kwargs):
        """Show `max_n` items of a training batch (spectrograms with time and frequency axes, and labels).
        A number as first argument is `max_n`, as fastai v1's `data.show_batch(rows)`."""
        if isinstance(b, int): b, max_n = None, b
        return self.train.show_batch(b=b, max_n=max_n, **kwargs)

    @classmethod
    def _from(cls, where, source, path, get_items, get_x, get_y, splitter, sr, duration, mono, vocab, y_block,
              item_tfms, batch_tfms, **kwargs):
        y_block = y_block or CategoryBlock(vocab=vocab)
        where = f'AudioDataLoaders.{where}'
        batch_tfms = _batch_tfms(batch_tfms, kwargs, where)
        cache, on_error = kwargs.pop('cache', None), kwargs.pop('on_error', 'raise')
        _check_loader_kwargs(kwargs, where, own=_FACTORY_ARGUMENTS)
        dblock = DataBlock(blocks=(AudioBlock(sr, duration, mono, cache=cache), y_block), get_items=get_items, get_x=get_x,
                           get_y=get_y, splitter=splitter, item_tfms=item_tfms,
                           batch_tfms=_default_batch_tfms(batch_tfms, sr))
        return _build_dls(dblock, source, on_error, path=path, **kwargs)

    @classmethod
    @delegates(DataLoaders.from_dblock)
    def from_folder(cls, path, train='train', valid='valid', valid_pct=None, seed=None, vocab=None,
                    sr=16000, duration=None, mono=True, item_tfms=None, batch_tfms=None, **kwargs):
        """Audio files under `path`, labelled by parent folder, split by the `train`/`valid` folders, or, with
        `valid_pct`, `valid_pct` of them held out at random (class folders directly under `path`). Without
        `valid_pct` and without those folders, a FileNotFoundError says what was looked for and what was found."""
        if valid_pct is None: _check_split_folders(path, train, valid)
        splitter = GrandparentSplitter(train_name=train, valid_name=valid) if valid_pct is None else \
            RandomSplitter(valid_pct, seed=seed)
        get_items = get_audio_files if valid_pct else partial(get_audio_files, folders=[train, valid])
        return cls._from('from_folder', path, path, get_items, None, parent_label, splitter, sr, duration, mono, vocab, None,
                         item_tfms, batch_tfms, **kwargs)

    @classmethod
    @delegates(DataLoaders.from_dblock)
    def from_path_func(cls, path, fnames, label_func, valid_pct=0.2, seed=None, sr=16000, duration=None,
                       mono=True, item_tfms=None, batch_tfms=None, **kwargs):
        "Files `fnames` labelled by `label_func(fname)`, `valid_pct` of them held out at random."
        return cls._from('from_path_func', fnames, path, None, None, label_func, RandomSplitter(valid_pct, seed=seed), sr, duration,
                         mono, None, None, item_tfms, batch_tfms, **kwargs)

    @classmethod
    @delegates(DataLoaders.from_dblock)
    def from_name_re(cls, path, fnames, pat, **kwargs):
        "Files `fnames` labelled by the first group of regex `pat` matched on each path."
        return cls.from_path_func(path, fnames, AudioRegexLabeller(pat, where='from_name_re'), **kwargs)

    @classmethod
    @delegates(DataLoaders.from_dblock)
    def from_df(cls, df, path='.', valid_pct=0.2, seed=None, fn_col=0, folder=None, suff='', label_col=1,
                label_delim=None, y_block=None, valid_col=None, sr=16000, duration=None, mono=True,
                item_tfms=None, batch_tfms=None, **kwargs):
        """Rows of `df`: file names in `fn_col` (under `path/folder`, with `suff` appended), labels in
        `label_col` (split on `label_delim` for multi-label), valid rows flagged by `valid_col` or drawn at
        random (`valid_pct`)."""
        from fastai.data.block import MultiCategoryBlock
        pref = f'{Path(path) if folder is None else Path(path) / folder}{Path("/")}'
        if y_block is None: y_block = MultiCategoryBlock() if label_delim else CategoryBlock()
        if label_delim is None and _single_label(y_block): _warn_if_delimited(df, label_col)
        splitter = RandomSplitter(valid_pct, seed=seed) if valid_col is None else ColSplitter(valid_col)
        return cls._from('from_df', df, path, None, ColReader(fn_col, pref=pref, suff=suff),
                         ColReader(label_col, label_delim=label_delim), splitter, sr, duration, mono, None, y_block,
                         item_tfms, batch_tfms, **kwargs)

    @classmethod
    @delegates(from_df)
    def from_csv(cls, path, csv_fname='labels.csv', header='infer', delimiter=None, **kwargs):
        "Like `from_df`, reading `path/csv_fname`."
        import pandas as pd
        df = pd.read_csv(Path(path) / csv_fname, header=header, **({} if delimiter is None else {'delimiter': delimiter}))
        return cls.from_df(df, path=path, **kwargs)


# --------------------------------------------------------------------------- the fluent facade
class AudioItemList:
    """A fluent facade over the data block API in the style of fastai v1:

        data = (AudioItemList.from_folder(path).split_by_folder().label_from_re(pat)
                .databunch(bs=64, tfms=get_frequency_batch_transforms(...)))

    Each step returns a new `AudioItemList`; `databunch` builds fastai `DataLoaders`.
    sr : Hz to load at (default: the `sample_rate` of the spectrogram transform in `tfms`, else 16000).
    duration : seconds to crop/pad to (None: keep lengths, batches padded to their longest clip). mono : bool.
    """
    def __init__(self, items, path='.', sr=None, duration=None, mono=True, splitter=None, get_y=None):
        self.items, self.path, self.sr, self.duration, self.mono = list(items), Path(path), sr, duration, mono
        self.splitter, self.get_y = splitter, get_y

    def _new(self, **kw):
        d = dict(items=self.items, path=self.path, sr=self.sr, duration=self.duration, mono=self.mono,
                 splitter=self.splitter, get_y=self.get_y)
        return type(self)(**{**d, **kw})

    def __len__(self): return len(self.items)
    def __repr__(self): return f'{type(self).__name__} ({len(self)} items) from {self.path}'

    @classmethod
    def from_folder(cls, path, extensions=audio_extensions, recurse=True, folders=None, **kwargs):
        "All audio files under `path`."
        items = get_audio_files(path, recurse=recurse, folders=folders, extensions=extensions)
        if not items: raise FileNotFoundError(f'No audio files ({", ".join(extensions[:4])}...) found under {path}')
        return cls(items, path, **kwargs)

    @classmethod
    def from_df(cls, df, path='.', cols=0, folder=None, suffix='', **kwargs):
        "File names from column `cols` of `df`, under `path/folder`."
        base = Path(path) if folder is None else Path(path) / folder
        names = df.iloc[:, cols] if isinstance(cols, int) else df[cols]
        return cls([base / f'{o}{suffix}' for o in names], path, **kwargs)

    def split_by_folder(self, train='train', valid='valid'):
        """Items whose first folder below `path` is `train` train, `valid` validate; any others are left out
        with a warning that counts them (as in fastai v1)."""
        return self._new(splitter=FolderSplitter(self.path, train, valid))

    def split_by_rand_pct(self, valid_pct=0.2, seed=None):
        "Hold out `valid_pct` of the items at random."
        return self._new(splitter=RandomSplitter(valid_pct, seed=seed))

    def split_by_func(self, func):
        "Validate the items for which `func(path)` is True."
        from fastai.data.transforms import FuncSplitter
        return self._new(splitter=FuncSplitter(func))

    def label_from_re(self, pat, full_path=False):
        "Label each item by the first group of regex `pat`, searched in its file name (or full path)."
        return self._new(get_y=AudioRegexLabeller(pat, name_only=not full_path, where='label_from_re'))

    def label_from_folder(self):
        "Label each item by its parent folder's name."
        return self._new(get_y=parent_label)

    def label_from_func(self, func):
        "Label each item by `func(path)`."
        return self._new(get_y=func)

    def databunch(self, bs=64, tfms=None, sr=None, duration=None, num_workers=None, cache=None, on_error='raise',
                  item_tfms=None, **kwargs) -> AudioDataLoaders:
        """Build `DataLoaders` with batch size `bs` and batch transforms `tfms` (e.g. `get_frequency_batch_transforms`;
        `batch_tfms=` is the same, as the `AudioDataLoaders` factories call it) and item transforms `item_tfms`.
        `on_error='skip'` leaves unreadable files out, with a warning, and lists them in `dls.skipped`. Other
        keywords go to fastai's loaders; one they do not take is a TypeError."""
        if self.get_y is None: raise ValueError('label the items first: label_from_re, label_from_folder or label_from_func')
        tfms = _batch_tfms(tfms, kwargs, 'databunch', name='tfms', alias='batch_tfms')
        _check_loader_kwargs(kwargs, 'databunch', own=_FACTORY_ARGUMENTS)
        tfms = list(tfms) if tfms is not None else None
        spec_sr = next((t.sample_rate for t in tfms or [] if isinstance(t, Spectrogram) and t.sample_rate), None)
        sr = ifnone(sr, ifnone(self.sr, ifnone(spec_sr, 16000)))
        dblock = DataBlock(blocks=(AudioBlock(sr, ifnone(duration, self.duration), self.mono, cache=cache), CategoryBlock),
                           splitter=ifnone(self.splitter, RandomSplitter(0.2)), get_y=self.get_y, item_tfms=item_tfms,
                           batch_tfms=_default_batch_tfms(tfms, sr))
        if num_workers is not None: kwargs['num_workers'] = num_workers
        return _build_dls(dblock, self.items, on_error, path=self.path, bs=bs, **kwargs)


class FolderSplitter:
    """Split items by their first folder below `root`: `train` or `valid`. Items under neither are left out,
    with a warning that says how many and where."""
    def __init__(self, root, train='train', valid='valid'): self.root, self.train, self.valid = Path(root), train, valid

    def __call__(self, items):
        top = [Path(o).relative_to(self.root).parts[0] if Path(o).is_relative_to(self.root) else None for o in items]
        tr = [i for i, t in enumerate(top) if t == self.train]
        va = [i for i, t in enumerate(top) if t == self.valid]
        if len(tr) + len(va) < len(top):
            others = sorted({str(t) for t in top if t not in (self.train, self.valid)})
            warnings.warn(f'split_by_folder: {len(top) - len(tr) - len(va)} of {len(top)} files are in neither '
                          f'{self.train!r} nor {self.valid!r} under {self.root} and are left out (folders: '
                          f'{", ".join(others[:5])})')
        if not tr or not va:
            raise ValueError(f'split_by_folder: found {len(tr)} files under {self.root / self.train} and {len(va)} '
                             f'under {self.root / self.valid}; both must hold audio files')
        return tr, va


class AudioRegexLabeller(RegexLabeller):
    """fastai's `RegexLabeller` (the label is the first group of `pat`, searched in the item's path, or in its
    file name only with `name_only`), with errors that name the pattern and the file: a pattern without a group
    is refused at once, and a file it does not match stops the run naming both. `where` starts the messages."""
    def __init__(self, pat, match=False, name_only=False, where='label'):
        super().__init__(pat, match=match)
        self.name_only, self.where = name_only, where
        if self.pat.groups < 1:
            raise ValueError(f'{where}: pattern {pat!r} has no group; put the label in parentheses, '
                             f"e.g. r'^([a-z]+)_' for the letters before the first '_'")

    def __call__(self, o, **kwargs):
        res = self.matcher(Path(o).name if self.name_only else str(o))
        if not res:
            raise ValueError(f'{self.where}: pattern {self.pat.pattern!r} does not match file {o}'
                             + (' (searched in its name)' if self.name_only else ''))
        return res.group(1)
