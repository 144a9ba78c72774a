"""Audio tensors and decoding: `AudioTensor`, `load_audio`, resampling, downmix, files.

Everything here runs with torch, numpy, soundfile and soxr alone; torchaudio is never imported.
"""
from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

# The layers that use fastai import it through this module first (their packages' __init__ import `core`): fastai 2.8
# decorates a few functions with torch.jit.script at import, which torch >= 2.10 deprecates with a FutureWarning on
# every import. It is fastai's to change and says nothing about this package's use, so the first import is quiet;
# the filter holds for that import alone.
with warnings.catch_warnings():
    warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
    import fastai.layers  # noqa: F401
    from fastai.data.transforms import get_files
    from fastai.torch_core import TensorBase
from fastcore.imports import IN_NOTEBOOK

from .runtime.filecheck import non_audio_content, describe_exception, soundfile_message, truncation_cause
from .runtime.functional import seconds_to_samples
from .runtime.waveform import PCM16_FULL_SCALE, conform_waveform, resample

__all__ = ['AudioTensor', 'AudioLoadError', 'audio_extensions', 'get_audio_files', 'load_audio',
           'downmix', 'show_waveform', 'tidy_grid']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('load_audio_slice',)

audio_extensions = ('.wav', '.flac', '.ogg', '.oga', '.opus', '.mp3', '.aiff', '.aif', '.aifc', '.au', '.snd',
                    '.caf', '.w64', '.m4a', '.wma', '.webm')


class AudioLoadError(RuntimeError):
    """Raised when an audio file cannot be turned into samples; the message names the file and the cause.

    The file and the cause are kept as `path` and `cause`, and the error pickles. Built from one argument, a
    whole message, it reads `path` and `cause` back from its last line naming a file: torch re-raises a
    DataLoader worker's error that way (with the worker's traceback as the message), so `except AudioLoadError`
    works with `num_workers > 0` too.

    Parameters
    ----------
    path : str or Path
        The file; or, with `cause` None, a whole message (`path` and `cause` are then read back from it, None
        when it names no file).
    cause : str, optional
        Why it cannot be loaded (default None).
    """
    def __init__(self, path, cause=None):
        self._args = (path,) if cause is None else (path, cause)
        if cause is None:
            found = re.findall(r"Cannot load audio file '(.*?)': (.*)$", str(path), re.M)
            self.path, self.cause = (Path(found[-1][0]), found[-1][1]) if found else (None, None)
            super().__init__(str(path))
        else:
            self.path, self.cause = Path(path), cause
            super().__init__(f"Cannot load audio file '{path}': {cause}")

    def __reduce__(self): return type(self), self._args


def get_audio_files(path, recurse=True, *, folders=None, extensions=audio_extensions):
    """Audio files under `path`, sorted like `get_image_files`.

    Parameters
    ----------
    path : str or Path
        The folder to search.
    recurse : bool
        Search subfolders too (default True).
    folders : list of str, optional
        Search only these subfolders (default None: all).
    extensions : sequence of str
        File name extensions to take, with the dot (default `audio_extensions`: '.wav', '.flac', '.mp3'...).

    Returns
    -------
    fastcore.foundation.L
        The paths.

    Examples
    --------
    >>> files = get_audio_files(path/'train')            # doctest: +SKIP
    """
    return get_files(path, extensions=extensions, recurse=recurse, folders=folders)


class AudioTensor(TensorBase):
    """A waveform that carries its sample rate `sr` in Hz.

    Shape `(channels, samples)`, or `(batch, channels, samples)` once collated. Values are floats, nominally in
    [-1, 1]. `nchannels`, `nsamples` and `duration` (seconds) read its shape; `show` draws it. Make one with
    `load_audio` or `AudioTensor.create`.

    Parameters
    ----------
    x : torch.Tensor or array_like
        The samples.
    **kwargs
        Metadata kept on the tensor, fastai's `TensorBase` way: `sr`, the sample rate in Hz.

    Examples
    --------
    >>> a = AudioTensor(torch.zeros(1, 16000), sr=16000)
    >>> a.duration
    1.0
    """

    @classmethod
    def create(cls, fn, sr: int | None = None, mono: bool = True) -> 'AudioTensor':
        """Load a file with `load_audio`, or wrap samples as they are.

        Parameters
        ----------
        fn : str, Path, AudioTensor, torch.Tensor or array_like
            A path, or samples `(samples,)` or `(channels, samples)`.
        sr : int, optional
            Sample rate in Hz: for a path, the rate to resample to (None keeps the file's); for samples, their
            rate (needed unless `fn` carries `sr`).
        mono : bool
            For a path: average the channels into one (default True).

        Returns
        -------
        AudioTensor
            `(channels, samples)`, float32.

        Raises
        ------
        ValueError
            For samples without a sample rate.
        """
        if isinstance(fn, (str, Path)): return load_audio(fn, sr=sr, mono=mono)
        sr_in = getattr(fn, 'sr', sr)
        if sr_in is None: raise ValueError('AudioTensor.create from an array needs `sr` (the sample rate in Hz)')
        x = torch.as_tensor(np.asarray(fn) if not isinstance(fn, torch.Tensor) else fn, dtype=torch.float32)
        if x.ndim == 1: x = x[None]
        return cls(x, sr=sr_in)

    @property
    def nchannels(self) -> int: return self.shape[-2]

    @property
    def nsamples(self) -> int: return self.shape[-1]

    @property
    def duration(self) -> float:
        "Length in seconds."
        return self.shape[-1] / self.sr

    def show(self, ctx=None, title=None, player=IN_NOTEBOOK, **kwargs):
        """Draw the waveform and, in a notebook, show an audio player.

        Parameters
        ----------
        ctx : matplotlib.axes.Axes, optional
            Where to draw (default None: a new figure).
        title : str, optional
            The plot's title.
        player : bool
            Show an audio player (default: True in a notebook).
        **kwargs
            Passed to `show_waveform`.

        Returns
        -------
        matplotlib.axes.Axes
            The axis drawn on.
        """
        ax = show_waveform(self, sr=self.sr, ctx=ctx, title=title, **kwargs)
        if player:
            from IPython.display import Audio, display
            display(Audio(self.detach().cpu().numpy(), rate=self.sr))
        return ax


def show_waveform(x, sr, *, ctx=None, title=None, figsize=(6, 2), **kwargs):
    """Plot a waveform against time in seconds, one line per channel.

    Parameters
    ----------
    x : torch.Tensor or array_like
        Shape `(channels, samples)` (or `(samples,)`).
    sr : int
        Sample rate in Hz.
    ctx : matplotlib.axes.Axes, optional
        Where to draw (default None: a new figure of `figsize`).
    title : str, optional
        The plot's title.
    figsize : tuple of float
        Size in inches of a new figure (default (6, 2)).
    **kwargs
        Passed to matplotlib's `plot`.

    Returns
    -------
    matplotlib.axes.Axes
        The axis drawn on.
    """
    import matplotlib.pyplot as plt
    ax = ctx if ctx is not None else plt.subplots(figsize=figsize)[1]
    y = torch.as_tensor(x).detach().cpu().float()
    y = y.reshape(-1, y.shape[-1])
    t = np.arange(y.shape[-1]) / sr
    for ch in y: ax.plot(t, ch.numpy(), linewidth=0.5, **kwargs)
    ax.set_xlim(0, max(t[-1] if len(t) else 0, 1 / sr))
    ax.set_xlabel('time (s)')
    if title is not None: ax.set_title(title)
    return ax


def tidy_grid(axes):
    """Lay out the figure of a grid of plots so that axis labels and titles do not overlap.

    Parameters
    ----------
    axes : iterable of matplotlib.axes.Axes
        The grid's axes (of one figure).

    Returns
    -------
    list of matplotlib.axes.Axes
        `axes`, as a list.
    """
    axes = list(axes)
    if axes and hasattr(axes[0], 'figure'):
        fig = axes[0].figure
        fig.tight_layout(rect=(0, 0, 1, 0.95) if fig.get_suptitle() else None)
    return axes


def downmix(x: torch.Tensor) -> torch.Tensor:
    """Average the channels of a waveform into one.

    Parameters
    ----------
    x : torch.Tensor
        Shape `(..., channels, samples)`.

    Returns
    -------
    torch.Tensor
        Shape `(..., 1, samples)`.
    """
    return x.mean(dim=-2, keepdim=True)


_UNKNOWN_LENGTH = 2 ** 62   # libsndfile gives SF_COUNT_MAX (2**63 - 1) frames when the header has no length


def _decode(path: Path, pick=None):
    """Decode `path` into `(float32 array (channels, samples), sample rate)`; soundfile first, librosa as fallback
    for what soundfile cannot open. `pick(frames, sr) -> (start, count)` reads only that slice of the file
    (soundfile only; librosa decodes it all and slices). The format is found from the content, never from the
    extension. A file soundfile opens but cannot decode is truncated or corrupt: that is an error, not a
    case for the fallback (which might return the part it can decode as if it were all)."""
    try: f = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as e: sf_err = soundfile_message(e, path)
    else:
        with f:
            if f.frames < _UNKNOWN_LENGTH: return _read(f, path, pick)
            sf_err = 'the header does not give the number of samples (a FLAC encoded from a stream?)'
    try:
        import librosa
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            data, file_sr = librosa.load(str(path), sr=None, mono=False, dtype=np.float32)
        data = np.atleast_2d(data)
        if pick is not None:
            start, count = pick(data.shape[-1], int(file_sr))
            data = data[:, start:start + count if count >= 0 else None]
        return data, int(file_sr)
    except Exception as e:  # noqa: BLE001 -- any decoder failure becomes one clear error below
        what = non_audio_content(path)
        raise AudioLoadError(path, f'not a readable audio file{f": it is {what}" if what else ""} (soundfile: '
                                   f'{sf_err}; fallback decoder: {describe_exception(e)})') from None


def _read(f, path: Path, pick=None):
    "Read the slice `pick` chooses (all if None) of the open soundfile `f` as float32 `(channels, samples)`."
    start, count = pick(f.frames, f.samplerate) if pick is not None else (0, -1)
    try:
        if start: f.seek(start)
        if f.subtype == 'PCM_16':              # read the integers and scale them: ~2x faster than libsndfile's
            data = f.read(count, dtype='int16', always_2d=True).T     # float conversion, same values (x / 2**15)
            data = np.multiply(data, np.float32(1 / PCM16_FULL_SCALE), dtype=np.float32)
        else: data = np.ascontiguousarray(f.read(count, dtype='float32', always_2d=True).T)
    except sf.LibsndfileError as e:
        part = '' if pick is None else f' (reading {count} from sample {start})'
        raise AudioLoadError(path, f'truncated or corrupt audio data: the header declares {f.frames} samples but '
                                   f'decoding failed{part} (soundfile: {soundfile_message(e, path)})') from None
    left = max(f.frames - start, 0)
    if data.shape[-1] < (left if count < 0 else min(count, left)):     # seen with a cut MP3: its length is a guess
        warnings.warn(f"audio file '{path}': decoded {data.shape[-1]} samples from sample {start} where the header "
                      f'declares {f.frames}: the file is probably truncated')
    return data, f.samplerate


def load_audio(path, sr: int | None = None, *, mono: bool = True, quality: str = 'HQ', offset: float = 0.0,
               duration: float | None = None) -> AudioTensor:
    """Read an audio file into an `AudioTensor` of shape `(channels, samples)`, float32.

    Parameters
    ----------
    path : str or Path
        WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF... through soundfile (libsndfile); formats it lacks go through
        librosa's decoder where one is installed. The format is read from the content, so a file with the wrong
        extension loads. Integer files (8/16/24/32-bit, unsigned 8-bit) are scaled to [-1, 1); float files are
        returned as written, values beyond +-1 included (they are the data).
    sr : int > 0, optional
        Target sample rate in Hz; resampled with soxr (`quality`) only when the file's rate differs. Default
        None keeps the file's rate.
    mono : bool
        Average the channels into one (default True); False keeps them.
    quality : str
        soxr's resampling quality (default 'HQ'; 'VHQ' is slower).
    offset : float
        Seconds from the start of the file where reading begins (default 0.0).
    duration : float, optional
        Seconds to read from `offset` (default None: to the end). Only that part of the file is decoded, which
        is what makes random crops of long recordings cheap.

    Returns
    -------
    AudioTensor
        `(channels, samples)` float32 (one channel with `mono`), its rate in `.sr`.

    Raises
    ------
    AudioLoadError
        Naming the file and the cause, for a missing, unreadable, empty, truncated, corrupt or non-audio file
        (saying what it holds when that is recognisable: an image, text...), a file without samples or too
        short to resample, and NaN or infinite samples. A silent file is fine. Truncation is found from the
        header for WAV, AIFF, AU and FLAC, and from a decoding failure for FLAC cut mid-stream (a slice before
        the cut still loads); a cut MP3 has no reliable length and loads what remains.

    Examples
    --------
    >>> a = load_audio('dog.wav', sr=16000)                        # doctest: +SKIP
    >>> a.shape, a.sr                                              # doctest: +SKIP
    (torch.Size([1, 80000]), 16000)
    >>> part = load_audio('long.flac', offset=30.0, duration=5.0)  # only those 5 s are decoded  # doctest: +SKIP
    """
    pick = None
    if offset or duration is not None:
        pick = lambda n, fsr: (min(n, seconds_to_samples(offset, fsr)),
                               -1 if duration is None else seconds_to_samples(duration, fsr))
    return load_audio_slice(path, sr, mono, quality, pick)


def load_audio_slice(path, sr, mono=True, quality='HQ', pick=None) -> AudioTensor:
    "`load_audio` reading the slice `pick(frames, file_sr) -> (start, count)` chooses (all of it if None)."
    path = Path(path)
    try: st = os.stat(path)                      # one system call for the three checks
    except FileNotFoundError:
        why = 'a broken symbolic link (its target does not exist)' if path.is_symlink() else 'no such file'
        raise AudioLoadError(path, why) from None
    except OSError as e: raise AudioLoadError(path, f'cannot be read ({e.strerror})') from None
    if stat.S_ISDIR(st.st_mode): raise AudioLoadError(path, 'is a directory, not a file')
    if st.st_size == 0: raise AudioLoadError(path, 'the file is empty (0 bytes)')
    try: why = truncation_cause(path, st.st_size)     # the first open: also where an unreadable file shows
    except OSError as e: raise AudioLoadError(path, f'cannot be read ({e.strerror})') from None
    if why is not None: raise AudioLoadError(path, why)
    data, file_sr = _decode(path, pick)
    if data.shape[-1] == 0: raise AudioLoadError(path, 'the file contains no samples' if pick is None else
                                                 'no samples in the requested part (the file is shorter)')
    if not np.isfinite(data).all():
        nan, inf = int(np.isnan(data).sum()), int(np.isinf(data).sum())
        raise AudioLoadError(path, f'the file contains {nan + inf} NaN or infinite samples ({nan} NaN, '
                                   f'{inf} infinite)')
    n = data.shape[-1]
    data = conform_waveform(data, file_sr, sr=sr, mono=mono, quality=quality)
    if sr is not None and sr != file_sr:
        if data.shape[-1] == 0:
            raise AudioLoadError(path, f'too short to resample from {file_sr} to {sr} Hz: {n} sample(s) give none')
        file_sr = sr
    return AudioTensor(torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)), sr=int(file_sr))
