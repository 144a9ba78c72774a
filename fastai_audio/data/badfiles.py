"""Bad files: finding the audio files that cannot be used (`find_bad_audio`), leaving them out with
`on_error='skip'`, and refusing mixed sample rates up front (`check_one_rate`)."""
from __future__ import annotations

import warnings
from pathlib import Path

import soundfile as sf

from ..core import AudioLoadError, load_audio

__all__ = ['find_bad_audio', 'check_one_rate']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('SkipBadAudio', 'check_on_error', 'items_and_files')


def _problem(path) -> str | None:
    try: load_audio(path, sr=None, mono=False)
    except AudioLoadError as e: return e.cause
    return None


def find_bad_audio(files, n_workers: int | None = None, progress: bool = True):
    """The files among `files` that cannot be used, each with the reason.

    Each file is decoded in full with the checks training applies (readable, not empty or truncated, has
    samples, no NaN or infinite values).

    Parameters
    ----------
    files : iterable of str or Path
        The audio files.
    n_workers : int, optional
        Threads that decode (default None: the CPU count).
    progress : bool
        Show a progress bar (when there is more than one file; default True).

    Returns
    -------
    pandas.DataFrame
        Columns `file` and `reason`, one row per bad file; empty when all are fine.

    Examples
    --------
    >>> bad = find_bad_audio(get_audio_files(path))      # doctest: +SKIP
    >>> bad.reason.value_counts()                        # doctest: +SKIP
    """
    import pandas as pd
    from fastcore.parallel import parallel
    files = list(files)
    reasons = parallel(_problem, files, n_workers=n_workers, threadpool=True, progress=progress and len(files) > 1)
    return pd.DataFrame([(str(f), r) for f, r in zip(files, reasons) if r is not None], columns=['file', 'reason'])


class SkipBadAudio:
    """`get_items` for `on_error='skip'`: the items of `get_items(source)` (or `source`) whose audio file
    (`get_x(item)`, or the item) loads; the others are left out with a warning and listed in `report`."""
    def __init__(self, get_items=None, get_x=None): self.get_items, self.get_x, self.report = get_items, get_x, None

    def __call__(self, source):
        items, rows, files = items_and_files(source, self.get_items, self.get_x)
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


def items_and_files(source, get_items=None, get_x=None):
    "The items of `source` (`get_items(source)`, or `source`), each as a row (of a DataFrame) and its audio file."
    items = get_items(source) if get_items is not None else source
    rows = [r for _, r in items.iterrows()] if hasattr(items, 'iterrows') else list(items)
    return items, rows, [get_x(r) if get_x is not None else r for r in rows]


def check_on_error(on_error: str) -> str:
    "`on_error` if it is 'raise' or 'skip' (what the loaders and `predict_folder` take), else a ValueError."
    if on_error not in ('raise', 'skip'): raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    return on_error


def check_one_rate(files):
    """Refuse audio files of more than one sample rate.

    Loading with `sr=None` keeps each file's rate, and a batch (and a spectrogram's mel scale) needs one. Files
    whose header cannot be read are passed over (the loader names them when it gets there).

    Parameters
    ----------
    files : iterable
        The items; paths (str or Path) are checked, other items are passed over.

    Raises
    ------
    ValueError
        When the files have more than one sample rate, saying which files have which rate and to pass `sr=`.
    """
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
