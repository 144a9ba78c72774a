"""Keyword arguments checked the same way at every entry point: a misspelt keyword is refused with the nearest
known name before anything is downloaded or built (`check_keywords`), and a renamed parameter is still taken
for one release with a `DeprecationWarning` (`renamed_parameters`).

Both are public-internal: used across the package, not part of `from fastai_audio import *`.
"""
from __future__ import annotations

import difflib
import functools
import warnings

__all__ = []
__internal__ = ('keyword_names', 'check_keywords', 'unknown_keyword_error', 'renamed_parameters')


def keyword_names(*functions) -> set:
    "The names of the parameters of `functions` that can be given by keyword (not `self`, `cls`, `*args`, `**kwargs`)."
    import inspect
    return {n for f in functions for n, p in inspect.signature(f).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in ('self', 'cls')}


def unknown_keyword_error(unknown, where: str, known, note: str = '') -> TypeError:
    """The TypeError for the keywords `unknown` given to `where`: each named with the nearest of `known`
    (`difflib`, at most two) when one is close, then `note` (what the known names are) if given."""
    unknown = sorted(unknown)
    known = sorted(set(known))
    hints = [f'{k!r}' + (f" (did you mean {', '.join(map(repr, close))}?)"
                         if (close := difflib.get_close_matches(k, known, n=2, cutoff=0.6)) else '') for k in unknown]
    return TypeError(f'{where} got unexpected keyword argument{"s" if len(unknown) > 1 else ""} {", ".join(hints)}'
                     + (f': {note}' if note else ''))


def check_keywords(kwargs, where: str, known, note: str = ''):
    """Raise `unknown_keyword_error` for the keys of `kwargs` not in `known`: a factory whose `**kwargs` go on to
    another library would otherwise swallow a misspelt keyword (or fail late, after a download, in someone else's
    words). Call it first, before anything is downloaded or built."""
    unknown = set(kwargs) - set(known)
    if unknown: raise unknown_keyword_error(unknown, where, known, note)


def renamed_parameters(**renames):
    """Decorator: the function (or method) also takes each old name of `renames` (`old='new'`) by keyword, for one
    release, with a DeprecationWarning; giving both names is a TypeError. The signature shows the new names only.

    >>> @renamed_parameters(sample_rate='sr')
    ... def rate(sr): return sr
    """
    def wrap(f):
        @functools.wraps(f)
        def renamed(*args, **kwargs):
            for old, new in renames.items():
                if old not in kwargs: continue
                if new in kwargs: raise TypeError(f'{f.__qualname__}: give {new} (the new name of {old}), not both')
                warnings.warn(f'{f.__qualname__}: `{old}` is renamed `{new}`; `{old}` goes in the next release',
                              DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return f(*args, **kwargs)
        return renamed
    return wrap
