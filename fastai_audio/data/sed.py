"""Strong labels in: DataLoaders of (spectrogram, frame targets) from a DCASE-style events CSV and its audio.

    dls = sed_dataloaders('scapes/events.csv', 'scapes', valid_pct=0.2, seed=0, bs=16)
    x, y = dls.one_batch()          # (batch, 1, mels, frames), (batch, frames, classes)

Each item's target travels as its events `(max_events, 3)` (onset, offset, class index; unused rows -1) and
becomes frame targets in the batch (`FrameTargets`, after the spectrogram), at the frame times of the front
end that made that very batch (its `settings`): a change of hop, rate or centring never misaligns them.

Augmentations that move time (`TimeShift`, `TimeStretch`, `SpeedPerturb`, `TimeReversal`, in `OneOf` / `SomeOf`
too) move each clip's events with the same random draw (`EventsFollow`), before `FrameTargets`; the others keep
them (level, spectrum, noise, reverb, masks: DCASE practice). A transform that does not say what it does to
time (no `move_events`, no `keeps_time = True`) is refused, by name.

Weak (clip-level) labels mix in as in DCASE task 4: `weak_csv=` (`filename, event_labels`) adds training files
whose labels say which classes sound somewhere in the clip; their frame targets are -1 for those classes
(unknown frames: `SEDLoss` trains only their clip scores) and 0 for the others.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import torch
from fastai.data.block import DataBlock, TransformBlock
from fastai.data.transforms import RandomSplitter
from fasttransform import ItemTransform

from .blocks import AudioBlock, AudioDataLoaders, build_dataloaders, check_loader_kwargs, default_batch_tfms
from ..core import AudioTensor, get_audio_files
from ..runtime.arguments import keyword_names
from ..runtime.events import frame_activity, frame_times
from .labels import event_rows, weak_rows

__all__ = ['FrameTargets', 'EventsFollow', 'sed_dataloaders', 'WEAK']
__internal__ = ('SED_AUDIO_SETTINGS',)     # public-internal: the datasets recipes read it


WEAK = -2.0       # the onset and offset of a weak label's row: the class sounds somewhere in the clip


class _FileIndex:
    """The audio files under `path`, found by a CSV's `filename`: a path relative to `path`, or a bare name when
    exactly one file has it. `index(name)` -> `(file, None)` or `(None, why not)`."""
    def __init__(self, path: Path):
        self.path, self.by_rel, self.by_name = path, {}, defaultdict(list)
        for f in sorted(get_audio_files(path)):
            self.by_rel[f.relative_to(path).as_posix()] = f
            self.by_name[f.name].append(f)

    def __call__(self, name: str):
        f = self.by_rel.get(Path(name).as_posix())
        if f is not None: return f, None
        found = self.by_name.get(Path(name).name, [])
        if len(found) == 1: return found[0], None
        if not found: return None, f'file {name!r} is not under {self.path}'
        return None, (f'{name!r} names {len(found)} files under {self.path} ({found[0].relative_to(self.path)}, '
                      f'{found[1].relative_to(self.path)}...): give its path relative to {self.path}')


class _EventsOf:
    """get_y: a file -> its events as a `(max_events, 3)` tensor (onset, offset, class index), padded with -1
    rows; a weakly labelled file's rows have onset and offset `WEAK`. `by_file`, `weak`: keyed by the file's path."""
    def __init__(self, by_file: dict, weak: dict, vocab: list, max_events: int):
        self.by_file, self.weak, self.max_events = by_file, weak, max(1, max_events)
        self.index = {v: i for i, v in enumerate(vocab)}

    def __call__(self, f) -> torch.Tensor:
        y = torch.full((self.max_events, 3), -1.0)
        f = Path(f)
        rows = [(WEAK, WEAK, label) for label in self.weak[f]] if f in self.weak else \
            [(e.onset, e.offset, e.event_label) for e in self.by_file.get(f, [])]
        for k, (on, off, label) in enumerate(rows): y[k] = torch.tensor([on, off, float(self.index[label])])
        return y


class FrameTargets(ItemTransform):
    """Batch transform (after the spectrogram): each clip's events become frame targets.

    The events `(batch, max_events, 3)` become frame targets `(batch, frames, classes)`: 1 where a frame's time
    (`events.frame_times` of the batch's front end) lies in an event of that class, else 0; -1 in every frame of
    a class a weak label names (`WEAK` rows). On the batch's device, without reading values back to the host.
    A spectrogram alone passes unchanged; a batch whose input has no front end (`settings`) is a ValueError.

    Parameters
    ----------
    vocab : sequence of str
        The event classes, in the order of the targets' last axis.
    """
    order = 99

    def __init__(self, vocab): self.vocab = list(vocab)

    def encodes(self, b):
        if not isinstance(b, (tuple, list)): return b
        x, y = b[0], b[1]
        fe = getattr(x, 'settings', None)
        if fe is None: raise ValueError('FrameTargets needs spectrogram batches (their front end sets the frame times)')
        t = frame_times(x.shape[-1], fe.hop_length, fe.sample_rate, center=fe.center, n_fft=fe.n_fft).to(x.device, torch.float32)
        ev = y.as_subclass(torch.Tensor).to(x.device)
        on, off, cls = ev[..., 0], ev[..., 1], ev[..., 2].long()
        strong = frame_activity(t, on, off, cls, len(self.vocab))                       # (batch, frames, classes)
        onehot = torch.nn.functional.one_hot(cls.clamp_min(0), len(self.vocab)).float()
        weak = ((on == WEAK) & (cls >= 0)).float()                                      # (batch, events)
        weak_classes = torch.einsum('be,bec->bc', weak, onehot) > 0                     # (batch, classes)
        return (x, torch.where(weak_classes[:, None, :], -1.0, strong), *b[2:])


class EventsFollow(ItemTransform):
    """Batch transform: a waveform augmentation applied to a batch's audio and its clips' events together.

    The events `(batch, max_events, 3)` of each picked clip move as its audio does, with the same random draw
    (the augmentation's `move_events`, on the batch's device), so the frame targets `FrameTargets` makes later mark
    where the sound now is. `sed_dataloaders` wraps every waveform augmentation in one; training batches only,
    at the augmentation's `order`.

    Parameters
    ----------
    tfm : RandomAudioTransform
        The augmentation (`TimeShift`, `OneOf`...).
    """
    split_idx = 0

    def __init__(self, tfm):
        super().__init__()
        self.tfm, self.order = tfm, tfm.order

    def encodes(self, b):
        if not isinstance(b, (tuple, list)) or not isinstance(b[0], AudioTensor): return b
        x, y = b[0], b[1]
        out, events = self.tfm.augment_with_events(x, y.as_subclass(torch.Tensor), x.sr)
        return (AudioTensor(out, **x.__dict__), events, *b[2:])

    def __repr__(self): return f'EventsFollow({self.tfm!r})'


def _events_follow(tfms) -> list:
    """The SED batch transforms: waveform augmentations wrapped in `EventsFollow`, transforms that keep time as
    they are; one that does not say what it does to time is a ValueError naming it."""
    from ..transforms.augment import RandomAudioTransform
    out = []
    for t in tfms:
        if isinstance(t, RandomAudioTransform): out.append(EventsFollow(t))
        elif getattr(t, 'keeps_time', False): out.append(t)
        else: raise ValueError(
            f'sed_dataloaders: batch transform {type(t).__name__} does not say what it does to time, so the frame '
            'targets could not follow the audio; give it `keeps_time = True` (it leaves every sound where it was) '
            'or make it a RandomAudioTransform with a `move_events` method')
    return out


#: the `AudioBlock` settings `sed_dataloaders` takes (its clips are whole files: no crop settings)
SED_AUDIO_SETTINGS = ('pad', 'cache', 'resample', 'quality')


def sed_dataloaders(events_csv, path, *, valid_pct: float = 0.2, seed: int | None = None, sr: int = 16000,
                    batch_tfms=None, on_error: str = 'raise', valid_files=None, weak_csv=None,
                    **kwargs) -> AudioDataLoaders:
    """`AudioDataLoaders` of (spectrogram, frame targets) from a DCASE-style events CSV and its audio.

    The audio files under `path` named in `events_csv` are read whole, padded to the batch's longest; targets
    are `(batch, frames, classes)`. A `filename` is a path relative to `path`, or a bare name when only one file
    under `path` has it (two files of that name are an error naming both: give the relative path).

    Parameters
    ----------
    events_csv : str or Path
        Strong labels in the DCASE layout: `filename, onset, offset, event_label` (seconds), several rows a
        file; a row with no onset, offset or label is a file without events.
    path : str or Path
        The folder holding the audio files.
    valid_pct : float
        Fraction of the strongly labelled files held out at random when `valid_files` is None (default 0.2).
    seed : int, optional
        Seed of that random split (default None).
    sr : int
        Sample rate in Hz to load at (default 16000).
    batch_tfms : list of Transform, optional
        Augmentations and the front end (default None: the classic log-mel at `sr`); waveform augmentations move
        the events with the audio (`EventsFollow`), and `FrameTargets` is added after the front end.
    on_error : {'raise', 'skip'}
        'raise' (default: a row naming a file that is not under `path`, or an event past its file's end, is a
        ValueError naming the row) or 'skip' (such rows are left out, with a warning; `dls.skipped_rows` lists
        them).
    valid_files : list of str, optional
        The validation files, named as in the CSV (default None: `valid_pct` of the strongly labelled files at
        random, `seed`).
    weak_csv : str or Path, optional
        Clip-level labels (`filename, event_labels`, see `read_weak_labels`) of more files under `path`, for
        training only (a validation set needs onsets to be scored); a file in both CSVs is an error.
    **kwargs
        `pad`, `cache`, `resample`, `quality`: the `AudioBlock` settings that apply to whole files (see
        `AudioBlock`); other keywords go to fastai's loaders (bs, num_workers...).

    Returns
    -------
    AudioDataLoaders
        The loaders; `dls.vocab`: the event classes, sorted; `dls.c` their number; `dls.skipped_rows`: the
        (line, problem) of the rows left out.

    Raises
    ------
    ValueError
        With `on_error='raise'`, for a bad row (naming it) or a bad name in `valid_files`; for a file in both
        CSVs, a `valid_files` entry with weak labels only, or a CSV without events; for a batch transform that does
        not say what it does to time (naming it).
    TypeError
        For a keyword fastai's loaders do not take, naming the nearest known name.

    Examples
    --------
    >>> dls = sed_dataloaders('scapes/events.csv', 'scapes', valid_pct=0.2, seed=0, bs=16)   # doctest: +SKIP
    >>> x, y = dls.one_batch()     # (batch, 1, mels, frames), (batch, frames, classes)     # doctest: +SKIP
    """
    check_loader_kwargs(kwargs, 'sed_dataloaders', keyword_names(sed_dataloaders) | set(SED_AUDIO_SETTINGS))
    audio_kw = {k: kwargs.pop(k) for k in SED_AUDIO_SETTINGS if k in kwargs}
    import soundfile as sf
    path = Path(path)
    find = _FileIndex(path)
    by_file, bad = defaultdict(list), []
    rows = event_rows(events_csv)
    lengths = {}
    for line, e in rows:
        f, problem = find(e.filename)
        if problem is None and e.event_label:
            if f not in lengths: lengths[f] = sf.info(str(f)).duration
            if e.offset > lengths[f] + 1e-3:
                problem = f'offset {e.offset} s is past the end of {f.name} ({lengths[f]:.3f} s)'
        if problem is not None:
            if on_error != 'skip': raise ValueError(f'{events_csv}, line {line}: {problem}')
            bad.append((line, problem))
            continue
        by_file.setdefault(f, [])
        if e.event_label: by_file[f].append(e)
    weak = {}
    if weak_csv is not None:
        for line, name, labels in weak_rows(weak_csv):
            f, problem = find(name)
            if problem is None and f in by_file: problem = f'{f.name} also has strong labels in {events_csv}'
            if problem is not None:
                if on_error != 'skip': raise ValueError(f'{weak_csv}, line {line}: {problem}')
                bad.append((line, f'{problem} ({Path(weak_csv).name})'))
                continue
            weak[f] = labels
    if bad:
        where = ' and '.join(str(c) for c in (events_csv, weak_csv) if c is not None)
        warnings.warn(f'sed_dataloaders: {len(bad)} rows of {where} left out (first: line {bad[0][0]}: {bad[0][1]}); '
                      'see dls.skipped_rows (line, problem)')
    vocab = sorted({e.event_label for evs in by_file.values() for e in evs} | {c for v in weak.values() for c in v})
    if not vocab: raise ValueError(f'{events_csv}: no events to learn from')
    strong_items, weak_items = sorted(by_file), sorted(weak)
    if valid_files is not None:
        valid = set()
        for v in valid_files:
            f, problem = find(v)
            if problem is not None:
                if on_error != 'skip': raise ValueError(f'valid_files: {problem}')
                warnings.warn(f'sed_dataloaders: valid_files: {problem}; left out')
                continue
            if f in weak: raise ValueError(f'valid_files names {v}, which has weak labels only: validation needs '
                                           'onsets and offsets')
            valid.add(f)
    else:
        valid = {strong_items[i] for i in RandomSplitter(valid_pct, seed=seed)(strong_items)[1]}
    splitter = lambda its: ([i for i, f in enumerate(its) if f not in valid],       # noqa: E731
                            [i for i, f in enumerate(its) if f in valid])
    get_y = _EventsOf(by_file, weak, vocab, max([len(v) for v in by_file.values()] + [len(v) for v in weak.values()]))
    tfms = _events_follow(default_batch_tfms(batch_tfms, sr)) + [FrameTargets(vocab)]
    dblock = DataBlock(blocks=(AudioBlock(sr, duration=None, **audio_kw), TransformBlock()), get_y=get_y, splitter=splitter,
                       batch_tfms=tfms)
    dls = build_dataloaders(dblock, strong_items + weak_items, 'raise', path=path, **kwargs)
    dls.vocab, dls.c, dls.skipped_rows = vocab, len(vocab), bad
    return dls
