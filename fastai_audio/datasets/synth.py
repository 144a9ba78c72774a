"""A small deterministic sound-class dataset, generated offline: the embedded default for the demo, the
tests and the tutorials. Nothing is downloaded.

Five classes a spectrogram separates but a loudness statistic does not: 'sine' (a pure tone), 'square' (a
tone rich in odd harmonics), 'chirp' (a rising sweep), 'noise' (a band of noise) and 'clicks' (a click
train). Pitch, level, envelope, band, rate and a background noise floor are drawn at random per clip.
Files are laid out like NSynth: `ROOT/{train,valid}/{label}_synth_{id:03d}-{pitch:03d}-100.wav`, so
`r'(\\w+)_\\w+_\\d+-\\d+-\\d+.wav$'` labels them, and their parent folders split them.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ..runtime.functional import seconds_to_samples

__all__ = ['SYNTH_CLASSES', 'NSYNTH_PATTERN', 'synth_clip', 'synth_mixture', 'make_synthetic_dataset',
           'make_esc50_like', 'make_nsynth_like', 'make_fsdkaggle2019_like', 'make_urbansed_like', 'make_desed_like']

SYNTH_CLASSES = ('sine', 'square', 'chirp', 'noise', 'clicks')
NSYNTH_PATTERN = r'(\w+)_\w+_\d+-\d+-\d+.wav$'


def _envelope(n, sr, rng):
    attack, release = rng.uniform(0.005, 0.05), rng.uniform(0.05, 0.3)
    t = np.arange(n) / sr
    return np.minimum(1.0, t / attack) * np.minimum(1.0, (t[-1] - t + 1 / sr) / release)


def synth_clip(label: str, sr: int = 16000, *, duration: float = 1.0, rng: np.random.Generator | None = None):
    """One synthetic clip of a class, with pitch, level, envelope and background noise drawn at random.

    Parameters
    ----------
    label : str
        One of `SYNTH_CLASSES`: 'sine', 'square', 'chirp', 'noise' or 'clicks'.
    sr : int
        Sample rate in Hz (default 16000).
    duration : float
        Length in seconds (default 1.0).
    rng : numpy.random.Generator, optional
        Source of the random draws (default None: a fresh, unseeded one).

    Returns
    -------
    y : numpy.ndarray
        float32 `(samples,)` in [-1, 1].
    pitch : int
        Its MIDI-like pitch, in 48..84.

    Raises
    ------
    ValueError
        For a class outside `SYNTH_CLASSES`.
    """
    rng = rng or np.random.default_rng()
    n = seconds_to_samples(duration, sr)
    t = np.arange(n) / sr
    pitch = int(rng.integers(48, 85))
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    if label == 'sine': y = np.sin(2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi))
    elif label == 'square':
        k = np.arange(1, 2 * int(sr / 2 / f0 // 2) + 1, 2)[:15]
        y = (np.sin(2 * np.pi * f0 * np.outer(k, t)) / k[:, None]).sum(0)
    elif label == 'chirp':
        f1 = f0 * rng.uniform(2.0, 4.0)
        y = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * duration)))
    elif label == 'noise':
        spec = np.fft.rfft(rng.standard_normal(n))
        hz = np.fft.rfftfreq(n, 1 / sr)
        lo = rng.uniform(200, 3000)
        spec[(hz < lo) | (hz > lo * rng.uniform(1.5, 3.0))] = 0
        y = np.fft.irfft(spec, n)
    elif label == 'clicks':
        y = np.zeros(n)
        period = int(sr / rng.uniform(4, 20))
        y[int(rng.integers(0, period))::period] = 1.0
        y = np.convolve(y, np.exp(-np.arange(seconds_to_samples(0.004, sr)) / (0.001 * sr)), mode='same')
    else: raise ValueError(f'unknown class {label!r}; choose from {SYNTH_CLASSES}')
    y = y * _envelope(n, sr, rng)
    y = y / (np.abs(y).max() + 1e-9) * 10 ** (rng.uniform(-20, -3) / 20)
    y = y + rng.standard_normal(n) * 10 ** (rng.uniform(-70, -45) / 20)
    return np.clip(y, -1, 1).astype(np.float32), pitch


def make_synthetic_dataset(path, n_train: int = 40, *, n_valid: int = 10, sr: int = 16000, duration: float = 1.0,
                           classes=SYNTH_CLASSES, seed: int = 0) -> Path:
    """Write a small synthetic dataset of clips per class as 16-bit WAV under `path/train` and `path/valid`.

    Files are named like NSynth's (`{label}_synth_{id:03d}-{pitch:03d}-100.wav`), so `NSYNTH_PATTERN` labels
    them and their parent folders split them. Deterministic for a given `seed`; a folder already holding the
    same settings (recorded in `path/synth.json`) is reused.

    Parameters
    ----------
    path : str or Path
        The dataset's folder, created if needed.
    n_train : int
        Training clips per class (default 40).
    n_valid : int
        Validation clips per class (default 10).
    sr : int
        Sample rate in Hz (default 16000).
    duration : float
        Seconds per clip (default 1.0).
    classes : sequence of str
        Classes among `SYNTH_CLASSES` (default all five).
    seed : int
        Seed of the random draws: the same seed writes the same files (default 0).

    Returns
    -------
    Path
        `path`.

    Examples
    --------
    >>> path = make_synthetic_dataset('synth')                                              # doctest: +SKIP
    >>> dls = (AudioItemList.from_folder(path).split_by_folder()                             # doctest: +SKIP
    ...        .label_from_re(NSYNTH_PATTERN).databunch(bs=32))
    """
    import soundfile as sf
    path = Path(path)
    settings = dict(n_train=n_train, n_valid=n_valid, sr=sr, duration=duration, classes=list(classes), seed=seed)
    stamp = path / 'synth.json'
    if stamp.exists() and json.loads(stamp.read_text()) == settings: return path
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('valid', n_valid)):
        (path / split).mkdir(parents=True, exist_ok=True)
        for c in classes:
            for i in range(n):
                y, pitch = synth_clip(c, sr, duration=duration, rng=rng)
                sf.write(path / split / f'{c}_synth_{i:03d}-{pitch:03d}-100.wav', y, sr, subtype='PCM_16')
    stamp.write_text(json.dumps(settings))
    return path


def synth_mixture(labels, sr: int = 16000, *, duration: float = 1.0, rng: np.random.Generator | None = None):
    """The sum of one clip of each class in `labels`, at random levels.

    Parameters
    ----------
    labels : iterable of str
        Classes among `SYNTH_CLASSES`.
    sr : int
        Sample rate in Hz (default 16000).
    duration : float
        Length in seconds (default 1.0).
    rng : numpy.random.Generator, optional
        Source of the random draws (default None: a fresh, unseeded one).

    Returns
    -------
    numpy.ndarray
        float32 `(samples,)`, scaled down to a peak of 1 when the sum exceeds it.
    """
    rng = rng or np.random.default_rng()
    y = sum(synth_clip(lab, sr, duration=duration, rng=rng)[0] for lab in labels)
    return (y / max(1.0, float(np.abs(y).max()))).astype(np.float32)


def _write(path, y, sr):
    import soundfile as sf
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, subtype='PCM_16')


def make_esc50_like(path, classes=SYNTH_CLASSES, *, clips_per_fold: int = 2, sr: int = 44100, duration: float = 5.0,
                    seed: int = 0) -> Path:
    """Write a synthetic dataset in ESC-50's exact layout, for `esc50_dataloaders` without a download.

    Under `path`: `meta/esc50.csv` (filename, fold, target, category, esc10, src_file, take) and
    `audio/{fold}-{src_file}-{take}-{target}.wav`, cut as takes A, B... from one source recording per (class,
    fold), as in the real data.

    Parameters
    ----------
    path : str or Path
        The dataset's folder, created if needed.
    classes : sequence of str
        Classes among `SYNTH_CLASSES`, target i being `classes[i]` (default all five).
    clips_per_fold : int
        Clips of each class in each of the 5 folds (default 2).
    sr : int
        Sample rate in Hz (default 44100, ESC-50's).
    duration : float
        Seconds per clip (default 5.0, ESC-50's).
    seed : int
        Seed of the random draws: the same seed writes the same files (default 0).

    Returns
    -------
    Path
        `path`.
    """
    import pandas as pd
    path, rng, rows = Path(path), np.random.default_rng(seed), []
    for fold in range(1, 6):
        for target, c in enumerate(classes):
            src = 100000 + 1000 * fold + target
            for k in range(clips_per_fold):
                name = f'{fold}-{src}-{chr(65 + k)}-{target}.wav'
                _write(path / 'audio' / name, synth_clip(c, sr, duration=duration, rng=rng)[0], sr)
                rows.append(dict(filename=name, fold=fold, target=target, category=c, esc10=target % 2 == 0,
                                 src_file=src, take=chr(65 + k)))
    (path / 'meta').mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path / 'meta' / 'esc50.csv', index=False)
    return path


def make_nsynth_like(path, n_per_split=None, *, classes=SYNTH_CLASSES, sr: int = 16000, duration: float = 4.0,
                     seed: int = 0) -> Path:
    """Write a synthetic dataset in NSynth's exact layout, for `nsynth_dataloaders` without a download.

    Under `path`: `nsynth-{split}/examples.json` and
    `nsynth-{split}/audio/{family}_{source}_{instrument:03d}-{pitch:03d}-{velocity:03d}.wav`, with the real
    metadata fields. Family i is NSynth's i-th family sounded by synthetic class `classes[i]`; qualities are
    drawn at random.

    Parameters
    ----------
    path : str or Path
        The dataset's folder, created if needed.
    n_per_split : dict, optional
        {split: notes per family} (default None: {'train': 6, 'valid': 2}).
    classes : sequence of str
        Classes among `SYNTH_CLASSES`, one per family (default all five).
    sr : int
        Sample rate in Hz (default 16000, NSynth's).
    duration : float
        Seconds per note (default 4.0, NSynth's).
    seed : int
        Seed of the random draws: the same seed writes the same files (default 0).

    Returns
    -------
    Path
        `path`.
    """
    from .recipes import NSYNTH_FAMILIES, NSYNTH_QUALITIES, NSYNTH_SOURCES
    path, rng = Path(path), np.random.default_rng(seed)
    n_per_split = n_per_split or {'train': 6, 'valid': 2}
    note = 0
    for split, n in n_per_split.items():
        meta = {}
        for fam_id, c in enumerate(classes):
            fam = NSYNTH_FAMILIES[fam_id]
            for i in range(n):
                y, pitch = synth_clip(c, sr, duration=duration, rng=rng)
                src_id, inst_no, vel = int(rng.integers(0, 3)), int(rng.integers(0, 100)), int(rng.choice([25, 50, 75, 100, 127]))
                inst = f'{fam}_{NSYNTH_SOURCES[src_id]}_{inst_no:03d}'
                key = f'{inst}-{pitch:03d}-{vel:03d}'
                q = (rng.random(len(NSYNTH_QUALITIES)) < 0.2).astype(int).tolist()
                meta[key] = dict(note=note, note_str=key, instrument=inst_no, instrument_str=inst, pitch=pitch,
                                 velocity=vel, sample_rate=sr, qualities=q,
                                 qualities_str=[n_ for n_, b in zip(NSYNTH_QUALITIES, q) if b],
                                 instrument_family=fam_id, instrument_family_str=fam, instrument_source=src_id,
                                 instrument_source_str=NSYNTH_SOURCES[src_id])
                note += 1
                _write(path / f'nsynth-{split}' / 'audio' / f'{key}.wav', y, sr)
        (path / f'nsynth-{split}' / 'examples.json').write_text(json.dumps(meta, indent=1))
    return path


def make_fsdkaggle2019_like(path, n_clips: int = 60, *, classes=SYNTH_CLASSES, sr: int = 44100,
                            durations=(0.3, 3.0), max_labels: int = 3, seed: int = 0) -> Path:
    """Write a synthetic multi-label dataset in FSDKaggle2019's Zenodo layout, for `fsdkaggle2019_dataloaders`.

    Under `path`: `FSDKaggle2019.meta/train_curated_post_competition.csv` (fname, labels comma-separated,
    freesound_id, license) and `FSDKaggle2019.audio_train_curated/{8 hex digits}.wav`, each clip a mixture
    (`synth_mixture`) of its labels.

    Parameters
    ----------
    path : str or Path
        The dataset's folder, created if needed.
    n_clips : int
        Number of clips (default 60).
    classes : sequence of str
        Classes among `SYNTH_CLASSES` (default all five).
    sr : int
        Sample rate in Hz (default 44100, FSDKaggle2019's).
    durations : tuple of float
        (shortest, longest) clip in seconds, lengths drawn uniformly between (default (0.3, 3.0)).
    max_labels : int
        Each clip has 1 to `max_labels` classes (default 3).
    seed : int
        Seed of the random draws: the same seed writes the same files (default 0).

    Returns
    -------
    Path
        `path`.
    """
    import pandas as pd
    path, rng, rows = Path(path), np.random.default_rng(seed), []
    for i in range(n_clips):
        labels = list(rng.choice(classes, int(rng.integers(1, max_labels + 1)), replace=False))
        fname = f'{int(rng.integers(0, 16 ** 8)):08x}.wav'
        _write(path / 'FSDKaggle2019.audio_train_curated' / fname,
               synth_mixture(labels, sr, duration=float(rng.uniform(*durations)), rng=rng), sr)
        rows.append(dict(fname=fname, labels=','.join(labels), freesound_id=100000 + i,
                         license='http://creativecommons.org/publicdomain/zero/1.0/'))
    (path / 'FSDKaggle2019.meta').mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path / 'FSDKaggle2019.meta' / 'train_curated_post_competition.csv', index=False)
    return path


def _scape(classes, sr, duration, rng, max_events: int = 3):
    """One synthetic soundscape `(samples,)` (quiet noise plus 0 to `max_events` synthetic sounds at random
    onsets, the k-th of `classes` sounded by `SYNTH_CLASSES[k % 5]`) and its events (onset, offset, label)."""
    n = seconds_to_samples(duration, sr)
    y = 0.01 * rng.standard_normal(n)
    events = []
    for _ in range(int(rng.integers(0, max_events + 1))):
        k = int(rng.integers(len(classes)))
        d = float(rng.uniform(0.2, duration / 2))
        on = float(rng.uniform(0, duration - d))
        clip = synth_clip(SYNTH_CLASSES[k % len(SYNTH_CLASSES)], sr, duration=d, rng=rng)[0]
        a = seconds_to_samples(on, sr)
        y[a:a + len(clip)] += 0.5 * clip[:n - a]
        events.append((round(on, 6), round(on + d, 6), classes[k]))
    return (y / max(1.0, np.abs(y).max() / 0.99)).astype(np.float32), sorted(events)


def make_urbansed_like(path, n_per_split: int = 3, *, sr: int = 44100, duration: float = 10.0, seed: int = 0) -> Path:
    """Write synthetic soundscapes in URBAN-SED v2.0.0's layout, for `urbansed_dataloaders` without a download.

    Under `path`: `audio/{train,validate,test}/soundscape_{split}_{uniform|unimodal|bimodal}{n}.wav` and
    `annotations/{split}/{same}.txt` (tab-separated onset, offset, label in seconds, no header; URBAN-SED's class
    names). Each soundscape is quiet noise plus 0 to 3 synthetic sounds at random onsets.

    Parameters
    ----------
    path : str or Path
        The dataset's folder, created if needed.
    n_per_split : int
        Soundscapes in each of the three splits (default 3).
    sr : int
        Sample rate in Hz (default 44100, URBAN-SED's).
    duration : float
        Seconds per soundscape (default 10.0, URBAN-SED's).
    seed : int
        Seed of the random draws: the same seed writes the same files (default 0).

    Returns
    -------
    Path
        `path`.
    """
    from .recipes import URBANSED_CLASSES
    path, rng = Path(path), np.random.default_rng(seed)
    for split in ('train', 'validate', 'test'):
        for i in range(n_per_split):
            name = f'soundscape_{split}_{("uniform", "unimodal", "bimodal")[i % 3]}{i // 3}'
            y, events = _scape(URBANSED_CLASSES, sr, duration, rng)
            _write(path / 'audio' / split / f'{name}.wav', y, sr)
            (path / 'annotations' / split).mkdir(parents=True, exist_ok=True)
            (path / 'annotations' / split / f'{name}.txt').write_text(''.join(f'{a}\t{b}\t{c}\n' for a, b, c in events))
    return path


def make_desed_like(path, n_per_split: int = 4, *, n_weak: int = 3, sr: int = 16000, duration: float = 10.0,
                    seed: int = 0) -> Path:
    """Write synthetic soundscapes in DESED's layout, for `desed_dataloaders` without a download.

    The layout of DESED's `dcase_synth` archive plus the real-data metadata, under `path`:
    `audio/train/synthetic21_train/soundscapes/{i}.wav` and
    `audio/validation/synthetic21_validation/soundscapes/{i}.wav` (the same names in both, as in DESED), their
    strong labels in `metadata/{train,validation}/synthetic21_{train,validation}/soundscapes.tsv` (`filename
    onset offset event_label`, a file without events as `name` and three empty fields), and weakly labelled
    clips `audio/train/weak/Y{id}_{start}_{end}.wav` with `metadata/train/weak.tsv` (`filename event_labels`,
    comma-separated). DESED's class names.

    Parameters
    ----------
    path : str or Path
        The dataset's folder, created if needed.
    n_per_split : int
        Strongly labelled soundscapes in train and in validation (default 4).
    n_weak : int
        Weakly labelled clips in train (default 3).
    sr : int
        Sample rate in Hz (default 16000, DESED's).
    duration : float
        Seconds per soundscape (default 10.0, DESED's).
    seed : int
        Seed of the random draws: the same seed writes the same files (default 0).

    Returns
    -------
    Path
        `path`.
    """
    from .recipes import DESED_CLASSES
    path, rng = Path(path), np.random.default_rng(seed)
    for group, split in (('train', 'synthetic21_train'), ('validation', 'synthetic21_validation')):
        lines = ['filename\tonset\toffset\tevent_label']
        for i in range(n_per_split):
            y, events = _scape(DESED_CLASSES, sr, duration, rng)
            _write(path / 'audio' / group / split / 'soundscapes' / f'{i}.wav', y, sr)
            lines += [f'{i}.wav\t{a:.3f}\t{b:.3f}\t{c}' for a, b, c in events] or [f'{i}.wav\t\t\t']
        (path / 'metadata' / group / split).mkdir(parents=True, exist_ok=True)
        (path / 'metadata' / group / split / 'soundscapes.tsv').write_text('\n'.join(lines) + '\n')
    lines = ['filename\tevent_labels']
    for i in range(n_weak):
        y, events = _scape(DESED_CLASSES, sr, duration, rng)
        name = f'Y{i:011d}_{10 * i:.3f}_{10 * i + 10:.3f}.wav'
        _write(path / 'audio' / 'train' / 'weak' / name, y, sr)
        lines.append(f'{name}\t{",".join(sorted({c for _, _, c in events}))}')
    (path / 'metadata' / 'train').mkdir(parents=True, exist_ok=True)
    (path / 'metadata' / 'train' / 'weak.tsv').write_text('\n'.join(lines) + '\n')
    return path
