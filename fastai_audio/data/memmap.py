"""The decoded cache at memory speed (`cache='memmap'`): the files of a split decoded and resampled once into one
memory-mapped array, and batches gathered from it by index, their crops drawn for the whole batch at once.

    dls = AudioDataLoaders.from_folder(path, duration=4, cache='memmap')

A store is two files in `memmap_cache_folder()`: `NAME.data`, the clips one after another, and `NAME.json`, its
index: each file's cache key (`AudioLoader.cache_key`: the file's path, size and modification time, and the
decoding settings) -> offset, frames, channels and rate. A store holds int16 while every clip decoded so far is
16-bit PCM at the loading rate (so a batch is bit-exact with decoding), float32 otherwise. `NAME` is a hash of
the files' common folder and the decoding settings, so a split by folders has one store a split, and an edited or
added file is decoded and appended alone, the others read as they are. The loader (`AudioDL`) holds a
`MemmapBatches`: the store, the targets of every item collated once, and the crop settings; a batch is one
vectorised gather of index ranges, without a per-item transform.

Pure functions first (`crop_starts`, `gather_clips`, also used by the shards), then the store, then the batches.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..core import AudioTensor, load_audio
from ..runtime.functional import seconds_to_samples
from ..runtime.waveform import PCM16_FULL_SCALE
from .croppad import check_crop_mode
from .loading import AudioLoader, audio_loader_of

__all__ = ['memmap_cache_folder', 'crop_starts', 'gather_clips', 'AudioMemmap']
#: public-internal: used by the other data modules, not part of `from fastai_audio import *`
__internal__ = ('MemmapBatches', 'int16_or_none')



def memmap_cache_folder() -> Path:
    """The folder of the memmap stores: `$FASTAI_AUDIO_CACHE/memmap`, by default `~/.cache/fastai_audio/memmap`.

    Returns
    -------
    Path
        The folder (not created here).
    """
    root = os.environ.get('FASTAI_AUDIO_CACHE') or Path.home() / '.cache' / 'fastai_audio'
    return Path(root).expanduser() / 'memmap'


def crop_starts(lengths: np.ndarray, n: int, *, mode: str = 'start', rng: np.random.Generator | None = None) -> np.ndarray:
    """Where each clip of a batch is cut to `n` samples, drawn for the whole batch at once.

    The same rule as `crop_pad` for one clip: a clip no longer than `n` starts at 0; a longer one at a uniform
    random sample in `[0, length - n]` ('random'), at 0 ('start') or at `(length - n) // 2` ('centre').

    Parameters
    ----------
    lengths : np.ndarray
        Each clip's length in samples, shape `(batch,)`.
    n : int >= 1
        The length wanted, in samples.
    mode : {'random', 'start', 'centre', 'center'}
        Where a longer clip is cut (default 'start').
    rng : np.random.Generator, optional
        The source of the random starts (default None: a fresh unseeded one).

    Returns
    -------
    np.ndarray
        int64 starts, shape `(batch,)`.

    Raises
    ------
    ValueError
        For an unknown `mode`.
    """
    check_crop_mode(mode)
    spare = np.maximum(np.asarray(lengths, dtype=np.int64) - n, 0)
    if mode == 'start': return np.zeros_like(spare)
    if mode == 'random': return (rng or np.random.default_rng()).integers(0, spare + 1)
    return spare // 2


def gather_clips(clips, n: int, starts: np.ndarray, *, pad: str = 'zeros', scale: float = 1.0) -> np.ndarray:
    """One float32 batch from clips of any length: each cut at its start to `n` samples or padded at its end.

    Each clip is converted and copied once, straight into the batch (a view of a memory map is read only where
    it is cut).

    Parameters
    ----------
    clips : sequence of np.ndarray
        The clips, each `(channels, samples)`, all with the same channels, any dtype (int16 or float32).
    n : int >= 1
        Samples a clip in the batch.
    starts : np.ndarray
        Where each clip is cut, shape `(batch,)` (see `crop_starts`).
    pad : {'zeros', 'repeat'}
        How a clip shorter than `n` from its start is filled: silence, or the clip looped (default 'zeros').
    scale : float
        Multiplies every sample (default 1.0; 1 / 32768 turns 16-bit PCM into soundfile's floats, exactly).

    Returns
    -------
    np.ndarray
        float32, shape `(batch, channels, n)`.

    Raises
    ------
    ValueError
        For an unknown `pad`, or clips with different numbers of channels.
    """
    if pad not in ('zeros', 'repeat'): raise ValueError(f"pad must be 'zeros' or 'repeat', got {pad!r}")
    channels = {c.shape[0] for c in clips}
    if len(channels) > 1: raise ValueError(f'one batch holds clips of {sorted(channels)} channels: pass mono=True')
    out = np.empty((len(clips), channels.pop() if channels else 1, n), dtype=np.float32)
    for b, (c, s) in enumerate(zip(clips, starts)):
        part = c[:, s:s + n]
        m = part.shape[-1]
        if pad == 'repeat' and 0 < m < n: part, m = c[:, np.arange(n) % m], n
        out[b, :, :m] = part                       # converted as copied: one pass over the clip
        if m < n: out[b, :, m:] = 0
    if scale != 1.0: out *= np.float32(scale)      # exact for 1 / 32768 (a power of two)
    return out


def int16_or_none(x: np.ndarray) -> np.ndarray | None:
    """`x` as 16-bit PCM when that loses nothing (every sample k / 32768 for an int16 k), else None.

    Parameters
    ----------
    x : np.ndarray
        float samples, any shape.

    Returns
    -------
    np.ndarray or None
        int16, the shape of `x`; None when `x` is not exactly 16-bit PCM.
    """
    q = np.asarray(x, dtype=np.float64) * PCM16_FULL_SCALE
    if q.size and (q.min() < -PCM16_FULL_SCALE or q.max() > PCM16_FULL_SCALE - 1 or not np.array_equal(q, np.rint(q))): return None
    return q.astype(np.int16)


class _NotInt16(Exception):
    "A clip that is not 16-bit PCM reached an int16 store: it is rebuilt as float32."


class AudioMemmap:
    """Decoded clips in one memory-mapped file, with their index: what `cache='memmap'` reads batches from.

    Build it with `AudioMemmap.build`. The array is mapped on first use in each process (workers map their own,
    and a pickled store carries no samples), so memory does not grow with the dataset: the page cache holds
    what was read.

    Parameters
    ----------
    data : str or Path
        The samples file (`NAME.data`).
    dtype : {'int16', 'float32'}
        Its sample type.
    offsets : np.ndarray
        Each item's first sample in the file, shape `(items,)`.
    frames : np.ndarray
        Each item's length in samples, shape `(items,)`.
    channels : np.ndarray
        Each item's channels, shape `(items,)`.
    rates : np.ndarray
        Each item's sample rate in Hz, shape `(items,)`.
    """
    def __init__(self, data, dtype: str, offsets, frames, channels, rates):
        self.data_file, self.dtype = Path(data), dtype
        self.offsets, self.frames = np.asarray(offsets, np.int64), np.asarray(frames, np.int64)
        self.channels, self.rates = np.asarray(channels, np.int64), np.asarray(rates, np.int64)
        self.scale = 1 / PCM16_FULL_SCALE if dtype == 'int16' else 1.0

    def __len__(self): return len(self.offsets)

    @property
    def data(self) -> np.ndarray:
        "The samples file mapped read-only (once per process)."
        if self.__dict__.get('_data') is None:
            size = self.data_file.stat().st_size // np.dtype(self.dtype).itemsize
            mapped = np.memmap(self.data_file, dtype=self.dtype, mode='r', shape=(size,)) if size else None
            # a plain array over the map: slicing a `np.memmap` costs a Python-level hook each time
            self._data = mapped.view(np.ndarray) if size else np.zeros(0, self.dtype)
        return self._data

    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop('_data', None)
        return d

    def clip(self, i: int) -> np.ndarray:
        """Item `i`'s samples, a view of the map.

        Parameters
        ----------
        i : int
            The item.

        Returns
        -------
        np.ndarray
            `(channels, samples)` in the store's dtype (int16 values are k for k / 32768).
        """
        o, c, n = self.offsets[i], self.channels[i], self.frames[i]
        return self.data[o:o + c * n].reshape(c, n)

    @classmethod
    def build(cls, files, loader: AudioLoader, folder=None) -> 'AudioMemmap':
        """The store of `files` decoded as `loader` decodes them: files already in it are read, the others decoded
        and appended.

        Parameters
        ----------
        files : sequence of str or Path
            The audio files, one an item (a file listed twice is stored once).
        loader : AudioLoader
            Its `sr`, `mono` and `quality` decode, and its `cache_key` keys the entries.
        folder : str or Path, optional
            Where the store lives (default None: `memmap_cache_folder()`).

        Returns
        -------
        AudioMemmap
            The store, one entry an item of `files`.

        Raises
        ------
        OSError
            When the store cannot be written (a read-only or full disk) and does not hold every file already.
        AudioLoadError
            For a file that cannot be decoded, naming it.
        """
        folder = Path(folder if folder is not None else memmap_cache_folder()).expanduser()
        paths = [Path(f) for f in files]
        keys = [loader.cache_key(p) for p in paths]
        root = os.path.commonpath([str(p.resolve().parent) for p in paths]) if paths else ''
        raw = f'{root}|{loader.sr}|{loader.mono}|{loader.quality}'
        name = folder / hashlib.sha256(raw.encode()).hexdigest()[:20]
        index = _read_index(name)
        if not all(k in index['entries'] for k in keys):
            with _locked(name):
                index = _read_index(name)                  # another process may have filled it meanwhile
                try: _append(name, index, paths, keys, loader)
                except _NotInt16:
                    index = {'dtype': 'float32', 'entries': {}}
                    name.with_suffix('.data').unlink(missing_ok=True)
                    _append(name, index, paths, keys, loader)
        rows = np.array([index['entries'][k] for k in keys], dtype=np.int64).reshape(-1, 4)
        return cls(name.with_suffix('.data'), index['dtype'], *rows.T)


def _read_index(name: Path) -> dict:
    "The store's index, or an empty int16 one; an index that claims more samples than the file holds is dropped."
    try: index = json.loads(name.with_suffix('.json').read_text())
    except (OSError, ValueError): return {'dtype': 'int16', 'entries': {}}
    size = name.with_suffix('.data').stat().st_size if name.with_suffix('.data').exists() else 0
    end = max((o + c * n for o, n, c, _ in index['entries'].values()), default=0) * np.dtype(index['dtype']).itemsize
    return index if end <= size else {'dtype': index['dtype'], 'entries': {}}


@contextmanager
def _locked(name: Path):
    "One writer a store at a time (processes of one machine, e.g. the ranks of a `torchrun`)."
    name.parent.mkdir(parents=True, exist_ok=True)
    with open(name.with_suffix('.lock'), 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try: yield
        finally: fcntl.flock(f, fcntl.LOCK_UN)


def _append(name: Path, index: dict, paths, keys, loader: AudioLoader):
    """Decode the files whose key the index lacks and append them to the store, then write its index (also when a
    file fails: what was appended stays usable). A failed write is cut back off the samples file."""
    entries, dtype = index['entries'], np.dtype(index['dtype'])
    data = name.with_suffix('.data')
    try:
        with open(data, 'ab') as f:
            for p, k in zip(paths, keys):
                if k in entries: continue
                x = load_audio(p, sr=loader.sr, mono=loader.mono, quality=loader.quality)
                arr = x.numpy()
                if dtype == np.int16:
                    arr = int16_or_none(arr)
                    if arr is None: raise _NotInt16
                offset = f.tell()
                try: f.write(np.ascontiguousarray(arr, dtype=dtype).tobytes())
                except OSError:
                    f.truncate(offset)
                    raise
                entries[k] = [offset // dtype.itemsize, arr.shape[-1], arr.shape[0], int(x.sr)]
    finally:
        tmp = name.with_suffix(f'.{os.getpid()}.tmp')
        tmp.write_text(json.dumps(index))
        os.replace(tmp, name.with_suffix('.json'))


class MemmapBatches:
    """What an `AudioDL` with `cache='memmap'` gathers its batches from: one dataset's store, its targets collated
    once, and the crop settings of `AudioBlock`.

    Parameters
    ----------
    store : AudioMemmap
        The clips, one an item of the dataset.
    targets : list of torch.Tensor
        Each target of every item, collated (`(items, ...)` each, fastai's tensor types kept).
    settings : dict
        `duration` (seconds or None: clips keep their lengths, a batch is padded to its longest), `train_crop`,
        `valid_crop` and `pad`, as `AudioBlock` takes them.
    """
    def __init__(self, store: AudioMemmap, targets, settings: dict):
        self.store, self.targets, self.settings = store, list(targets), dict(settings)

    @classmethod
    def of(cls, dset, settings: dict, folder=None) -> 'MemmapBatches':
        """The store and targets of a fastai `Datasets` whose first pipeline decodes with an `AudioLoader`.

        Parameters
        ----------
        dset : Datasets
            The items: their files are what the first pipeline gives its `AudioLoader`.
        settings : dict
            The crop settings (see the class).
        folder : str or Path, optional
            Where the store lives (default None: `memmap_cache_folder()`).

        Returns
        -------
        MemmapBatches
            Ready to gather batches.

        Raises
        ------
        OSError
            When the store cannot be written (see `AudioMemmap.build`).
        ValueError
            When the dataset's first pipeline has no `AudioLoader`.
        """
        from fastai.data.load import fa_collate
        loader = audio_loader_of(dset.tls[0])
        if loader is None: raise ValueError("cache='memmap' needs an AudioLoader in the items' first pipeline")
        tl = dset.tls[0]
        rows = getattr(tl.items, 'iloc', tl.items)
        files = []
        for i in range(len(dset)):
            x = rows[i]
            for f in tl.fs:
                if f is loader: break
                x = f(x)
            files.append(x)
        store = AudioMemmap.build(files, loader, folder)
        targets = [fa_collate([t[i] for i in range(len(dset))]) for t in dset.tls[1:]]
        return cls(store, targets, settings)

    def batch(self, idxs, training: bool, rng: np.random.Generator) -> tuple:
        """The batch of items `idxs`: clips cut (or padded) as `AudioCropPad` / `pad_to_longest` would, and targets.

        Parameters
        ----------
        idxs : sequence of int
            The items.
        training : bool
            Cut with `train_crop` (else `valid_crop`).
        rng : np.random.Generator
            Draws the random crops of the whole batch.

        Returns
        -------
        tuple
            `(AudioTensor (batch, channels, samples), *targets)`; without a `duration`, zero-padded clips carry
            `lengths` (each clip's samples before padding), as from `pad_to_longest`.
        """
        idxs = np.asarray(idxs, dtype=np.int64)
        s, st = self.settings, self.store
        rate = int(st.rates[idxs[0]])
        lengths = st.frames[idxs]
        if s['duration']:
            n, mode = seconds_to_samples(s['duration'], rate, 1), s['train_crop'] if training else s['valid_crop']
        else: n, mode = int(lengths.max()), 'start'
        starts = crop_starts(lengths, n, mode=mode, rng=rng)
        x = AudioTensor(torch.from_numpy(gather_clips([st.clip(i) for i in idxs], n, starts, pad=s['pad'],
                                                      scale=st.scale)), sr=rate)
        if not s['duration'] and s['pad'] == 'zeros': x.lengths = torch.from_numpy(lengths)
        at = torch.from_numpy(idxs)
        return (x, *(t[at] for t in self.targets))
