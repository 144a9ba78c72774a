"""Recipes for public audio datasets: where to download them, how their metadata is laid out, and the
`AudioDataLoaders` each calls for.

- ESC-50 (2000 environmental clips, 5 s, 44.1 kHz, 50 classes in 5 folds): `download_esc50`,
  `esc50_dataloaders(path, valid_fold)`; evaluate it fold by fold with `cross_validate`.
- NSynth (musical notes, 4 s, 16 kHz): `download_nsynth`, `nsynth_examples` (its `examples.json` as a
  DataFrame), `nsynth_dataloaders(path, task)` for the instrument family, source, pitch, or the note
  `qualities` as a multi-label task.
- FSDKaggle2019 (curated set: 4970 clips of 0.3 to 30 s, 44.1 kHz, 80 labels, multi-label):
  `download_fsdkaggle2019`, `fsdkaggle2019_dataloaders(path)`.
- URBAN-SED (10,000 soundscapes of 10 s, 44.1 kHz, 10 urban classes, strong labels): `download_urbansed`,
  `urbansed_events(path, split)`, `urbansed_dataloaders(path)` for sound event detection.
- DESED (DCASE task 4, 10 domestic classes, strong and weak labels): `download_desed` (the parts Zenodo serves;
  the real clips come from YouTube through DESED's scripts), `desed_dataloaders(path)`.

Downloads go through fastai's downloader into fastai's own archive and data folders (`~/.fastai` unless
configured), each dataset extracted into a folder named after it. Every recipe also takes a folder you
extracted yourself: it looks for the metadata file where the official archive puts it.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .archives import extract_archive
from ..data.blocks import AudioDataLoaders, check_loader_kwargs, factory_keywords
from ..runtime.arguments import keyword_names

__all__ = ['ESC50_URL', 'NSYNTH_URLS', 'FSDKAGGLE2019_URLS', 'NSYNTH_FAMILIES', 'NSYNTH_SOURCES', 'NSYNTH_QUALITIES',
           'download_data', 'download_esc50', 'download_nsynth', 'download_fsdkaggle2019', 'esc50_metadata',
           'esc50_dataloaders', 'nsynth_examples', 'nsynth_dataloaders', 'fsdkaggle2019_metadata',
           'fsdkaggle2019_dataloaders', 'URBANSED_URL', 'URBANSED_CLASSES', 'DESED_URLS', 'DESED_CLASSES',
           'download_urbansed', 'download_desed', 'urbansed_events', 'urbansed_dataloaders', 'desed_dataloaders']

ESC50_URL = 'https://github.com/karoldvl/ESC-50/archive/master.zip'
NSYNTH_URLS = {s: f'http://download.magenta.tensorflow.org/datasets/nsynth/nsynth-{s}.jsonwav.tar.gz'
               for s in ('train', 'valid', 'test')}
_ZENODO = 'https://zenodo.org/record/3612637/files/'
FSDKAGGLE2019_URLS = {k: f'{_ZENODO}FSDKaggle2019.{k}.zip?download=1'
                      for k in ('meta', 'audio_train_curated', 'audio_test', 'doc')}

NSYNTH_FAMILIES = ('bass', 'brass', 'flute', 'guitar', 'keyboard', 'mallet', 'organ', 'reed', 'string', 'synth_lead',
                   'vocal')
NSYNTH_SOURCES = ('acoustic', 'electronic', 'synthetic')
NSYNTH_QUALITIES = ('bright', 'dark', 'distortion', 'fast_decay', 'long_release', 'multiphonic', 'nonlinear_env',
                    'percussive', 'reverb', 'tempo-synced')


# --------------------------------------------------------------------------- downloading
def download_data(url: str, name: str, *, base=None, force: bool = False) -> Path:
    """Download an archive with fastai's downloader into fastai's archive folder and extract it to `base/name`.

    An archive holding one top folder has that folder's contents placed directly in `base/name`. Entries that
    would be written outside that folder (absolute paths, `..`, links pointing out) stop the extraction: see
    `extract_archive`.

    Parameters
    ----------
    url : str
        A .zip or .tar.gz archive.
    name : str
        The dataset's folder name.
    base : str or Path, optional
        Parent folder (default None: fastai's data folder, `~/.fastai/data`).
    force : bool
        Download and extract again even if the folder exists (default False).

    Returns
    -------
    Path
        `base/name`; if it already exists nothing is downloaded unless `force`.
    """
    from fastai.data.external import fastai_cfg
    from fastdownload import download_url
    cfg = fastai_cfg()
    dest = (Path(base) if base is not None else cfg.path('data')) / name
    if dest.exists() and not force: return dest
    fname = Path(url.split('?')[0]).name
    archive = cfg.path('archive') / f'{name}-{fname}'
    if force or not archive.exists():
        archive.parent.mkdir(parents=True, exist_ok=True)
        download_url(url, archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        extract_archive(archive, tmp)               # refuses entries that would land outside tmp
        top = list(Path(tmp).iterdir())
        src = top[0] if len(top) == 1 and top[0].is_dir() else Path(tmp)
        if dest.exists(): shutil.rmtree(dest)
        if src == Path(tmp):
            dest.mkdir()
            for o in top: shutil.move(str(o), dest / o.name)
        else: shutil.move(str(src), dest)
    return dest


def download_esc50(base=None, force=False) -> Path:
    """Download ESC-50 from its GitHub archive (~600 MB) into `base/ESC-50`.

    Parameters
    ----------
    base : str or Path, optional
        Parent folder (default None: fastai's data folder, `~/.fastai/data`).
    force : bool
        Download and extract again even if the folder exists (default False).

    Returns
    -------
    Path
        `base/ESC-50`, holding `audio/` and `meta/esc50.csv`.

    Examples
    --------
    >>> path = download_esc50()                              # doctest: +SKIP
    >>> dls = esc50_dataloaders(path, valid_fold=5, bs=32)    # doctest: +SKIP
    """
    return download_data(ESC50_URL, 'ESC-50', base=base, force=force)


def download_nsynth(splits=('valid', 'test'), *, base=None, force=False) -> Path:
    """Download NSynth's json/wav archives into `base/nsynth/nsynth-{split}`.

    Parameters
    ----------
    splits : iterable of str
        Among 'train' (22 GB), 'valid' (0.9 GB) and 'test' (0.3 GB) (default ('valid', 'test')).
    base : str or Path, optional
        Parent folder (default None: fastai's data folder, `~/.fastai/data`).
    force : bool
        Download and extract again even if the folder exists (default False).

    Returns
    -------
    Path
        `base/nsynth`, a folder `nsynth-{split}` per split, each holding `examples.json` and `audio/`.
    """
    from fastai.data.external import fastai_cfg
    root = (Path(base) if base is not None else fastai_cfg().path('data')) / 'nsynth'
    for s in splits: download_data(NSYNTH_URLS[s], f'nsynth-{s}', base=root, force=force)
    return root


def download_fsdkaggle2019(parts=('meta', 'audio_train_curated'), *, base=None, force=False) -> Path:
    """Download FSDKaggle2019 from Zenodo (record 3612637) into `base/FSDKaggle2019/FSDKaggle2019.{part}`.

    Parameters
    ----------
    parts : iterable of str
        Among 'meta', 'audio_train_curated', 'audio_test' and 'doc' (default the metadata and the curated
        training audio, ~1 GB).
    base : str or Path, optional
        Parent folder (default None: fastai's data folder, `~/.fastai/data`).
    force : bool
        Download and extract again even if the folder exists (default False).

    Returns
    -------
    Path
        `base/FSDKaggle2019`.
    """
    from fastai.data.external import fastai_cfg
    root = (Path(base) if base is not None else fastai_cfg().path('data')) / 'FSDKaggle2019'
    for p in parts: download_data(FSDKAGGLE2019_URLS[p], f'FSDKaggle2019.{p}', base=root, force=force)
    return root


def _find(path, candidates, what) -> Path:
    "The first of `candidates` (relative paths) that exists under `path`, or an error listing where we looked."
    path = Path(path)
    for c in candidates:
        if (path / c).exists(): return path / c
    raise FileNotFoundError(f'{what}: none of {", ".join(map(str, candidates))} found under {path}')


# --------------------------------------------------------------------------- ESC-50
def esc50_metadata(path) -> tuple[Path, pd.DataFrame]:
    """The ESC-50 root under `path` and its metadata.

    Parameters
    ----------
    path : str or Path
        The dataset's folder: the one holding `meta/esc50.csv`, or the folder of a manual unzip holding
        `ESC-50-master`.

    Returns
    -------
    root : Path
        The folder holding `meta/esc50.csv` (and `audio/`).
    df : pandas.DataFrame
        Columns filename, fold (1-5), target, category, esc10, src_file, take.

    Raises
    ------
    FileNotFoundError
        When `meta/esc50.csv` is in neither place.
    ValueError
        When clips of one source recording sit in more than one fold (they would leak between train and valid).
    """
    csv = _find(path, ['meta/esc50.csv', 'ESC-50-master/meta/esc50.csv'], 'ESC-50 metadata')
    df = pd.read_csv(csv)
    folds_per_src = df.groupby('src_file')['fold'].nunique()
    leaky = folds_per_src[folds_per_src > 1]
    if len(leaky):
        raise ValueError(f'{csv}: source recordings in more than one fold would leak between train and valid: '
                         f'{", ".join(map(str, leaky.index[:5]))}')
    return csv.parent.parent, df


def esc50_dataloaders(path, valid_fold: int = 5, *, esc10: bool = False, sr: int = 44100, duration: float | None = 5.0,
                      **kwargs) -> AudioDataLoaders:
    """ESC-50 loaders validating on one fold and training on the other four, labelled by `category`.

    Parameters
    ----------
    path : str or Path
        The dataset's folder (see `esc50_metadata`).
    valid_fold : int
        The fold to validate on, 1-5 (default 5); another is a ValueError.
    esc10 : bool
        Keep only the 10 classes of ESC-10 (default False: all 50).
    sr : int
        Sample rate in Hz to load at (default 44100, the clips' own).
    duration : float, optional
        Seconds to crop/pad to (default 5.0, the clips' length), as in `AudioDataLoaders.from_df`.
    **kwargs
        Passed to `AudioDataLoaders.from_df` (bs, batch_tfms, ...).

    Returns
    -------
    AudioDataLoaders
        Training and validation loaders of (waveform or spectrogram, label).

    Examples
    --------
    >>> dls = esc50_dataloaders(download_esc50(), valid_fold=1, bs=32)                              # doctest: +SKIP
    >>> cv = cross_validate(partial(esc50_dataloaders, path, bs=32), 'resnet18', metrics=accuracy)  # doctest: +SKIP
    """
    check_loader_kwargs(kwargs, 'esc50_dataloaders', factory_keywords(esc50_dataloaders, AudioDataLoaders.from_df))
    root, df = esc50_metadata(path)
    if valid_fold not in set(df.fold): raise ValueError(f'valid_fold must be one of {sorted(set(df.fold))}, got {valid_fold}')
    if esc10: df = df[df.esc10.astype(str).str.lower() == 'true']
    df = df.assign(is_valid=df.fold == valid_fold)
    return AudioDataLoaders.from_df(df, root, folder='audio', fn_col='filename', label_col='category',
                                    valid_col='is_valid', sr=sr, duration=duration, **kwargs)


# --------------------------------------------------------------------------- NSynth
def _nsynth_split_dir(path, split) -> Path:
    return _find(path, [f'nsynth-{split}', f'nsynth-{split}.jsonwav'], f'NSynth {split} split').resolve()


def nsynth_examples(path, split: str = 'valid') -> pd.DataFrame:
    """NSynth's `nsynth-{split}/examples.json` under `path` as a DataFrame, one row per note.

    Parameters
    ----------
    path : str or Path
        The folder holding `nsynth-{split}` (or `nsynth-{split}.jsonwav`).
    split : str
        'train', 'valid' or 'test' (default 'valid').

    Returns
    -------
    pandas.DataFrame
        Columns fname (relative to `path`), note_str, instrument_str, pitch, velocity, family, source (names),
        qualities (names joined by ';', '' for none) and split.
    """
    d = _nsynth_split_dir(path, split)
    meta = json.loads((d / 'examples.json').read_text())
    root = Path(path).resolve()
    rows = [dict(fname=str((d / 'audio' / f'{k}.wav').relative_to(root)), note_str=k,
                 instrument_str=v['instrument_str'], pitch=v['pitch'], velocity=v['velocity'],
                 family=v['instrument_family_str'], source=v['instrument_source_str'],
                 qualities=';'.join(v['qualities_str']), split=split) for k, v in sorted(meta.items())]
    return pd.DataFrame(rows)


def nsynth_dataloaders(path, task: str = 'family', *, train: str = 'train', valid: str = 'valid', sr: int = 16000,
                       duration: float | None = 4.0, **kwargs) -> AudioDataLoaders:
    """NSynth loaders for one labelling task.

    Parameters
    ----------
    path : str or Path
        The folder holding the splits' folders `nsynth-{split}`.
    task : str
        'family' (11 instrument families; the default), 'source' (acoustic, electronic, synthetic), 'pitch'
        (MIDI note), 'instrument' or 'qualities' (multi-label: bright, dark, ... any number per note); another is
        a ValueError.
    train : str
        The split to train on (default 'train').
    valid : str
        The split to validate on (default 'valid').
    sr : int
        Sample rate in Hz to load at (default 16000, the notes' own).
    duration : float, optional
        Seconds to crop/pad to (default 4.0, the notes' length).
    **kwargs
        Passed to `AudioDataLoaders.from_df` (bs, batch_tfms, ...).

    Returns
    -------
    AudioDataLoaders
        Training and validation loaders of (waveform or spectrogram, label).

    Examples
    --------
    >>> dls = nsynth_dataloaders(download_nsynth(), task='family', train='valid', valid='test')   # doctest: +SKIP
    """
    check_loader_kwargs(kwargs, 'nsynth_dataloaders', factory_keywords(nsynth_dataloaders, AudioDataLoaders.from_df))
    cols = {'family': 'family', 'source': 'source', 'pitch': 'pitch', 'instrument': 'instrument_str',
            'qualities': 'qualities'}
    if task not in cols: raise ValueError(f'task must be one of {", ".join(cols)}, got {task!r}')
    df = pd.concat([nsynth_examples(path, train), nsynth_examples(path, valid)], ignore_index=True)
    df = df.assign(is_valid=df.split == valid)
    if task == 'qualities':
        from fastai.data.block import MultiCategoryBlock
        kwargs.setdefault('y_block', MultiCategoryBlock(vocab=list(NSYNTH_QUALITIES)))
        kwargs.setdefault('label_delim', ';')
    return AudioDataLoaders.from_df(df, Path(path).resolve(), fn_col='fname', label_col=cols[task],
                                    valid_col='is_valid', sr=sr, duration=duration, **kwargs)


# --------------------------------------------------------------------------- FSDKaggle2019
def fsdkaggle2019_metadata(path) -> tuple[Path, pd.DataFrame]:
    """The curated-train audio folder of FSDKaggle2019 and its metadata.

    Parameters
    ----------
    path : str or Path
        The dataset's folder, in Zenodo's layout (`FSDKaggle2019.meta/train_curated_post_competition.csv` and
        `FSDKaggle2019.audio_train_curated/`) or Kaggle's (`train_curated.csv` and `train_curated/`).

    Returns
    -------
    audio : Path
        The curated training audio folder.
    df : pandas.DataFrame
        Columns fname and labels (comma-separated), and the rest of the CSV.

    Raises
    ------
    FileNotFoundError
        When the metadata or the audio folder is in neither layout.
    """
    path = Path(path)
    csv = _find(path, ['FSDKaggle2019.meta/train_curated_post_competition.csv', 'train_curated.csv'],
                'FSDKaggle2019 curated metadata')
    audio = _find(path, ['FSDKaggle2019.audio_train_curated', 'train_curated'], 'FSDKaggle2019 curated audio')
    return audio, pd.read_csv(csv)


def fsdkaggle2019_dataloaders(path, valid_pct: float = 0.2, *, seed: int | None = 0, sr: int = 44100,
                              duration: float | None = 2.0, **kwargs) -> AudioDataLoaders:
    """FSDKaggle2019's curated set as a multi-label task (80 labels, comma-separated in `labels`).

    Clips run from 0.3 to 30 s: training takes random `duration`-second crops (short clips padded); score whole
    validation clips with `learn.validate_windows()`.

    Parameters
    ----------
    path : str or Path
        The dataset's folder (see `fsdkaggle2019_metadata`).
    valid_pct : float
        Fraction of the clips held out at random for validation (default 0.2).
    seed : int, optional
        Seed of that draw (default 0).
    sr : int
        Sample rate in Hz to load at (default 44100, the clips' own).
    duration : float, optional
        Seconds per training crop (default 2.0).
    **kwargs
        Passed to `AudioDataLoaders.from_df` (bs, batch_tfms, ...).

    Returns
    -------
    AudioDataLoaders
        Training and validation loaders of (waveform or spectrogram, multi-hot labels over the 80 classes).
    """
    check_loader_kwargs(kwargs, 'fsdkaggle2019_dataloaders', factory_keywords(fsdkaggle2019_dataloaders, AudioDataLoaders.from_df))
    audio, df = fsdkaggle2019_metadata(path)
    return AudioDataLoaders.from_df(df, audio, fn_col='fname', label_col='labels', label_delim=',',
                                    valid_pct=valid_pct, seed=seed, sr=sr, duration=duration, **kwargs)


# --------------------------------------------------------------------------- sound event detection
URBANSED_URL = 'https://zenodo.org/record/1324404/files/URBAN-SED_v2.0.0.tar.gz?download=1'
URBANSED_CLASSES = ('air_conditioner', 'car_horn', 'children_playing', 'dog_bark', 'drilling', 'engine_idling',
                    'gun_shot', 'jackhammer', 'siren', 'street_music')
DESED_URLS = {'synthetic': 'https://zenodo.org/record/6026841/files/dcase_synth.zip?download=1',
              'public_eval': 'https://zenodo.org/record/4560759/files/DESED_public_eval.tar.gz?download=1',
              'real_metadata': 'https://zenodo.org/record/4639776/files/audioset_metadata.tar.gz?download=1'}
DESED_CLASSES = ('Alarm_bell_ringing', 'Blender', 'Cat', 'Dishes', 'Dog', 'Electric_shaver_toothbrush', 'Frying',
                 'Running_water', 'Speech', 'Vacuum_cleaner')


def download_urbansed(base=None, force=False) -> Path:
    """Download URBAN-SED v2.0.0 from Zenodo (record 1324404; 10,000 soundscapes of 10 s at 44.1 kHz, several GB).

    Parameters
    ----------
    base : str or Path, optional
        Parent folder (default None: fastai's data folder, `~/.fastai/data`).
    force : bool
        Download and extract again even if the folder exists (default False).

    Returns
    -------
    Path
        `base/URBAN-SED`, holding `audio/{train,validate,test}` and `annotations/{train,validate,test}`.
    """
    return download_data(URBANSED_URL, 'URBAN-SED', base=base, force=force)


def download_desed(parts=('synthetic',), *, base=None, force=False) -> Path:
    """Download the parts of DESED (DCASE task 4) that Zenodo serves directly, into `base/DESED/{part}`.

    Parameters
    ----------
    parts : iterable of str
        Among 'synthetic' (the `dcase_synth` soundscapes with strong labels, record 6026841; the default),
        'public_eval' (record 4560759) and 'real_metadata' (the TSVs of the real AudioSet clips, record 4639776;
        their audio must be fetched from YouTube with DESED's own scripts). Another is a ValueError.
    base : str or Path, optional
        Parent folder (default None: fastai's data folder, `~/.fastai/data`).
    force : bool
        Download and extract again even if the folder exists (default False).

    Returns
    -------
    Path
        `base/DESED`.
    """
    from fastai.data.external import fastai_cfg
    root = (Path(base) if base is not None else fastai_cfg().path('data')) / 'DESED'
    unknown = sorted(set(parts) - set(DESED_URLS))
    if unknown: raise ValueError(f'unknown DESED part {unknown[0]!r}; known: {", ".join(DESED_URLS)}')
    for p in parts: download_data(DESED_URLS[p], p, base=root, force=force)
    return root


def _key(root: Path) -> str:
    "A short name for a dataset folder, the same in every process."
    import hashlib
    return hashlib.md5(str(Path(root).resolve()).encode()).hexdigest()[:10]


def _label_csv(rows: list, name: str, columns=('filename', 'onset', 'offset', 'event_label')) -> Path:
    """Write `rows` (filenames relative to the dataset root; for events None times for a file without any) as a
    DCASE CSV `name.csv` under the temporary folder (the dataset's folder is left untouched); returns its path."""
    out = Path(tempfile.gettempdir()) / 'fastai_audio_events' / f'{name}.csv'
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(columns)).to_csv(out, index=False)
    return out


def _urbansed_annotations(path, split: str) -> Path:
    "URBAN-SED's `annotations/{split}` folder under `path` (the dataset root, or the folder holding it)."
    return _find(path, [f'annotations/{split}', f'URBAN-SED_v2.0.0/annotations/{split}', f'URBAN-SED/annotations/{split}'],
                 f'URBAN-SED {split} annotations')


def urbansed_events(path, split: str = 'train') -> pd.DataFrame:
    """URBAN-SED's annotations of one split as a DataFrame in the DCASE layout.

    Read from the `annotations/{split}/{id}.txt` files: tab-separated onset, offset, label, no header.

    Parameters
    ----------
    path : str or Path
        The dataset root, or the folder holding it.
    split : str
        'train' (the default), 'validate' or 'test'.

    Returns
    -------
    pandas.DataFrame
        Columns filename (relative to the dataset root: `audio/{split}/{id}.wav`), onset, offset (seconds),
        event_label; one row per event, a row with empty times for a soundscape without events.

    Raises
    ------
    FileNotFoundError
        When the annotation folder or its .txt files are missing.
    ValueError
        Naming the file and line of a row without exactly onset, offset and label.
    """
    ann = _urbansed_annotations(path, split)
    rows = []
    for txt in sorted(ann.glob('*.txt')):
        rel = f'audio/{split}/{txt.stem}.wav'
        lines = [line.split('\t') for line in txt.read_text().splitlines() if line.strip()]
        for k, parts in enumerate(lines, start=1):
            if len(parts) != 3: raise ValueError(f'{txt}, line {k}: expected onset, offset and label, got {parts}')
            rows.append((rel, float(parts[0]), float(parts[1]), parts[2].strip()))
        if not lines: rows.append((rel, None, None, None))
    if not rows: raise FileNotFoundError(f'no annotation .txt files in {ann}')
    return pd.DataFrame(rows, columns=['filename', 'onset', 'offset', 'event_label'])


def urbansed_dataloaders(path, train: str = 'train', *, valid: str = 'validate', sr: int = 16000, **kwargs):
    """URBAN-SED sound event detection loaders (`sed_dataloaders`), frame targets from `urbansed_events`.

    Parameters
    ----------
    path : str or Path
        The dataset root, or the folder holding it.
    train : str
        The split to train on (default 'train').
    valid : str
        The split to validate on (default 'validate').
    sr : int
        Sample rate in Hz to decode at (default 16000; the audio is 44.1 kHz).
    **kwargs
        Passed to `sed_dataloaders` (bs, batch_tfms, on_error...).

    Returns
    -------
    AudioDataLoaders
        Of (spectrogram, frame targets `(batch, frames, classes)`).

    Examples
    --------
    >>> dls = urbansed_dataloaders(download_urbansed(), bs=16)   # doctest: +SKIP
    >>> learn = sed_learner(dls, resnet18)                       # doctest: +SKIP
    """
    from ..data.sed import SED_AUDIO_SETTINGS, sed_dataloaders
    check_loader_kwargs(kwargs, 'urbansed_dataloaders', keyword_names(urbansed_dataloaders, sed_dataloaders) | set(SED_AUDIO_SETTINGS))
    root = _urbansed_annotations(path, train).parent.parent
    tr, va = urbansed_events(root, train), urbansed_events(root, valid)
    csv = _label_csv(pd.concat([tr, va]).values.tolist(), f'urbansed_{_key(root)}')
    return sed_dataloaders(csv, root, valid_files=sorted(set(va.filename)), sr=sr, **kwargs)


def _desed_strong(root: Path, tsv: Path, audio: str) -> list:
    "Rows of a DESED strong-label TSV with each filename made relative to `root` (the audio under `audio/`)."
    from ..data.labels import event_rows
    return [(f'{audio}/{e.filename}', *((None, None, None) if not e.event_label else (e.onset, e.offset, e.event_label)))
            for _, e in event_rows(tsv)]


def desed_dataloaders(path, train: str = 'synthetic21_train', *, valid: str = 'synthetic21_validation', weak: bool = True,
                      sr: int = 16000, **kwargs):
    """DESED (DCASE task 4) loaders (`sed_dataloaders`) from the layout of its Zenodo archives and download scripts.

    The TSVs hold bare file names; synthetic training and validation clips share names (`16.wav`), so each is
    taken from its own folder.

    Parameters
    ----------
    path : str or Path
        The dataset root (or the folder holding `dcase_synth/` or `synthetic/`).
    train : str
        Strong training labels `metadata/train/{train}/soundscapes.tsv`, audio `audio/train/{train}/soundscapes/`
        (default 'synthetic21_train').
    valid : str
        Validation labels `metadata/validation/{valid}/soundscapes.tsv` (default 'synthetic21_validation'), or
        'validation': the real `metadata/validation/validation.tsv` with `audio/validation/validation/`.
    weak : bool
        Mix the weak labels `metadata/train/weak.tsv` of `audio/train/weak/` into training, when present
        (default True).
    sr : int
        Sample rate in Hz to decode at (default 16000, as the task's baseline).
    **kwargs
        Passed to `sed_dataloaders` (bs, batch_tfms, on_error...).

    Returns
    -------
    AudioDataLoaders
        Of (spectrogram, frame targets `(batch, frames, classes)`).

    Raises
    ------
    FileNotFoundError
        Naming where the strong training or validation labels were looked for.
    """
    from ..data.sed import SED_AUDIO_SETTINGS, sed_dataloaders
    check_loader_kwargs(kwargs, 'desed_dataloaders', keyword_names(desed_dataloaders, sed_dataloaders) | set(SED_AUDIO_SETTINGS))
    meta = _find(path, [f'metadata/train/{train}/soundscapes.tsv', f'dcase_synth/metadata/train/{train}/soundscapes.tsv',
                        f'synthetic/metadata/train/{train}/soundscapes.tsv'], 'DESED strong training labels')
    root = meta.parents[3]
    rows = _desed_strong(root, meta, f'audio/train/{train}/soundscapes')
    if valid == 'validation':
        vrows = _desed_strong(root, _find(root, ['metadata/validation/validation.tsv'], 'DESED validation labels'),
                              'audio/validation/validation')
    else:
        vrows = _desed_strong(root, _find(root, [f'metadata/validation/{valid}/soundscapes.tsv'],
                                          f'DESED {valid} labels'), f'audio/validation/{valid}/soundscapes')
    weak_csv = None
    if weak and (root / 'metadata/train/weak.tsv').exists() and (root / 'audio/train/weak').is_dir():
        from ..data.labels import weak_rows
        weak_rows = [(f'audio/train/weak/{n}', ','.join(v)) for _, n, v in weak_rows(root / 'metadata/train/weak.tsv')]
        weak_csv = _label_csv(weak_rows, f'desed_weak_{_key(root)}', columns=('filename', 'event_labels'))
    csv = _label_csv(rows + vrows, f'desed_{_key(root)}')
    return sed_dataloaders(csv, root, valid_files=sorted({r[0] for r in vrows}), sr=sr, weak_csv=weak_csv, **kwargs)
