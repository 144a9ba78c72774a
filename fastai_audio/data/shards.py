"""Shards for data beyond one disk: WebDataset tar shards written from a folder or a DataFrame (`write_shards`), and
`AudioDataLoaders.from_shards` reading them from local paths or URLs.

    write_shards('nsynth', 'nsynth_shards', shard_size=1000)          # nsynth_shards/{train,valid}/shard-*.tar
    dls = AudioDataLoaders.from_shards('nsynth_shards', duration=4, bs=64)

A sample is the clip decoded at `sr` (`KEY.npy`: int16 when that is exact, float32 otherwise) and its labels and
origin (`KEY.json`). Each split's `shards.json` lists its shards with the samples each holds, the rate and the
classes, so an epoch's length is known before a byte of audio is read (fastai's progress and schedulers need it).

Under `torchrun` (or `distrib_ctx`) each process reads the shards `s` with `s % world_size == rank`, and each of
its workers a share of those: every sample is seen once an epoch by one process. Samples are shuffled within a
buffer of `shuffle_buffer` and the shards' order each epoch; batches are gathered and cropped as `cache='memmap'`
gathers them (`gather_clips`), and go through the same batch transforms as the other factories. `webdataset`
(the `shards` extra) is imported only when shards are written or read.
"""
from __future__ import annotations

import io
import json
import mmap
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from fastai.torch_core import TensorCategory, TensorMultiCategory
from fastcore.basics import patch

from ..runtime.waveform import PCM16_FULL_SCALE, to_float_samples
from ..core import AudioLoadError, AudioTensor, get_audio_files, load_audio
from ..runtime.functional import seconds_to_samples
from .badfiles import check_on_error
from .blocks import AudioDL, AudioDataLoaders, check_loader_kwargs, default_batch_tfms, default_num_workers
from .memmap import crop_starts, gather_clips, int16_or_none

__all__ = ['write_shards', 'read_shard_index', 'shard_slots', 'rank_and_world', 'npy_array', 'ShardStream', 'ShardsDL']

INDEX = 'shards.json'            # each split's list of shards and their counts


def _webdataset():
    "The `webdataset` module, or an ImportError saying how to install it."
    try: import webdataset
    except ImportError as e:
        raise ImportError("shards need the webdataset library: pip install 'fastai_audio[shards]'") from e
    return webdataset


def _sample_bytes(x: np.ndarray, meta: dict) -> dict:
    "The tar members of one sample: the clip as .npy (int16 when exact) and its metadata as .json."
    q = int16_or_none(x)
    buf = io.BytesIO()
    np.save(buf, q if q is not None else x.astype(np.float32), allow_pickle=False)
    return {'npy': buf.getvalue(), 'json': json.dumps(meta).encode()}


def _labelled_items(source, path, train, valid, fn_col, label_col, label_delim, valid_col):
    "(file, label or list of labels, split) for each item of a folder or a DataFrame."
    if hasattr(source, 'iterrows'):
        out = []
        for _, row in source.iterrows():
            fn, label = row[fn_col] if isinstance(fn_col, str) else row.iloc[fn_col], \
                row[label_col] if isinstance(label_col, str) else row.iloc[label_col]
            labels = [t for t in str(label).split(label_delim) if t] if label_delim else str(label)
            out.append((Path(path) / str(fn), labels, valid if valid_col is not None and bool(row[valid_col]) else train))
        return out
    root = Path(source)
    if not root.is_dir(): raise FileNotFoundError(f'write_shards: {root} is neither a folder nor a DataFrame')
    out = [(f, f.parent.name, split) for split in (train, valid) for f in sorted(get_audio_files(root / split))]
    if not out: raise FileNotFoundError(f'write_shards: no audio files under {root / train} or {root / valid} (class '
                                        f'folders under the split folders, as AudioDataLoaders.from_folder reads)')
    return out


def write_shards(source, out, *, shard_size: int = 1000, sr: int | None = 16000, mono: bool = True,
                 quality: str = 'HQ', path='.', train: str = 'train', valid: str = 'valid', fn_col=0, label_col=1,
                 label_delim: str | None = None, valid_col=None, on_error: str = 'raise') -> dict:
    """Decode audio files into WebDataset tar shards, one folder a split, each with its `shards.json`.

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A folder with `train` and `valid` folders of class folders (as `AudioDataLoaders.from_folder` reads), or
        a DataFrame of one row an item.
    out : str or Path
        The folder written: `out/SPLIT/shard-000000.tar`... and `out/SPLIT/shards.json` (created if needed).
    shard_size : int >= 1
        Samples a shard (default 1000; every shard but a split's last holds that many).
    sr : int, optional
        Sample rate in Hz the clips are decoded at (default 16000; None keeps each file's rate).
    mono : bool
        Mix down to one channel (default True).
    quality : {'QQ', 'LQ', 'MQ', 'HQ', 'VHQ'}
        soxr's resampling quality (default 'HQ').
    path : str or Path
        The folder a DataFrame's file names are under (default '.').
    train : str
        The training split's name: its folder under a `source` folder, and its folder under `out` (default 'train').
    valid : str
        The validation split's name, likewise (default 'valid').
    fn_col : int or str
        A DataFrame's column of file names (default 0).
    label_col : int or str
        A DataFrame's column of labels (default 1).
    label_delim : str, optional
        Splits a label cell into several labels, for multi-label targets (default None: one label an item).
    valid_col : int or str, optional
        A DataFrame's column of booleans flagging validation rows (default None: every row goes to `train`).
    on_error : {'raise', 'skip'}
        A file that cannot be decoded stops the run naming it ('raise', the default), or is left out with a
        warning and listed in the index's `skipped` ('skip').

    Returns
    -------
    dict
        Split name -> the path of its `shards.json`.

    Raises
    ------
    FileNotFoundError
        For a `source` folder without audio files in its split folders.
    ValueError
        For a `shard_size` below 1 or an unknown `on_error`.
    AudioLoadError
        With `on_error='raise'`, for a file that cannot be decoded, naming it.

    Examples
    --------
    >>> write_shards('nsynth', 'nsynth_shards', shard_size=1000)                   # doctest: +SKIP
    {'train': Path('nsynth_shards/train/shards.json'), 'valid': Path('nsynth_shards/valid/shards.json')}
    """
    if not isinstance(shard_size, int) or shard_size < 1: raise ValueError(f'shard_size must be an int >= 1, got {shard_size!r}')
    check_on_error(on_error)
    wds = _webdataset()
    items = _labelled_items(source, path, train, valid, fn_col, label_col, label_delim, valid_col)
    multi = label_delim is not None
    vocab = sorted({lab for _, labels, _ in items for lab in (labels if multi else [labels])})
    written = {}
    for split in dict.fromkeys(s for _, _, s in items):
        folder = Path(out) / split
        folder.mkdir(parents=True, exist_ok=True)
        shards, skipped, writer, rate = [], [], None, None
        for f, labels, s in items:
            if s != split: continue
            try: x = load_audio(f, sr=sr, mono=mono, quality=quality)
            except AudioLoadError as e:
                if on_error == 'raise': raise
                skipped.append([str(f), e.cause])
                continue
            if rate is not None and x.sr != rate:
                raise ValueError(f'write_shards: {f} is at {x.sr} Hz and earlier files at {rate} Hz: pass sr=')
            rate = x.sr
            if writer is None or shards[-1]['count'] == shard_size:
                if writer is not None: writer.close()
                shards.append({'url': f'shard-{len(shards):06d}.tar', 'count': 0})
                # an integer mtime: a float one costs a pax header a member (twice the headers to read)
                writer = wds.TarWriter(str(folder / shards[-1]['url']), encoder=False, mtime=int(time.time()))
            n = sum(sh['count'] for sh in shards)
            writer.write({'__key__': f'{n:09d}', **_sample_bytes(x.numpy(), {'label': labels, 'file': str(f)})})
            shards[-1]['count'] += 1
        if writer is not None: writer.close()
        if skipped:
            warnings.warn(f'write_shards: {len(skipped)} files of {split} cannot be read and are left out; first: '
                          f'{skipped[0][0]}: {skipped[0][1]} (listed in {folder / INDEX} under "skipped")')
        index = {'shards': shards, 'sr': rate, 'vocab': vocab, 'multi_label': multi, 'skipped': skipped}
        (folder / INDEX).write_text(json.dumps(index, indent=1))
        written[split] = folder / INDEX
    return written


def read_shard_index(url) -> dict:
    """A split's `shards.json`, from a local path or a URL, with each shard's `url` made absolute.

    Parameters
    ----------
    url : str or Path
        The index, or the folder (or URL prefix) holding it.

    Returns
    -------
    dict
        `shards` (each `url` and `count`), `sr`, `vocab`, `multi_label` and `skipped`.

    Raises
    ------
    FileNotFoundError
        When the index cannot be read, naming it.
    """
    url = str(url)
    if not url.endswith('.json'): url = url.rstrip('/') + '/' + INDEX
    remote = '://' in url
    try:
        if remote:
            with _webdataset().gopen(url) as f: index = json.loads(f.read())
        else: index = json.loads(Path(url).read_text())
    except (OSError, ValueError) as e:
        raise FileNotFoundError(f'the shard index {url} cannot be read ({e}); write_shards writes one a split') from e
    base = url.rsplit('/', 1)[0]
    for sh in index['shards']:
        if '://' not in sh['url'] and not sh['url'].startswith('/'): sh['url'] = f'{base}/{sh["url"]}'
    return index


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes.

    torch.distributed's when it is initialised, else the `RANK` and `WORLD_SIZE` environment variables that
    `torchrun` sets, else (0, 1).

    Returns
    -------
    tuple of int
        `(rank, world_size)`.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get('RANK', 0)), int(os.environ.get('WORLD_SIZE', 1))


def shard_slots(n_shards: int, *, rank: int = 0, world: int = 1, worker: int = 0, workers: int = 1) -> list[int]:
    """The shards one worker of one process reads: each shard read by exactly one (process, worker) an epoch.

    Process `rank` takes the shards `s` with `s % world == rank`; its worker `w` takes every `workers`-th of those
    from the `w`-th on.

    Parameters
    ----------
    n_shards : int
        Shards in the split.
    rank : int
        This process (default 0).
    world : int
        Processes (default 1).
    worker : int
        This loader worker (default 0).
    workers : int
        The process's loader workers (default 1; 0 counts as 1).

    Returns
    -------
    list of int
        The shard numbers, ascending.
    """
    return list(range(rank, n_shards, world))[worker::max(1, workers)]


class _MappedFile:
    """A local shard mapped into memory, read as a stream of views (`read(n)` copies nothing): a clip is then copied
    once, into its batch, as from the memmap cache."""
    def __init__(self, path):
        with open(path, 'rb') as f: self.view = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
        self.pos = 0

    def read(self, n: int):
        out = self.view[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def _open_shard(url: str):
    "A local shard mapped (`_MappedFile`), a remote one opened by webdataset's `gopen` (http, https, pipe:...)."
    local = url[len('file://'):] if url.startswith('file://') else url if '://' not in url and not url.startswith('pipe:') else None
    if local is not None and os.path.getsize(local): return _MappedFile(local)
    return _webdataset().gopen(url)


def _tar_members(stream, url):
    """(name, bytes) of each file in a tar stream, read with a minimal parser: Python's `tarfile` (what
    webdataset's reader uses) costs about 0.5 ms a sample, several times the rest of a batch (benchmarks (q)).
    Handles ustar, GNU and pax headers (a pax `path` or `size` applies to the next member)."""
    pax = {}
    while True:
        header = bytes(stream.read(512))
        if len(header) < 512 or not header.strip(b'\0'): return
        size_field = header[124:136]
        size = int.from_bytes(size_field[1:], 'big') if size_field[0] & 0x80 else int(size_field.strip(b'\0 ') or b'0', 8)
        size = int(pax.pop('size', size))
        kind = header[156:157]
        data = stream.read(size)
        if len(data) < size: raise OSError(f'{url}: the tar file ends inside a member (truncated shard?)')
        stream.read(-size % 512)
        if kind in (b'x', b'g'):                       # pax: "LEN key=value\n" records
            for rec in bytes(data).decode('utf-8').splitlines():
                key, _, value = rec.partition(' ')[2].partition('=')
                if key in ('path', 'size'): pax[key] = value
            continue
        if kind == b'L':                                # GNU long name
            pax['path'] = bytes(data).rstrip(b'\0').decode('utf-8')
            continue
        name = pax.pop('path', None)
        if name is None:
            name = header[:100].rstrip(b'\0').decode('utf-8')
            prefix = header[345:500].rstrip(b'\0').decode('utf-8') if header[257:262] == b'ustar' else ''
            if prefix: name = f'{prefix}/{name}'
        if kind in (b'0', b'\0'): yield name, data


def _tar_samples(stream, url):
    "(key, {extension: bytes}) of each sample of a WebDataset shard: members grouped by their name up to the first dot."
    key, sample = None, {}
    for name, data in _tar_members(stream, url):
        folder, _, base = name.rpartition('/')
        stem, _, ext = base.partition('.')
        k = f'{folder}/{stem}' if folder else stem
        if k != key and sample:
            yield key, sample
            sample = {}
        key, sample[ext] = k, data
    if sample: yield key, sample


def npy_array(data: bytes) -> np.ndarray:
    """An array from the bytes of a .npy file, without copying them (read-only) and without `np.load`'s parsing.

    Parameters
    ----------
    data : bytes or memoryview
        A .npy file (format 1, 2 or 3), as `np.save` writes it.

    Returns
    -------
    np.ndarray
        A read-only view of `data`.

    Raises
    ------
    ValueError
        When `data` is not a .npy file.
    """
    if bytes(data[:6]) != b'\x93NUMPY': raise ValueError('not a .npy file')
    n = 2 if data[6] == 1 else 4
    start = 8 + n + int.from_bytes(data[8:8 + n], 'little')
    header = bytes(data[8 + n:start]).decode('latin1')
    descr = _NPY_FIELDS['descr'].search(header).group(1)
    shape = tuple(int(v) for v in _NPY_FIELDS['shape'].search(header).group(1).split(',') if v.strip())
    fortran = _NPY_FIELDS['fortran_order'].search(header).group(1) == 'True'
    return np.frombuffer(data, dtype=np.dtype(descr), offset=start).reshape(shape, order='F' if fortran else 'C')


_NPY_FIELDS = {'descr': re.compile(r"'descr':\s*'([^']+)'"), 'shape': re.compile(r"'shape':\s*\(([^)]*)\)"),
               'fortran_order': re.compile(r"'fortran_order':\s*(\w+)")}


def _shuffled(samples, size: int, rng: np.random.Generator):
    "The samples in a random order drawn from a buffer of `size` (size <= 1: as they come)."
    if size <= 1:
        yield from samples
        return
    buf = []
    for s in samples:
        if len(buf) < size:
            buf.append(s)
            continue
        j = rng.integers(len(buf))
        yield buf[j]
        buf[j] = s
    rng.shuffle(buf)
    yield from buf


class ShardStream:
    """One split of shards as seen by this process: its shards, how many samples it reads an epoch, its classes.

    It is the dataset of a `ShardsDL`; `decode` turns a sample's targets back into labels (for `show_batch`).

    Parameters
    ----------
    index : dict
        The split's index (`read_shard_index`).
    split_idx : int
        0 for training (random crops), 1 for validation (default 1).
    rank : int, optional
        This process (default None: `rank_and_world()`).
    world : int, optional
        Processes (default None: `rank_and_world()`).
    vocab : list of str, optional
        The classes (default None: the index's).
    """
    def __init__(self, index: dict, split_idx: int = 1, *, rank: int | None = None, world: int | None = None, vocab=None):
        from fastai.data.transforms import Categorize, MultiCategorize, OneHotEncode
        from fastai.data.core import Pipeline
        from fastai.losses import BCEWithLogitsLossFlat, CrossEntropyLossFlat
        r, w = rank_and_world()
        self.index, self.split_idx = index, split_idx
        self.rank, self.world = r if rank is None else rank, w if world is None else world
        self.shards = [index['shards'][s] for s in shard_slots(len(index['shards']), rank=self.rank, world=self.world)]
        labels = list(vocab if vocab is not None else index['vocab'])
        self.multi_label = bool(index.get('multi_label'))
        y = [MultiCategorize(vocab=labels), OneHotEncode(len(labels))] if self.multi_label else [Categorize(vocab=labels, sort=False)]
        self.tfms = [Pipeline([]), Pipeline(y)]              # as a fastai Datasets' (`is_multi_label` reads them)
        self.vocab = self.tfms[1].fs[0].vocab
        self.loss_func = BCEWithLogitsLossFlat() if self.multi_label else CrossEntropyLossFlat()
        self._code = {v: i for i, v in enumerate(labels)}

    def __len__(self): return sum(sh['count'] for sh in self.shards)

    def __getitem__(self, i: int) -> tuple:
        """Sample `i` of this process's shards, read from their start (for a look at an item, not for training).

        Parameters
        ----------
        i : int
            The sample, 0 <= i < len(self).

        Returns
        -------
        tuple
            `(AudioTensor (channels, samples), target)`.

        Raises
        ------
        IndexError
            For `i` outside the samples.
        """
        if not 0 <= i < len(self): raise IndexError(f'sample {i} of {len(self)}')
        for k, (x, y) in enumerate(self.samples()):
            if k != i: continue
            x = AudioTensor(torch.from_numpy(to_float_samples(x).copy()), sr=self.index['sr'])
            return x, (TensorMultiCategory(torch.from_numpy(y)) if self.multi_label else TensorCategory(y))

    def counts(self, workers: int) -> list[int]:
        """The samples each of `workers` loader workers reads an epoch.

        Parameters
        ----------
        workers : int
            Loader workers (0 counts as 1).

        Returns
        -------
        list of int
            One count a worker.
        """
        return [sum(self.shards[s]['count'] for s in shard_slots(len(self.shards), worker=w, workers=workers))
                for w in range(max(1, workers))]

    def samples(self, worker: int = 0, workers: int = 1, rng: np.random.Generator | None = None):
        """This worker's samples, `(clip (channels, samples) array, target tensor)`, its shards in a random order
        when `rng` is given.

        Parameters
        ----------
        worker : int
            This loader worker (default 0).
        workers : int
            Loader workers (default 1).
        rng : np.random.Generator, optional
            Shuffles the shards' order (default None: in order).

        Yields
        ------
        tuple
            `(np.ndarray, target)`: the clip as stored (int16 or float32, a read-only view of a local shard) and
            its target, a class index or a one-hot float32 array.
        """
        mine = [self.shards[s]['url'] for s in shard_slots(len(self.shards), worker=worker, workers=workers)]
        if rng is not None: mine = [mine[i] for i in rng.permutation(len(mine))]
        if not mine: return
        for url in mine:
            for _, sample in _tar_samples(_open_shard(url), url):
                yield npy_array(sample['npy']), self._target(json.loads(bytes(sample['json']))['label'])

    def _target(self, label):
        "A class index, or a one-hot float32 array for several labels (made tensors a batch at a time)."
        if not self.multi_label: return self._code[label]
        y = np.zeros(len(self._code), np.float32)
        y[[self._code[v] for v in label]] = 1.0
        return y

    def decode(self, o, full: bool = True) -> tuple:
        """A sample of a batch with its target as labels.

        Parameters
        ----------
        o : tuple
            `(AudioTensor, target)`.
        full : bool
            Decode fully (default True; kept for fastai's signature).

        Returns
        -------
        tuple
            `(AudioTensor, Category or MultiCategory)`.
        """
        return (o[0], *[self.tfms[1].decode(y) for y in o[1:]])


class ShardsDL(AudioDL):
    """An `AudioDL` over a `ShardStream`: batches gathered from the shards this process (and worker) reads.

    Its length is known from the shards' counts, so fastai's progress bar and schedulers see a real epoch. Crops
    and the shuffles of the shards' order and of the `shuffle_buffer` derive from the loader's random state, so
    `set_seed` reproduces them (for a given number of workers).

    Parameters
    ----------
    dataset : ShardStream
        The split.
    bs : int
        Batch size (default 64).
    duration : float, optional
        Seconds a clip, cut as `train_crop` (training) or `valid_crop` and padded as `pad` (default None: clips keep
        their lengths, a batch is padded to its longest).
    train_crop : {'random', 'start', 'centre'}
        Where training clips are cut (default 'random').
    valid_crop : {'start', 'centre', 'random'}
        Where validation clips are cut (default 'start').
    pad : {'zeros', 'repeat'}
        How short clips are filled (default 'zeros').
    shuffle_buffer : int
        Samples the shuffle draws from, when `shuffle` (default 1000).
    **kwargs
        The other arguments of `AudioDL` (`shuffle`, `drop_last`, `num_workers`, `after_batch`, `device`...).
    """
    def __init__(self, dataset=None, bs=64, *, duration=None, train_crop='random', valid_crop='start', pad='zeros',
                 shuffle_buffer: int = 1000, **kwargs):
        self.duration, self.train_crop, self.valid_crop, self.pad = duration, train_crop, valid_crop, pad
        self.shuffle_buffer = shuffle_buffer
        kwargs.pop('indexed', None)           # (fastai shuffles only an indexed dataset; ours shuffles itself)
        super().__init__(dataset, bs=bs, indexed=True, **kwargs)

    def new(self, dataset=None, cls=None, **kwargs):
        for k in ('duration', 'train_crop', 'valid_crop', 'pad', 'shuffle_buffer'): kwargs.setdefault(k, getattr(self, k))
        return super().new(dataset, cls, **kwargs)

    def __len__(self):
        per = self.dataset.counts(self.fake_l.num_workers)
        return sum(n // self.bs if self.drop_last else -(-n // self.bs) for n in per)

    def get_idxs(self):
        return range(self.n)                   # positions only: the shards give the samples, in their own order

    def randomize(self):
        super().randomize()
        self.epoch_seed = self.rng.getrandbits(63)         # this epoch's shard order, shuffle buffer and crops

    def create_item(self, s):
        x, y = next(self._batches(self.dataset.samples(), np.random.default_rng(0), 1))
        return x[0], y[0]

    def create_batches(self, samps):
        info = torch.utils.data.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        seed = [getattr(self, 'epoch_seed', 0), self.dataset.rank, worker]
        rng = np.random.default_rng(seed)
        stream = self.dataset.samples(worker, workers, rng if self.shuffle else None)
        if self.shuffle: stream = _shuffled(stream, self.shuffle_buffer, rng)
        yield from self._batches(stream, rng, self.bs)

    def _batches(self, stream, rng, bs):
        chunk = []
        for s in stream:
            chunk.append(s)
            if len(chunk) == bs:
                yield self._gather(chunk, rng)
                chunk = []
        if chunk and not (self.drop_last and bs > 1): yield self._gather(chunk, rng)

    def _gather(self, chunk, rng) -> tuple:
        clips = [c for c, _ in chunk]
        lengths = np.array([c.shape[-1] for c in clips])
        rate = self.dataset.index['sr']
        training = self.dataset.split_idx == 0
        if self.duration: n, mode = seconds_to_samples(self.duration, rate, 1), self.train_crop if training else self.valid_crop
        else: n, mode = int(lengths.max()), 'start'
        scale = 1 / PCM16_FULL_SCALE if clips[0].dtype == np.int16 else 1.0
        x = AudioTensor(torch.from_numpy(gather_clips(clips, n, crop_starts(lengths, n, mode=mode, rng=rng), pad=self.pad,
                                                      scale=scale)), sr=rate)
        if not self.duration and self.pad == 'zeros': x.lengths = torch.from_numpy(lengths)
        if self.dataset.multi_label: return x, TensorMultiCategory(torch.from_numpy(np.stack([t for _, t in chunk])))
        return x, TensorCategory(torch.tensor([t for _, t in chunk]))


def _check_even_steps(dl: 'ShardsDL', index: dict, where: str):
    """Under several processes, every one must take the same training steps an epoch (distributed training waits
    at each step for all of them): a ValueError naming the steps of each rank otherwise."""
    world = dl.dataset.world
    if world == 1: return
    workers = dl.fake_l.num_workers
    steps = [sum(n // dl.bs for n in ShardStream(index, 0, rank=r, world=world).counts(workers)) for r in range(world)]
    if len(set(steps)) > 1:
        raise ValueError(f'from_shards: the training shards under {where} give the {world} processes {steps} batches '
                         f'an epoch (bs={dl.bs}, {max(1, workers)} worker(s) each): distributed training would wait '
                         f'forever for the missing steps; write them with write_shards(..., shard_size=) so that their '
                         f'number is a multiple of {world * max(1, workers)} and each holds a multiple of bs samples, '
                         'or choose bs and num_workers that split them evenly')


@patch(cls_method=True)
def from_shards(cls: AudioDataLoaders, path, *, train: str = 'train', valid: str = 'valid', duration: float | None = None,
                bs: int = 64, train_crop: str = 'random', valid_crop: str = 'start', pad: str = 'zeros',
                shuffle_buffer: int = 1000, batch_tfms=None, front_end=None, num_workers: int | None = None, device=None,
                **kwargs):
    """`AudioDataLoaders` reading WebDataset shards written by `write_shards`, from local paths or URLs.

    Under `torchrun` each process reads its own share of the training shards (see `shard_slots`): every sample
    once an epoch, by one process; every process validates on all the validation shards, so each reports the
    whole split's metrics.

    Parameters
    ----------
    path : str or Path
        The folder or URL prefix holding a folder a split, each with its `shards.json`.
    train : str
        The training split's folder (default 'train').
    valid : str
        The validation split's folder (default 'valid').
    duration : float, optional
        Seconds to crop/pad to (default None: keep lengths, batches padded to their longest clip).
    bs : int
        Batch size (default 64).
    train_crop : {'random', 'start', 'centre'}
        Where training clips are cut (default 'random').
    valid_crop : {'start', 'centre', 'random'}
        Where validation clips are cut (default 'start').
    pad : {'zeros', 'repeat'}
        How short clips are filled (default 'zeros').
    shuffle_buffer : int
        Training samples the shuffle draws from (default 1000).
    batch_tfms : list of Transform, optional
        Batch transforms (default None: the front end's, else `get_frequency_batch_transforms(sr=...)` at the
        shards' rate; [] keeps waveforms).
    front_end : FrontEnd or str, optional
        A `FrontEnd` or a backbone's name whose batch transforms to use (default None); its rate must be the
        shards'.
    num_workers : int, optional
        Loader workers, each reading its own shards (default None: `default_num_workers()`).
    device : torch.device, optional
        Where batches go (default None: fastai's default device).
    **kwargs
        fastai's loader arguments (`pin_memory`...).

    Returns
    -------
    AudioDataLoaders
        The training and validation loaders; `dls.vocab`: the classes of the shards.

    Raises
    ------
    FileNotFoundError
        When a split's `shards.json` cannot be read, naming it.
    ValueError
        When `front_end` wants another sample rate than the shards hold, or when under several processes the
        training shards would give them different numbers of batches (naming them).
    TypeError
        For a keyword fastai's loaders do not take, naming the nearest known one.

    Examples
    --------
    >>> dls = AudioDataLoaders.from_shards('nsynth_shards', duration=4, bs=64)       # doctest: +SKIP
    """
    check_loader_kwargs(kwargs, 'AudioDataLoaders.from_shards')
    base = str(path).rstrip('/')
    t_index, v_index = read_shard_index(f'{base}/{train}'), read_shard_index(f'{base}/{valid}')
    if front_end is not None:
        if isinstance(front_end, str):
            from ..backbones.registry import audio_model_front_end
            front_end = audio_model_front_end(front_end)
        if front_end.sample_rate != t_index['sr']:
            raise ValueError(f'from_shards: the front end wants {front_end.sample_rate} Hz and the shards under {base} '
                             f"hold {t_index['sr']} Hz: write them with write_shards(..., sr={front_end.sample_rate})")
        if batch_tfms is None: batch_tfms = front_end.batch_tfms()
    tfms = default_batch_tfms(batch_tfms, t_index['sr'])
    common = dict(bs=bs, duration=duration, train_crop=train_crop, valid_crop=valid_crop, pad=pad,
                  shuffle_buffer=shuffle_buffer, after_batch=tfms, device=device,
                  num_workers=default_num_workers() if num_workers is None else num_workers, **kwargs)
    vocab = t_index['vocab']
    tdl = ShardsDL(ShardStream(t_index, 0, vocab=vocab), shuffle=True, drop_last=True, **common)
    _check_even_steps(tdl, t_index, f'{base}/{train}')
    # every process validates on all the validation shards: its metrics are the whole split's, as fastai's gathered
    # ones would be (validation has no gradient to synchronise, so no process waits on another)
    vdl = ShardsDL(ShardStream(v_index, 1, rank=0, world=1, vocab=vocab), shuffle=False, drop_last=False,
                   do_setup=False, **{**common, 'after_batch': tdl.after_batch})
    return cls(tdl, vdl, path=path, device=device)
