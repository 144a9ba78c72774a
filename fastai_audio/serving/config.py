"""The one served config: what `config.json` of every exported folder holds, whatever the model.

Every config is a JSON object with `format_version` (`FORMAT_VERSION`) and `kind`, which says which served module
the folder holds and so which record describes it:

==============  ================  ========================================================================
kind            record            served module, as `load_exported` returns it
==============  ================  ========================================================================
'classifier'    `AudioModelSpec`  `WaveformClassifier`: waveform -> class probabilities
'sed'           `SEDSpec`         `FrameDetector`: waveform -> frame probabilities
'embedding'     `EmbeddingSpec`   `EmbeddingClassifier`: frozen embedder + head -> class probabilities
==============  ================  ========================================================================

Each record is a frozen dataclass; `to_dict()` is the folder's config.json and `from_dict` reads it back.

Older folders load too: format 1 (v0.1's clip classifiers: no `kind`, windows in seconds) and format 2 (clip
classifiers without `kind`; SED and embedding configs with `kind` but no `format_version`).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

__all__ = ['read_config']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('config_kind', 'config_version', 'record_fields', 'served_dict')

#: The served config's format: 3 adds `kind` to every config and `format_version` to the SED and embedding ones
#: (2: `AudioModelSpec` with its front end as `FrontEnd.to_dict`; 1: the v0.1 export config).
FORMAT_VERSION = 3
#: kind -> what a folder of that kind holds, in words (for messages).
KINDS = {'classifier': 'clip classifier', 'sed': 'sound event detector', 'embedding': 'embedding classifier'}


def read_config(path) -> dict:
    """The config.json of an exported folder, as a dict.

    Parameters
    ----------
    path : str or Path
        The exported folder.

    Returns
    -------
    dict
        The config, as JSON read it.

    Raises
    ------
    FileNotFoundError
        Naming the file, when the folder has no config.json.
    """
    f = Path(path) / 'config.json'
    if not f.is_file(): raise FileNotFoundError(f'{f} not found: {path} is not a folder written by an exporter')
    return json.loads(f.read_text())


def config_kind(cfg: dict) -> str:
    """The `kind` of a config dict; a config without one is a clip classifier's (formats 1 and 2 wrote none). An
    unknown kind is a ValueError naming it and the known ones."""
    kind = cfg.get('kind', 'classifier')
    if kind not in KINDS: raise ValueError(f'unknown model kind {kind!r} (known: {", ".join(KINDS)})')
    return kind


def config_version(cfg: dict) -> int:
    """The `format_version` of a config dict: as written, else 1 for a clip classifier (v0.1) and 2 for the
    SED and embedding configs of format 2, which had `kind` but no version."""
    return int(cfg.get('format_version', 2 if 'kind' in cfg else 1))


def served_dict(kind: str, fields: dict) -> dict:
    "A record's `to_dict`: `format_version` and `kind` first, then its `fields`."
    return {'format_version': FORMAT_VERSION, 'kind': kind, **fields}


def record_fields(cls, d: dict, kind: str, derived=()) -> tuple[int, dict]:
    """(format_version, the fields of dataclass `cls`) of a config dict of `kind`, for `cls.from_dict`: the
    version and kind checked (a newer format or another kind is a ValueError saying which) and the keys in
    `derived` (written for readers of model.ts / model.onnx, recomputed here) dropped. Unknown keys raise a
    ValueError naming the first and the fields."""
    d = dict(d)
    version, got = config_version(d), config_kind(d)
    if got != kind: raise ValueError(f'{cls.__name__} reads {kind!r} configs, this one is of kind {got!r}')
    if version > FORMAT_VERSION:
        raise ValueError(f'{cls.__name__} format_version {version} is newer than this code reads ({FORMAT_VERSION})')
    for k in ('format_version', 'kind', *derived): d.pop(k, None)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown: raise ValueError(f'{cls.__name__} has no field {unknown[0]!r} (fields: {", ".join(sorted(names))})')
    return version, d
