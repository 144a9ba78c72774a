"""Soundscapes with strong labels, made offline and deterministically (as Scaper makes them): labelled clips
placed at random onsets, gains and overlaps over a background, written as WAV files plus the DCASE-style CSV
`filename, onset, offset, event_label` (seconds) that sound event detection trains on.

    make_soundscapes(get_audio_files('nsynth_gm/train'), 'scapes/train', n=200, label_func=nsynth_family)
"""
from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import numpy as np
import torch

from ..core import get_audio_files, load_audio
from ..runtime.events import Event
from ..runtime.functional import seconds_to_samples
from .synth import NSYNTH_PATTERN

__all__ = ['make_soundscapes']

def _label_of(pattern: str):
    rx = re.compile(pattern)

    def label(f: Path) -> str:
        m = rx.search(f.name)
        if m is None: raise ValueError(f'make_soundscapes: {f} does not match the label pattern {pattern!r}')
        return m.group(1)
    return label


def _active_span(y: np.ndarray, sr: int, floor_db: float = -40.0) -> tuple[int, int]:
    """The samples `[a, b)` of `y` louder than `floor_db` under its peak (20 ms frames): where the event really
    sounds, so a note's silent tail is not labelled."""
    n = max(1, sr // 50)
    frames = np.sqrt(np.mean(np.pad(y, (0, -len(y) % n)).reshape(-1, n) ** 2, axis=1)) + 1e-12
    loud = np.nonzero(20 * np.log10(frames / frames.max()) > floor_db)[0]
    return int(loud[0] * n), int(min(len(y), (loud[-1] + 1) * n))


def make_soundscapes(sources, path, *, n: int = 100, duration: float = 10.0, sr: int = 16000, events=(1, 4),
                     event_duration=(0.5, 3.0), snr_db=(0.0, 20.0), background='pink', background_db: float = -30.0,
                     label_func=None, pattern: str = NSYNTH_PATTERN, seed: int = 0) -> Path:
    """Write soundscapes of labelled clips over a background, and their strong labels.

    The soundscapes go to `path/scape_0000.wav`... (16-bit WAV) and their labels to `path/events.csv` (`filename,
    onset, offset, event_label`, seconds; a soundscape without events as one row with empty fields). Each event is
    a random source clip, cut to a uniform length in `event_duration` seconds from its start, placed at a uniform
    onset (events may overlap), at a uniform `snr_db` above the background. Its label spans the part of it that
    sounds (louder than -40 dB under its peak), so the release tail of a note is not called an event. Everything
    is drawn from `seed`: the same arguments write the same files. Clips are mixed at `sr`; the sum is scaled
    down only if it would clip.

    Parameters
    ----------
    sources : str, Path or iterable of Path
        Audio files, or a folder of them.
    path : str or Path
        The output folder, created if needed.
    n : int
        Number of soundscapes (default 100).
    duration : float
        Seconds per soundscape (default 10.0).
    sr : int
        Sample rate in Hz of the mix and the files (default 16000).
    events : tuple of int
        (min, max) events a soundscape, both included (default (1, 4)).
    event_duration : tuple of float
        (min, max) seconds an event's clip is cut to (default (0.5, 3.0)).
    snr_db : tuple of float
        (min, max) level of an event above the background in dB, RMS over the part that sounds (default (0, 20)).
    background : str, Path or iterable of Path
        'white', 'pink' or 'brown' noise (default 'pink'), or a folder / list of recordings (a random part of one,
        looped if short, scaled to the same level).
    background_db : float
        The background's level in dBFS (RMS; default -30).
    label_func : callable, optional
        file -> its label (default None: the first group of `pattern` on the file name).
    pattern : str
        Regular expression whose first group is the label (default `NSYNTH_PATTERN`: 'bass' of
        'bass_acoustic_000-024-050.wav').
    seed : int
        Seed of every random draw (default 0).

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    FileNotFoundError
        When there are no source files, or no background recordings.
    ValueError
        When a file name does not match `pattern` (without `label_func`).

    Examples
    --------
    >>> make_soundscapes(get_audio_files('nsynth_gm/train'), 'scapes/train', n=200,   # doctest: +SKIP
    ...                  label_func=nsynth_family)
    """
    from ..transforms.augment import colored_noise
    files = get_audio_files(sources) if isinstance(sources, (str, Path)) and Path(sources).is_dir() else \
        [Path(f) for f in sources]
    if not files: raise FileNotFoundError(f'make_soundscapes: no audio files in {sources}')
    label_func = label_func or _label_of(pattern)
    labels = [label_func(f) for f in files]
    bg_files = None
    if not (isinstance(background, str) and background in ('white', 'pink', 'brown')):
        bg_files = get_audio_files(background) if Path(background).is_dir() else [Path(f) for f in background]
        if not bg_files: raise FileNotFoundError(f'make_soundscapes: no background recordings in {background}')
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    length = seconds_to_samples(duration, sr, 1)
    level = 10 ** (background_db / 20)
    rows = []
    import soundfile as sf
    for k in range(n):
        name = f'scape_{k:04d}.wav'
        if bg_files is None:
            with torch.random.fork_rng(devices=[]):                   # the noise from `seed` too
                torch.manual_seed(rng.randrange(2 ** 31))
                bg = colored_noise((length,), background).numpy().astype(np.float64)
        else:
            b = load_audio(rng.choice(bg_files), sr=sr)[0].numpy().astype(np.float64)
            b = np.tile(b, -(-length // len(b)))
            start = rng.randrange(len(b) - length + 1)
            bg = b[start:start + length]
            bg = bg / (np.sqrt(np.mean(bg ** 2)) + 1e-12)
        mix = level * bg
        for _ in range(rng.randint(*events)):
            i = rng.randrange(len(files))
            y = load_audio(files[i], sr=sr)[0].numpy().astype(np.float64)
            y = y[:seconds_to_samples(rng.uniform(*event_duration), sr, 1)]
            a, b = _active_span(y, sr)
            y = y[:b]
            onset = rng.randrange(max(1, length - len(y) + 1))
            y = y[:length - onset]
            if len(y) <= a: continue                              # cut before it sounds: no event
            rms = np.sqrt(np.mean(y[a:] ** 2)) + 1e-12
            y = y * level * 10 ** (rng.uniform(*snr_db) / 20) / rms
            mix[onset:onset + len(y)] += y
            rows.append(Event(name, round((onset + a) / sr, 4), round((onset + len(y)) / sr, 4), labels[i]))
        peak = np.abs(mix).max()
        if peak > 0.99: mix *= 0.99 / peak
        sf.write(path / name, mix.astype(np.float32), sr, subtype='PCM_16')
        if not any(r.filename == name for r in rows): rows.append(Event(name, float('nan'), float('nan'), ''))
    with open(path / 'events.csv', 'w', newline='') as fh:
        w = csv.writer(fh)
        w.writerow(['filename', 'onset', 'offset', 'event_label'])
        for r in sorted(rows, key=lambda r: (r.filename, r.onset if r.onset == r.onset else -1)):
            w.writerow([r.filename, '' if r.onset != r.onset else r.onset, '' if r.offset != r.offset else r.offset,
                        r.event_label])
    return path
