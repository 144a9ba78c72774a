"""The classic fluent facade (fastai v1's data API): `AudioItemList.from_folder(...).split_by_folder()
.label_from_re(...).databunch(...)`, a thin layer over the data block API of `blocks`."""
from __future__ import annotations

from pathlib import Path

from fastai.data.block import CategoryBlock, DataBlock
from fastai.data.transforms import FuncSplitter, RandomSplitter, parent_label
from fastcore.basics import ifnone

from .blocks import (AUDIO_SETTINGS, AudioBlock, AudioDataLoaders, AudioRegexLabeller, FolderSplitter, build_dataloaders,
                     check_loader_kwargs, default_batch_tfms, factory_keywords, resolve_batch_tfms)
from ..core import audio_extensions, get_audio_files
from ..transforms.spectrogram import Spectrogram

__all__ = ['AudioItemList']


class AudioItemList:
    """A fluent facade over the data block API in the style of fastai v1.

    Each step returns a new `AudioItemList`; `databunch` builds fastai `DataLoaders`. Start from `from_folder`
    or `from_df` rather than the constructor.

    Parameters
    ----------
    items : iterable of Path
        The audio files.
    path : str or Path
        The dataset's root folder (default '.'); `split_by_folder` reads folders below it.
    sr : int, optional
        Sample rate in Hz to load at (default None: the `sample_rate` of the spectrogram transform in `tfms` of
        `databunch`, else 16000).
    duration : float, optional
        Seconds to crop/pad to (default None: keep lengths, batches padded to their longest clip).
    mono : bool
        Mix down to one channel (default True).
    splitter : callable, optional
        Set by the `split_by_*` steps (default None: a random 20% validation set).
    get_y : callable, optional
        Set by the `label_from_*` steps; `databunch` needs one.

    Examples
    --------
    >>> data = (AudioItemList.from_folder(path).split_by_folder().label_from_re(pat)     # doctest: +SKIP
    ...         .databunch(bs=64, tfms=get_frequency_batch_transforms(...)))
    """
    def __init__(self, items, path='.', *, sr=None, duration=None, mono=True, splitter=None, get_y=None):
        self.items, self.path, self.sr, self.duration, self.mono = list(items), Path(path), sr, duration, mono
        self.splitter, self.get_y = splitter, get_y

    def _new(self, **kw):
        d = dict(items=self.items, path=self.path, sr=self.sr, duration=self.duration, mono=self.mono,
                 splitter=self.splitter, get_y=self.get_y)
        return type(self)(**{**d, **kw})

    def __len__(self): return len(self.items)
    def __repr__(self): return f'{type(self).__name__} ({len(self)} items) from {self.path}'

    @classmethod
    def from_folder(cls, path, extensions=audio_extensions, *, recurse=True, folders=None, **kwargs):
        "All audio files under `path`."
        items = get_audio_files(path, recurse=recurse, folders=folders, extensions=extensions)
        if not items: raise FileNotFoundError(f'No audio files ({", ".join(extensions[:4])}...) found under {path}')
        return cls(items, path, **kwargs)

    @classmethod
    def from_df(cls, df, path='.', *, cols=0, folder=None, suffix='', **kwargs):
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
                  item_tfms=None, resample='host', quality='HQ', **kwargs) -> AudioDataLoaders:
        """Build the `DataLoaders` of the labelled, split items.

        Parameters
        ----------
        bs : int
            Batch size (default 64).
        tfms : list of Transform, optional
            Batch transforms, e.g. `get_frequency_batch_transforms(...)`; `batch_tfms=` is the same, as the
            `AudioDataLoaders` factories call it.
        sr : int, optional
            Sample rate in Hz (default None: the one given to the constructor, else the spectrogram's in `tfms`,
            else 16000).
        duration : float, optional
            Seconds to crop/pad to (default None: the constructor's).
        num_workers : int, optional
            Loader processes (default None: fastai's choice).
        cache : {None, 'ram', 'memmap'} or Path, optional
            Keep decoded clips in memory ('ram'), in a folder, or in one memory-mapped store a split whose batches
            are gathered at once ('memmap') (default None: decode every time; see `AudioLoader` and `AudioDL`).
        on_error : {'raise', 'skip'}
            'skip' leaves unreadable files out, with a warning, and lists them in `dls.skipped` (default 'raise').
        item_tfms : list of Transform, optional
            Item transforms.
        resample : {'host', 'device'}
            Where files at another rate are resampled (default 'host'; see `AudioBlock`).
        quality : str
            How they are resampled, a soxr quality (default 'HQ').
        **kwargs
            `AudioBlock`'s other settings (`train_crop`, `valid_crop`, `pad`); the rest go to fastai's loaders,
            and one they do not take is a TypeError naming the nearest known name.

        Returns
        -------
        AudioDataLoaders
            Training and validation loaders.

        Raises
        ------
        ValueError
            When the items are not labelled yet.
        """
        check_loader_kwargs(kwargs, 'databunch', factory_keywords(type(self).databunch, extra=('batch_tfms',)))
        if self.get_y is None: raise ValueError('label the items first: label_from_re, label_from_folder or label_from_func')
        tfms = resolve_batch_tfms(tfms, kwargs, 'databunch', name='tfms', alias='batch_tfms')
        audio_kw = {k: kwargs.pop(k) for k in AUDIO_SETTINGS if k in kwargs}
        tfms = list(tfms) if tfms is not None else None
        spec_sr = next((t.sample_rate for t in tfms or [] if isinstance(t, Spectrogram) and t.sample_rate), None)
        sr = ifnone(sr, ifnone(self.sr, ifnone(spec_sr, 16000)))
        dblock = DataBlock(blocks=(AudioBlock(sr, duration=ifnone(duration, self.duration), mono=self.mono, cache=cache,
                                              resample=resample, quality=quality, **audio_kw), CategoryBlock),
                           splitter=ifnone(self.splitter, RandomSplitter(0.2)), get_y=self.get_y, item_tfms=item_tfms,
                           batch_tfms=default_batch_tfms(tfms, sr))
        if num_workers is not None: kwargs['num_workers'] = num_workers
        return build_dataloaders(dblock, self.items, on_error, path=self.path, bs=bs, **kwargs)
