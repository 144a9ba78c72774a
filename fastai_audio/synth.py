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

__all__ = ['SYNTH_CLASSES', 'NSYNTH_PATTERN', 'synth_clip', 'make_synthetic_dataset']

SYNTH_CLASSES = ('sine', 'square', 'chirp', 'noise', 'clicks')
NSYNTH_PATTERN = r'(\w+)_\w+_\d+-\d+-\d+.wav$'


def _envelope(n, sr, rng):
    attack, release = rng.uniform(0.005, 0.05), rng.uniform(0.05, 0.3)
    t = np.arange(n) / sr
    return np.minimum(1.0, t / attack) * np.minimum(1.0, (t[-1] - t + 1 / sr) / release)


def synth_clip(label: str, sr: int = 16000, duration: float = 1.0, rng: np.random.Generator | None = None):
    """One clip of class `label` as a float32 array `(samples,)` in [-1, 1], and its MIDI-like pitch."""
    rng = rng or np.random.default_rng()
    n = int(round(sr * duration))
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
        y = np.convolve(y, np.exp(-np.arange(int(0.004 * sr)) / (0.001 * sr)), mode='same')
    else: raise ValueError(f'unknown class {label!r}; choose from {SYNTH_CLASSES}')
    y = y * _envelope(n, sr, rng)
    y = y / (np.abs(y).max() + 1e-9) * 10 ** (rng.uniform(-20, -3) / 20)
    y = y + rng.standard_normal(n) * 10 ** (rng.uniform(-70, -45) / 20)
    return np.clip(y, -1, 1).astype(np.float32), pitch


def make_synthetic_dataset(path, n_train: int = 40, n_valid: int = 10, sr: int = 16000, duration: float = 1.0,
                           classes=SYNTH_CLASSES, seed: int = 0) -> Path:
    """Write `n_train` and `n_valid` clips per class as 16-bit WAV under `path/train` and `path/valid` and
    return `path`. Deterministic for a given `seed`; a folder already holding the same settings is reused."""
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
                y, pitch = synth_clip(c, sr, duration, rng)
                sf.write(path / split / f'{c}_synth_{i:03d}-{pitch:03d}-100.wav', y, sr, subtype='PCM_16')
    stamp.write_text(json.dumps(settings))
    return path
