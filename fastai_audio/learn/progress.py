"""How a learner shows its progress: fastai's bars on a terminal or in a notebook, and one plain line an epoch
(`PlainProgress`) when the output goes to a file or a pipe, where the bars' carriage-return frames would fill
the log. `audio_learner` and `sed_learner` apply the rule (`set_progress(learn, 'auto')`) to every learner they
build; the CLI's `--progress` is the same setting.
"""
from __future__ import annotations

import sys

from fastai.callback.core import Callback
from fastai.callback.progress import ProgressCallback
from fastcore.imports import in_notebook

__all__ = ['PlainProgress', 'set_progress']

_MODES = ('auto', 'bar', 'lines')               # the CLI's --progress offers the same


class PlainProgress(Callback):
    """Progress for a log file: the metric names as a fit starts, then one line an epoch.

    Each line holds the values the `Recorder` logs, right-aligned in columns, printed to `sys.stdout` as it is
    then; no progress bars. The callback takes no arguments.
    """
    order = 60                                     # after the Recorder has named the metrics
    def after_create(self): self.learn.logger = self._line           # validate() swaps it for noop meanwhile
    def before_fit(self):
        if self.learn.logger is not self._line: self.learn.logger = self._line
        self.learn.logger(self.recorder.metric_names)

    def _line(self, values):
        print('  '.join(f'{v:>10.4f}' if isinstance(v, float) else f'{str(v):>10}' for v in values), flush=True)


def _plain_output() -> bool:
    "True when the output is a file or a pipe: stdout is not a terminal and this is not a notebook."
    isatty = getattr(sys.stdout, 'isatty', None)
    return not (callable(isatty) and isatty()) and not in_notebook()


def set_progress(learn, progress: str = 'auto'):
    """Set how `learn` shows its progress.

    Parameters
    ----------
    learn : Learner
        The learner, changed in place (its progress callbacks and logger).
    progress : {'auto', 'bar', 'lines'}
        'bar' (fastai's bars and table), 'lines' (`PlainProgress`: one plain line an epoch, what a log file
        wants) or 'auto' (default: bars on a terminal or in a notebook, lines when stdout is a file or a pipe,
        as decided now).

    Returns
    -------
    Learner
        `learn`.

    Raises
    ------
    ValueError
        For a `progress` other than 'auto', 'bar' or 'lines'.
    """
    if progress not in _MODES:
        raise ValueError(f"progress must be one of {', '.join(map(repr, _MODES))}, got {progress!r}")
    plain = progress == 'lines' or (progress == 'auto' and _plain_output())
    if plain and not any(isinstance(c, PlainProgress) for c in learn.cbs):
        learn.remove_cbs([c for c in learn.cbs if isinstance(c, ProgressCallback)])
        learn.add_cb(cb := PlainProgress())
        cb.after_create()
    elif not plain and any(isinstance(c, PlainProgress) for c in learn.cbs):
        learn.remove_cbs([c for c in learn.cbs if isinstance(c, PlainProgress)])
        learn.logger = print
        if not any(isinstance(c, ProgressCallback) for c in learn.cbs): learn.add_cb(ProgressCallback())
    return learn
