"""The data block and the DataLoaders factories: `AudioBlock`, `AudioDL`, `AudioDataLoaders` (built like
`ImageDataLoaders`), the splitter and labeller they use, and how audio batches show themselves.

Items flow: path -> `AudioLoader` (decode, resample, downmix; CPU, in the workers) -> `AudioCropPad` (item
transform: random crop when training, start/centre crop when validating) -> collate -> batch transforms on
the batch's device (spectrogram, dB, normalisation) -> model.
"""
from __future__ import annotations

import warnings
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import torch
from fastai.data.block import CategoryBlock, DataBlock, TransformBlock
from fastai.data.core import DataLoaders, TfmdDL, get_show_batch_func, show_batch
from fastai.data.transforms import ToTensor
from fastai.torch_core import to_device
from fastai.data.transforms import (ColReader, ColSplitter, GrandparentSplitter, RandomSplitter, RegexLabeller,
                                    parent_label)
from fastai.vision.data import get_grid
from fastcore.meta import delegates
from plum import dispatch

from .compat import DispatchShortcut, iterate_batches
from .badfiles import SkipBadAudio, check_on_error, check_one_rate, items_and_files
from ..core import AudioTensor, audio_extensions, get_audio_files, tidy_grid
from .croppad import AudioCropPad, pad_to_longest, same_rate
from ..transforms.spectrogram import AudioSpectrogram, Resample, get_frequency_batch_transforms
from .loading import AudioLoader
from .memmap import MemmapBatches, memmap_cache_folder
from ..runtime.arguments import keyword_names, unknown_keyword_error

__all__ = ['is_multi_label', 'FolderSplitter', 'AudioDL', 'default_num_workers', 'BalancedAudioDL', 'class_balance_weights',
           'AudioBlock', 'AudioRegexLabeller', 'AudioDataLoaders']
#: public-internal: used by the other data and learn modules, not part of `from fastai_audio import *`
__internal__ = ('AUDIO_SETTINGS', 'factory_keywords', 'check_loader_kwargs', 'resolve_batch_tfms',
                'build_dataloaders', 'default_batch_tfms')


class AudioDL(TfmdDL):
    """fastai's `TfmdDL`, with a non-blocking host-to-device copy of pinned batches.

    When a batch's memory is pinned (`pin_memory=True`, the default of `AudioBlock` when CUDA is available) the
    copy to the device is made non-blocking: the CPU goes on queueing the spectrogram kernels while the
    waveforms travel. With `memmap` (what `AudioBlock(cache='memmap')` gives) a batch is gathered in one step
    from the split's decoded store (`fastai_audio.data.memmap`), its crops drawn for the whole batch from the
    loader's random state (so `set_seed` reproduces them), with no per-item transform; a store that cannot be
    written is said in a warning, and the files are decoded item by item instead. Batches are otherwise exactly
    `TfmdDL`'s.

    Parameters
    ----------
    dataset : Datasets
        The items to load (map- or iterable-style).
    bs : int
        Batch size (default 64).
    shuffle : bool
        Shuffle the items each epoch (default False).
    num_workers : int, optional
        Worker processes (default None: fastai's `min(16, defaults.cpus)`).
    verbose : bool
        Print fastai's verbose logs (default False).
    do_setup : bool
        Run `setup()` of the batch transforms (default True).
    memmap : dict or MemmapBatches, optional
        Gather batches from a memmap store (default None: item by item): the crop settings `duration`,
        `train_crop`, `valid_crop` and `pad` (the store of `dataset` is then built or read), or a built one.
    **kwargs
        Other arguments of fastai's `DataLoader` (`pin_memory`, `device`, `before_batch`...).

    Raises
    ------
    ValueError
        With `memmap`, for item transforms other than the crop (`AudioCropPad`): a gathered batch has no per-item
        step; give them as batch transforms.
    """
    def __init__(self, dataset=None, bs=64, shuffle=False, num_workers=None, verbose=False, do_setup=True, *,
                 memmap=None, **kwargs):
        self.memmap_settings, self.gather = None, None
        if memmap is not None:
            self.memmap_settings = memmap.settings if isinstance(memmap, MemmapBatches) else dict(memmap)
            _check_gatherable(kwargs.get('after_item'))
            self.gather = memmap if isinstance(memmap, MemmapBatches) else _memmap_or_none(dataset, memmap)
        super().__init__(dataset, bs=bs, shuffle=shuffle, num_workers=num_workers, verbose=verbose,
                         do_setup=do_setup, **kwargs)

    def new(self, dataset=None, cls=None, **kwargs):
        # the same items keep their store; other items (`test_dl`, `predict`) are decoded item by item, unless
        # `memmap=` is given (as the factories give it for the validation split)
        if self.memmap_settings is not None and 'memmap' not in kwargs:
            kwargs['memmap'] = self.gather if dataset is None or dataset is self.dataset else None
        return super().new(dataset, cls, **kwargs)

    def randomize(self):
        super().randomize()
        # the crops of this epoch's gathered batches derive from it; drawn only when gathering, so a loader without
        # the memmap cache shuffles exactly as before it existed
        if self.gather is not None: self.epoch_seed = self.rng.getrandbits(63)

    def create_batches(self, samps):
        if self.gather is None:
            yield from super().create_batches(samps)
            return
        training = getattr(self.dataset, 'split_idx', None) == 0
        seed = getattr(self, 'epoch_seed', 0)
        idxs = list(samps)
        for i in range(0, len(idxs), self.bs):
            b = idxs[i:i + self.bs]
            if self.drop_last and len(b) < self.bs: break
            yield self.gather.batch(b, training, np.random.default_rng([seed, i, int(b[0]), len(b)]))

    def __iter__(self):
        if not (self.pin_memory and self.device is not None and torch.device(self.device).type == 'cuda'):
            yield from super().__iter__()
            return
        yield from iterate_batches(self, lambda b: to_device(b, self.device, non_blocking=True))


def _check_gatherable(after_item):
    "A ValueError for item transforms a gathered batch cannot apply (all but the crop and fastai's `ToTensor`)."
    others = [t for t in getattr(after_item, 'fs', after_item or []) if not isinstance(t, (AudioCropPad, ToTensor))]
    if others:
        raise ValueError(f"cache='memmap' gathers whole batches, with no per-item step, so item transforms "
                         f"{[type(t).__name__ for t in others]} cannot apply: give them as batch transforms, or use "
                         f"cache=None, 'ram' or a folder")


def _memmap_or_none(dataset, settings: dict):
    "The `MemmapBatches` of `dataset`, or None (with a warning) when its store cannot be written."
    if dataset is None or not len(dataset): return None
    try: return MemmapBatches.of(dataset, settings)
    except OSError as e:
        warnings.warn(f"cache='memmap': the decoded cache cannot be written under {memmap_cache_folder()} ({e}); "
                      f"decoding every file item by item instead (as cache=None). Set FASTAI_AUDIO_CACHE to a "
                      f"writable folder with room for the decoded clips")
        return None


def class_balance_weights(dset) -> torch.Tensor:
    """A sampling weight per item, so that every class is drawn about as often.

    The weight of an item is 1 / (items of its class); for multi-label targets the mean of that over the item's
    labels (an item without a label weighs as a class of its own). Read from the targets only: no audio is
    decoded.

    Parameters
    ----------
    dset : Datasets
        A fastai `Datasets` whose last pipeline gives the targets (class indices or one-hot multi-labels).

    Returns
    -------
    torch.Tensor
        The weights, shape `(items,)` (empty for an empty `dset`).
    """
    ys = [torch.as_tensor(dset.tls[-1][i]).as_subclass(torch.Tensor) for i in range(len(dset))]
    if not ys: return torch.zeros(0)
    if ys[0].ndim == 0:                                              # one label: a class index
        y = torch.stack(ys).long()
        return 1.0 / torch.bincount(y).float()[y]
    y = torch.stack(ys).float()                                      # one-hot multi-labels
    count = y.sum(0).clamp_min(1)
    n_labels = y.sum(1)
    w = (y / count).sum(1) / n_labels.clamp_min(1)
    return torch.where(n_labels > 0, w, 1.0 / (n_labels == 0).sum().clamp_min(1))


class BalancedAudioDL(AudioDL):
    """An `AudioDL` whose shuffled epochs draw items with replacement, weighted.

    Each shuffled epoch draws `n` items with replacement, item i with probability proportional to `wgts[i]`,
    from the loader's own random state (so `set_seed` and `Checkpoint` reproduce it). Unshuffled (validation)
    order is unchanged.

    Parameters
    ----------
    dataset : Datasets, optional
        The items to load.
    bs : int, optional
        Batch size.
    wgts : sequence of float, optional
        A sampling weight per item, shape `(items,)` (default None: `class_balance_weights(dataset)`, every
        class about equally often).
    **kwargs
        The other arguments of `AudioDL`.
    """
    def __init__(self, dataset=None, bs=None, wgts=None, **kwargs):
        self.wgts = (class_balance_weights(dataset) if wgts is None else torch.as_tensor(wgts, dtype=torch.float)).tolist()
        super().__init__(dataset=dataset, bs=bs, **kwargs)

    def get_idxs(self):
        if self.n == 0 or not self.shuffle: return super().get_idxs()
        return self.rng.choices(range(self.n), weights=self.wgts, k=self.n)


def AudioBlock(sr: int | None = 16000, *, duration: float | None = None, mono: bool = True, train_crop: str = 'random',
               valid_crop: str = 'start', pad: str = 'zeros', cache=None, resample: str = 'host',
               quality: str = 'HQ') -> TransformBlock:
    """A `TransformBlock` for audio files, decoded to `AudioTensor`s and cut or padded to one length.

    With `duration=None` clips keep their length and each batch is padded to its longest clip (see
    `pad_to_longest`). Its loaders are `AudioDL`s, with pinned memory (non-blocking copies) by default when
    CUDA is available.

    Parameters
    ----------
    sr : int, optional
        Sample rate in Hz to decode at (default 16000; None keeps each file's rate).
    duration : float, optional
        Seconds to cut or pad each clip to, by `AudioCropPad` with `train_crop`, `valid_crop` and `pad`
        (default None: clips keep their length).
    mono : bool
        Mix down to one channel (default True).
    train_crop : str
        Where training clips are cut (default 'random'); see `AudioCropPad`.
    valid_crop : str
        Where validation clips are cut (default 'start'); see `AudioCropPad`.
    pad : str
        How short clips are padded (default 'zeros'): by `AudioCropPad` with a `duration`; with
        `duration=None`, each batch to its longest clip, with zeros, whose extent the batch records in
        `lengths`, or the clip repeated (see `pad_to_longest`).
    cache : None, 'ram', 'memmap' or str or Path, optional
        Keep decoded clips in memory or in a folder (default None); see `AudioLoader`. 'memmap': decode each
        split once into one memory-mapped store (in `memmap_cache_folder()`) and gather whole batches from it
        (see `AudioDL`); item transforms other than the crop are then refused.
    resample : {'host', 'device'}
        'host' (default): files at another rate are resampled to `sr` as they are decoded, with soxr at
        `quality`. 'device': files are decoded at their own rate (all files of one rate, e.g. a 44.1 kHz
        dataset) and the batch goes to `sr` in a `Resample` batch transform, on the device, before any
        augmentation or spectrogram.
    quality : {'QQ', 'LQ', 'MQ', 'HQ', 'VHQ'}
        soxr's resampling quality, quicker to slower and cleaner (default 'HQ').

    Returns
    -------
    TransformBlock
        The block, for a fastai `DataBlock`.

    Raises
    ------
    ValueError
        If `resample` is neither 'host' nor 'device', or is 'device' with `sr=None`.
    """
    if resample not in ('host', 'device'): raise ValueError(f"resample must be 'host' or 'device', got {resample!r}")
    if resample == 'device' and sr is None: raise ValueError("resample='device' needs the target rate sr=")
    item_tfms = [AudioCropPad(duration, train_crop, valid_mode=valid_crop, pad=pad)] if duration else []
    dls_kwargs = {'pin_memory': torch.cuda.is_available()}
    dls_kwargs['before_batch'] = partial(pad_to_longest, pad=pad) if not duration else same_rate
    if cache == 'memmap': dls_kwargs['memmap'] = dict(duration=duration, train_crop=train_crop, valid_crop=valid_crop, pad=pad)
    slice_ = duration if duration and train_crop == 'random' else None      # decode only the training crop
    on_device = resample == 'device'
    return TransformBlock(type_tfms=AudioLoader(None if on_device else sr, mono=mono, train_slice=slice_, cache=cache,
                                                quality=quality),
                          item_tfms=item_tfms, batch_tfms=[Resample(sr)] if on_device else None, dl_type=AudioDL,
                          dls_kwargs=dls_kwargs)


#: the settings of `AudioBlock` beyond `sr`, `duration` and `mono`: every DataLoaders factory takes them as keywords
AUDIO_SETTINGS = ('train_crop', 'valid_crop', 'pad', 'cache', 'resample', 'quality')


def is_multi_label(obj) -> bool:
    """The package's one multi-label rule.

    Parameters
    ----------
    obj : DataLoaders, Datasets or target
        DataLoaders (or Datasets), or one target.

    Returns
    -------
    bool
        For DataLoaders (or Datasets): True when their targets are one-hot multi-labels (a `MultiCategoryBlock`:
        the last target pipeline holds `OneHotEncode`). For a target itself: True for a decoded `MultiCategory`
        or an encoded `TensorMultiCategory` (what those loaders give).
    """
    from fastai.data.transforms import MultiCategory, OneHotEncode
    from fastai.torch_core import TensorMultiCategory
    if isinstance(obj, (MultiCategory, TensorMultiCategory)): return True
    tfms = getattr(obj, 'tfms', None)
    return bool(tfms) and any(isinstance(t, OneHotEncode) for t in getattr(tfms[-1], 'fs', ()))


@dispatch
def show_batch(x: AudioSpectrogram, y, samples, ctxs=None, max_n=9, nrows=None, ncols=None, figsize=None, **kwargs):
    if ctxs is None: ctxs = get_grid(min(len(samples), max_n), nrows=nrows, ncols=ncols, figsize=figsize)
    return tidy_grid(get_show_batch_func(object)(x, y, samples, ctxs=ctxs, max_n=max_n, **kwargs))


@dispatch
def show_batch(x: AudioTensor, y, samples, ctxs=None, max_n=9, nrows=None, ncols=None, figsize=None, **kwargs):
    if ctxs is None: ctxs = get_grid(min(len(samples), max_n), nrows=nrows, ncols=ncols, figsize=figsize)
    return tidy_grid(get_show_batch_func(object)(x, y, samples, ctxs=ctxs, max_n=max_n, player=False, **kwargs))


@lru_cache(maxsize=None)
def _loader_arguments() -> frozenset:
    "The keyword arguments fastai's `DataBlock.dataloaders` uses (its own, `FilteredBase.dataloaders`', `TfmdDL`'s)."
    import inspect
    from fastai.data.core import FilteredBase
    names = set()
    for f in (DataBlock.dataloaders, FilteredBase.dataloaders, TfmdDL.__init__):
        names |= {n for n, p in inspect.signature(f).parameters.items() if p.kind is not p.VAR_KEYWORD}
    return frozenset(names - {'self', 'source', 'dataset'})


def factory_keywords(*factories, extra=('front_end', 'tfms', 'on_error')) -> frozenset:
    """Every keyword a DataLoaders factory takes.

    Parameters
    ----------
    *factories : callable
        The factory and those it hands its `**kwargs` to: their parameters count.
    extra : sequence of str
        The keywords it reads from its `**kwargs` (default those of the `AudioDataLoaders` factories:
        'front_end', 'tfms', 'on_error').

    Returns
    -------
    frozenset of str
        Those parameters, the `AudioBlock` settings (`AUDIO_SETTINGS`), the arguments of fastai's loaders, and
        `extra`.
    """
    return frozenset(keyword_names(*factories)) | set(AUDIO_SETTINGS) | set(extra) | _loader_arguments()


def check_loader_kwargs(kwargs: dict, where: str, own=()):
    """Refuse keywords that fastai's loaders do not take, before a factory reads or builds anything.

    fastai's `**kwargs` would otherwise swallow such a keyword, and the setting be silently lost. A factory calls
    it first.

    Parameters
    ----------
    kwargs : dict
        The keywords given.
    where : str
        The factory's name, which starts the message.
    own : iterable of str
        The arguments of `where` (default none).

    Raises
    ------
    TypeError
        Naming each unknown keyword, with the nearest of fastai's loader arguments and of `own`.
    """
    unknown = set(kwargs) - _loader_arguments() - set(own)
    if unknown: raise unknown_keyword_error(unknown, where, _loader_arguments() | set(own),
                                            "neither an audio setting nor an argument of fastai's DataLoaders")


def resolve_batch_tfms(given, kwargs: dict, where: str, name: str = 'batch_tfms', alias: str = 'tfms'):
    """The batch transforms: `given`, or the `alias` popped from `kwargs`.

    `tfms` is fastai v1's and `databunch`'s name for the factories' `batch_tfms`: both names work.

    Parameters
    ----------
    given : list of Transform or None
        The argument called `name`.
    kwargs : dict
        The factory's other keywords; `alias` is popped from it.
    where : str
        The factory's name, for the message.
    name : str
        The argument's name (default 'batch_tfms').
    alias : str
        Its other name (default 'tfms').

    Returns
    -------
    list of Transform or None
        `given`, or the value of `alias`.

    Raises
    ------
    TypeError
        When both are given.
    """
    if alias not in kwargs: return given
    tfms = kwargs.pop(alias)
    if given is not None: raise TypeError(f'{where}: give {name} or {alias} (the same list), not both')
    return tfms


class _TensorsPass(DispatchShortcut, ToTensor):
    """fastai's `ToTensor` (which DataBlock puts in every item pipeline), passing tensors (audio clips, encoded
    labels) straight through without its per-call dispatch, which converts nothing for them anyway."""
    def shortcut(self, x): return x if isinstance(x, torch.Tensor) else NotImplemented


def default_num_workers(*, memmap: bool = False) -> int:
    """Worker processes when `num_workers` is not given.

    Fastai's number, except 0 when training runs on a CPU of two cores or fewer, where workers take the cores
    from the training threads (2 cores, 2026-12-01: an on-the-fly epoch x1.06 of the precomputed one with 0
    workers, x1.21 with 2; `benchmarks/README.md` (k)), and 0 for batches gathered from the memmap cache, which
    one process gathers faster than workers can pass them on (2026-12-06: 22,239 clips/s in the main process,
    3,305 with 2 workers; (q)).

    Parameters
    ----------
    memmap : bool
        The batches come from the memmap cache (`cache='memmap'`; default False).

    Returns
    -------
    int
        `min(16, defaults.cpus)`, or 0 with `memmap` or without CUDA on two cores or fewer.
    """
    from fastai.torch_core import defaults
    if memmap: return 0
    if not torch.cuda.is_available() and defaults.cpus <= 2: return 0          # the cores this process may use
    return min(16, defaults.cpus)


def build_dataloaders(dblock: DataBlock, source, on_error: str, **kwargs) -> 'AudioDataLoaders':
    """`dblock.dataloaders(source, **kwargs)` as `AudioDataLoaders`.

    Parameters
    ----------
    dblock : DataBlock
        The data block.
    source : object
        What `dblock.get_items` reads (a folder, a DataFrame, a list of files...).
    on_error : {'raise', 'skip'}
        'skip': unreadable files are left out first and listed in `dls.skipped`; 'raise': the first one stops the
        run with an error naming it.
    **kwargs
        fastai's loader arguments (`num_workers`: `default_num_workers()` unless given, 0 with the memmap cache).

    Returns
    -------
    AudioDataLoaders
        The loaders.
    """
    loader = next((t for tfms in dblock.type_tfms for t in tfms if isinstance(t, AudioLoader)), None)
    kwargs.setdefault('num_workers', default_num_workers(memmap=getattr(loader, 'cache', None) == 'memmap'))
    if loader is not None and loader.sr is None: check_one_rate(items_and_files(source, dblock.get_items, dblock.get_x)[2])
    skip = None
    if check_on_error(on_error) == 'skip':
        skip = dblock.get_items = SkipBadAudio(dblock.get_items, dblock.get_x)
    dblock.item_tfms = [_TensorsPass() if type(t) is ToTensor else t for t in dblock.item_tfms]
    dls = AudioDataLoaders.from_dls(dblock.dataloaders(source, **kwargs))
    if skip is not None: dls.skipped = skip.report
    return dls


def default_batch_tfms(batch_tfms, sr):
    """The factories' batch transforms: None means the classic log-mel front end at the loader's rate.

    Parameters
    ----------
    batch_tfms : list of Transform or None
        The transforms given; pass [] to keep waveforms.
    sr : int or None
        The loader's rate in Hz (None: 16000).

    Returns
    -------
    list of Transform
        `batch_tfms`, or `get_frequency_batch_transforms(sr=sr or 16000)` when it is None.
    """
    if batch_tfms is not None: return batch_tfms
    return get_frequency_batch_transforms(sr=sr or 16000)


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


class AudioDataLoaders(DataLoaders):
    """`DataLoaders` for audio classification, built like `ImageDataLoaders`.

    Build them with a factory (`from_folder`, `from_path_func`, `from_name_re`, `from_df`, `from_csv`, and
    `from_shards` for WebDataset shards) rather than the constructor. Each factory takes the audio settings `sr` (Hz, default 16000), `duration` (seconds,
    None keeps lengths), `mono`, and `batch_tfms` (or `tfms`, its fastai v1 name; None:
    `get_frequency_batch_transforms(sr=sr)`, i.e. normalised 40-band log-mel on the batch's device; [] keeps
    waveforms), every other `AudioBlock` setting as a keyword (`train_crop=`, `valid_crop=`, `pad=`, `cache=`
    (None, 'ram', 'memmap' or a folder: keep decoded clips, see `AudioLoader` and `AudioDL`), `resample=` ('host' or 'device') and
    `quality=` (soxr's)) and `on_error=` ('raise', the default: an unreadable file stops the run with an error
    that names it; 'skip': every file is decoded once up front, the unreadable ones are left out with a warning
    and listed with their reasons in `dls.skipped`). Other keywords go to fastai's loaders (`bs`,
    `num_workers`, `shuffle`...); one that neither takes is a TypeError naming it and the nearest known name,
    raised before anything is read.

    Parameters
    ----------
    *loaders : DataLoader
        The loaders, training first, then validation.
    path : str or Path
        The dataset's root folder (default '.').
    device : torch.device, optional
        Where batches go; moves every loader there (default None: the loaders keep their own device).

    Examples
    --------
    >>> dls = AudioDataLoaders.from_folder(path, sr=16000, duration=4, bs=64)     # doctest: +SKIP
    >>> dls.show_batch()                                                          # doctest: +SKIP
    """

    @classmethod
    def from_dls(cls, dls: DataLoaders) -> 'AudioDataLoaders':
        """The same loaders as an `AudioDataLoaders`.

        Parameters
        ----------
        dls : DataLoaders
            fastai loaders; returned as they are if they already are `AudioDataLoaders`.

        Returns
        -------
        AudioDataLoaders
            Their loaders, `path` and `device`.
        """
        return dls if isinstance(dls, cls) else cls(*dls.loaders, path=dls.path, device=dls.device)

    def class_balanced(self, wgts=None) -> 'AudioDataLoaders':
        """These loaders with a class-balanced training loader.

        Parameters
        ----------
        wgts : sequence of float, optional
            A sampling weight per training item, shape `(items,)` (default None: `class_balance_weights`).

        Returns
        -------
        AudioDataLoaders
            New loaders whose training loader is a `BalancedAudioDL` (each class drawn about equally often);
            validation is left as it is.
        """
        train = self.train.new(self.train.dataset, cls=BalancedAudioDL, wgts=wgts)
        return type(self)(train, *self.loaders[1:], path=self.path, device=self.device)

    def show_batch(self, b=None, max_n=9, **kwargs):
        """Show `max_n` items of a training batch (spectrograms with time and frequency axes, and labels).

        Parameters
        ----------
        b : tuple or int, optional
            The batch to show (default None: one drawn from the training loader). A number is `max_n`, as
            fastai v1's `data.show_batch(rows)`.
        max_n : int
            Items shown (default 9).
        **kwargs
            Passed to the training loader's `show_batch` (`nrows`, `ncols`, `figsize`...).

        Returns
        -------
        object
            What the training loader's `show_batch` returns.
        """
        if isinstance(b, int): b, max_n = None, b
        return self.train.show_batch(b=b, max_n=max_n, **kwargs)

    @classmethod
    def _from(cls, where, source, path, get_items, get_x, get_y, splitter, sr, duration, mono, vocab, y_block,
              item_tfms, batch_tfms, **kwargs):
        y_block = y_block or CategoryBlock(vocab=vocab)
        where = f'AudioDataLoaders.{where}'
        batch_tfms = resolve_batch_tfms(batch_tfms, kwargs, where)
        front_end = kwargs.pop('front_end', None)
        if front_end is not None:                  # a FrontEnd or a backbone's name: its rate and its transforms
            if isinstance(front_end, str):
                from ..backbones.registry import audio_model_front_end
                front_end = audio_model_front_end(front_end)
            sr = front_end.sample_rate
            if batch_tfms is None: batch_tfms = front_end.batch_tfms()
        on_error = kwargs.pop('on_error', 'raise')
        audio_kw = {k: kwargs.pop(k) for k in AUDIO_SETTINGS if k in kwargs}
        dblock = DataBlock(blocks=(AudioBlock(sr, duration=duration, mono=mono, **audio_kw), y_block), get_items=get_items, get_x=get_x,
                           get_y=get_y, splitter=splitter, item_tfms=item_tfms,
                           batch_tfms=default_batch_tfms(batch_tfms, sr))
        return build_dataloaders(dblock, source, on_error, path=path, **kwargs)

    @classmethod
    @delegates(DataLoaders.from_dblock)
    def from_folder(cls, path, train='train', *, valid='valid', valid_pct=None, seed=None, vocab=None,
                    sr=16000, duration=None, mono=True, item_tfms=None, batch_tfms=None, **kwargs):
        """Audio files under `path`, labelled by parent folder.

        They are split by the `train`/`valid` folders, or, with `valid_pct`, `valid_pct` of them are held out at
        random (class folders directly under `path`).

        Parameters
        ----------
        path : str or Path
            The dataset's root folder.
        train : str
            The training folder under `path` (default 'train').
        valid : str
            The validation folder under `path` (default 'valid').
        valid_pct : float, optional
            Fraction held out at random instead of the folder split (default None: split by folders).
        seed : int, optional
            Seed of the random split (default None).
        vocab : list of str, optional
            The classes, in order (default None: those found, sorted).
        sr : int, optional
            Sample rate in Hz to load at (default 16000; None keeps each file's rate).
        duration : float, optional
            Seconds to crop/pad to (default None: keep lengths, batches padded to their longest clip).
        mono : bool
            Mix down to one channel (default True).
        item_tfms : list of Transform, optional
            Extra item transforms (default None).
        batch_tfms : list of Transform, optional
            Batch transforms, also accepted as `tfms=` (default None: `get_frequency_batch_transforms(sr=sr)`,
            normalised 40-band log-mel; [] keeps waveforms).
        **kwargs
            `front_end=` (a `FrontEnd` or a backbone's name: its rate and its batch transforms), `on_error=`
            ('raise' or 'skip'), the other `AudioBlock` settings, and fastai's loader arguments (`bs`,
            `num_workers`, `shuffle`...).

        Returns
        -------
        AudioDataLoaders
            The training and validation loaders.

        Raises
        ------
        FileNotFoundError
            Without `valid_pct` and without those folders: it says what was looked for and what was found.
        ValueError
            If the split folders hold audio files directly rather than in class folders.
        TypeError
            For a keyword that neither the factory nor fastai's loaders take, naming the nearest known one.

        Examples
        --------
        >>> dls = AudioDataLoaders.from_folder(path, valid_pct=0.2, seed=0, sr=16000, duration=4,   # doctest: +SKIP
        ...                                    bs=32)
        >>> learn = audio_learner(dls, 'resnet18')                                            # doctest: +SKIP
        """
        check_loader_kwargs(kwargs, 'AudioDataLoaders.from_folder', factory_keywords(cls.from_folder))
        if valid_pct is None: _check_split_folders(path, train, valid)
        splitter = GrandparentSplitter(train_name=train, valid_name=valid) if valid_pct is None else \
            RandomSplitter(valid_pct, seed=seed)
        get_items = get_audio_files if valid_pct else partial(get_audio_files, folders=[train, valid])
        return cls._from('from_folder', path, path, get_items, None, parent_label, splitter, sr, duration, mono, vocab, None,
                         item_tfms, batch_tfms, **kwargs)

    @classmethod
    @delegates(DataLoaders.from_dblock)
    def from_path_func(cls, path, fnames, label_func, *, valid_pct=0.2, seed=None, sr=16000, duration=None,
                       mono=True, item_tfms=None, batch_tfms=None, **kwargs):
        """Files `fnames` labelled by `label_func(fname)`, `valid_pct` of them held out at random.

        Parameters
        ----------
        path : str or Path
            The dataset's root folder.
        fnames : list of Path
            The audio files.
        label_func : callable
            Gives each file's label from its path.
        valid_pct : float
            Fraction held out at random for validation (default 0.2).
        seed : int, optional
            Seed of the random split (default None).
        sr : int, optional
            Sample rate in Hz to load at (default 16000; None keeps each file's rate).
        duration : float, optional
            Seconds to crop/pad to (default None: keep lengths, batches padded to their longest clip).
        mono : bool
            Mix down to one channel (default True).
        item_tfms : list of Transform, optional
            Extra item transforms (default None).
        batch_tfms : list of Transform, optional
            Batch transforms, also accepted as `tfms=` (default None: `get_frequency_batch_transforms(sr=sr)`,
            normalised 40-band log-mel; [] keeps waveforms).
        **kwargs
            `front_end=` (a `FrontEnd` or a backbone's name: its rate and its batch transforms), `on_error=`
            ('raise' or 'skip'), the other `AudioBlock` settings, and fastai's loader arguments (`bs`,
            `num_workers`, `shuffle`...).

        Returns
        -------
        AudioDataLoaders
            The training and validation loaders.

        Raises
        ------
        TypeError
            For a keyword that neither the factory nor fastai's loaders take, naming the nearest known one.
        """
        check_loader_kwargs(kwargs, 'AudioDataLoaders.from_path_func', factory_keywords(cls.from_path_func))
        return cls._from('from_path_func', fnames, path, None, None, label_func, RandomSplitter(valid_pct, seed=seed), sr, duration,
                         mono, None, None, item_tfms, batch_tfms, **kwargs)

    @classmethod
    @delegates(DataLoaders.from_dblock)
    def from_name_re(cls, path, fnames, pat, **kwargs):
        """Files `fnames` labelled by the first group of regex `pat` matched on each path.

        Parameters
        ----------
        path : str or Path
            The dataset's root folder.
        fnames : list of Path
            The audio files.
        pat : str
            A regular expression with at least one group; the first group is the label.
        **kwargs
            The arguments of `from_path_func` (`valid_pct`, `seed`, `sr`, `duration`...).

        Returns
        -------
        AudioDataLoaders
            The training and validation loaders.

        Raises
        ------
        ValueError
            If `pat` has no group, or (when the items are read) does not match a file.
        TypeError
            For a keyword that neither the factory nor fastai's loaders take, naming the nearest known one.
        """
        check_loader_kwargs(kwargs, 'AudioDataLoaders.from_name_re', factory_keywords(cls.from_name_re, cls.from_path_func))
        return cls.from_path_func(path, fnames, AudioRegexLabeller(pat, where='from_name_re'), **kwargs)

    @classmethod
    @delegates(DataLoaders.from_dblock)
    def from_df(cls, df, path='.', *, valid_pct=0.2, seed=None, fn_col=0, folder=None, suff='', label_col=1,
                label_delim=None, y_block=None, valid_col=None, sr=16000, duration=None, mono=True,
                item_tfms=None, batch_tfms=None, **kwargs):
        """Rows of `df`: a file and its labels each.

        Single-label categories that contain ',', ';' or '|' are read as classes of their own, with a warning
        that suggests `label_delim=`.

        Parameters
        ----------
        df : pandas.DataFrame
            One row an item.
        path : str or Path
            The dataset's root folder (default '.').
        valid_pct : float
            Fraction held out at random when `valid_col` is None (default 0.2).
        seed : int, optional
            Seed of the random split (default None).
        fn_col : int or str
            The column of file names (default 0), under `path/folder`, with `suff` appended.
        folder : str, optional
            The folder under `path` that holds the files (default None: `path` itself).
        suff : str
            Appended to each file name (default '').
        label_col : int or str
            The column of labels (default 1).
        label_delim : str, optional
            Splits each label cell into several labels, for multi-label targets (default None: one label).
        y_block : TransformBlock, optional
            The target block (default None: `MultiCategoryBlock` with `label_delim`, else `CategoryBlock`).
        valid_col : int or str, optional
            A column of booleans flagging the validation rows (default None: a random split by `valid_pct`).
        sr : int, optional
            Sample rate in Hz to load at (default 16000; None keeps each file's rate).
        duration : float, optional
            Seconds to crop/pad to (default None: keep lengths, batches padded to their longest clip).
        mono : bool
            Mix down to one channel (default True).
        item_tfms : list of Transform, optional
            Extra item transforms (default None).
        batch_tfms : list of Transform, optional
            Batch transforms, also accepted as `tfms=` (default None: `get_frequency_batch_transforms(sr=sr)`,
            normalised 40-band log-mel; [] keeps waveforms).
        **kwargs
            `front_end=` (a `FrontEnd` or a backbone's name: its rate and its batch transforms), `on_error=`
            ('raise' or 'skip'), the other `AudioBlock` settings, and fastai's loader arguments (`bs`,
            `num_workers`, `shuffle`...).

        Returns
        -------
        AudioDataLoaders
            The training and validation loaders.

        Raises
        ------
        TypeError
            For a keyword that neither the factory nor fastai's loaders take, naming the nearest known one.
        """
        check_loader_kwargs(kwargs, 'AudioDataLoaders.from_df', factory_keywords(cls.from_df))
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
    def from_csv(cls, path, csv_fname='labels.csv', *, header='infer', delimiter=None, **kwargs):
        """Like `from_df`, reading `path/csv_fname`.

        Parameters
        ----------
        path : str or Path
            The dataset's root folder.
        csv_fname : str
            The CSV file under `path` (default 'labels.csv').
        header : int, list of int, None or 'infer'
            pandas' `read_csv` header (default 'infer').
        delimiter : str, optional
            pandas' `read_csv` delimiter (default None: pandas' own).
        **kwargs
            The arguments of `from_df` (`fn_col`, `label_col`, `label_delim`, `sr`, `duration`...).

        Returns
        -------
        AudioDataLoaders
            The training and validation loaders.

        Raises
        ------
        TypeError
            For a keyword that neither the factory nor fastai's loaders take, naming the nearest known one.
        """
        check_loader_kwargs(kwargs, 'AudioDataLoaders.from_csv', factory_keywords(cls.from_csv, cls.from_df))
        import pandas as pd
        df = pd.read_csv(Path(path) / csv_fname, header=header, **({} if delimiter is None else {'delimiter': delimiter}))
        return cls.from_df(df, path=path, **kwargs)


class FolderSplitter:
    """Split items by their first folder below `root`: `train` or `valid`.

    Items under neither are left out, with a warning that says how many and where. Calling it on the items
    raises a ValueError if either folder holds no audio file.

    Parameters
    ----------
    root : str or Path
        The folder the items are under.
    train : str
        The training folder's name (default 'train').
    valid : str
        The validation folder's name (default 'valid').
    """
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
    """fastai's `RegexLabeller`, with errors that name the pattern and the file.

    The label is the first group of `pat`, searched in the item's path. A pattern without a group is refused at
    once, and a file it does not match stops the run naming both.

    Parameters
    ----------
    pat : str
        A regular expression with at least one group.
    match : bool
        Match from the start of the path (`re.match`) rather than search it (default False).
    name_only : bool
        Search the file name only, not the whole path (default False).
    where : str
        Starts the error messages (default 'label').

    Raises
    ------
    ValueError
        If `pat` has no group.
    """
    def __init__(self, pat, match=False, *, name_only=False, where='label'):
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
