"""Dataset recipes, each on a fixture written in the real dataset's exact file layout."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from fastai_audio import (AudioSpectrogram, CrossValidation, ESC50_URL, FSDKAGGLE2019_URLS, NSYNTH_QUALITIES,
                          NSYNTH_URLS, TensorMultiCategory, cross_validate, download_data, esc50_dataloaders,
                          esc50_metadata, fsdkaggle2019_dataloaders, make_esc50_like, make_fsdkaggle2019_like,
                          make_nsynth_like, nsynth_dataloaders, nsynth_examples)


def _tiny_net(n_out):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, n_out))


@pytest.fixture(scope='module')
def esc50(tmp_path_factory):
    return make_esc50_like(tmp_path_factory.mktemp('esc') / 'ESC-50-master', clips_per_fold=2, sr=16000, duration=1.0)


def test_urls_are_the_official_ones():
    assert ESC50_URL == 'https://github.com/karoldvl/ESC-50/archive/master.zip'
    assert NSYNTH_URLS['valid'] == 'http://download.magenta.tensorflow.org/datasets/nsynth/nsynth-valid.jsonwav.tar.gz'
    assert FSDKAGGLE2019_URLS['audio_train_curated'].startswith(
        'https://zenodo.org/record/3612637/files/FSDKaggle2019.audio_train_curated.zip')


def test_esc50_fixture_has_the_real_layout(esc50):
    df = pd.read_csv(esc50 / 'meta' / 'esc50.csv')
    assert list(df.columns) == ['filename', 'fold', 'target', 'category', 'esc10', 'src_file', 'take']
    assert sorted(set(df.fold)) == [1, 2, 3, 4, 5] and len(df) == 50
    assert all((esc50 / 'audio' / f).exists() for f in df.filename)
    assert df.filename[0] == f'{df.fold[0]}-{df.src_file[0]}-{df["take"][0]}-{df.target[0]}.wav'


def test_esc50_loaders_validate_on_one_fold(esc50):
    dls = esc50_dataloaders(esc50.parent, valid_fold=3, sr=16000, duration=1.0, bs=10, num_workers=0)  # the parent of ESC-50-master
    _, df = esc50_metadata(esc50)
    valid_names = set(dls.valid_ds.items.filename)
    assert valid_names == set(df.filename[df.fold == 3]) and len(dls.train_ds) == 40
    assert list(dls.vocab) == sorted(set(df.category))
    x, y = dls.one_batch()
    assert isinstance(x, AudioSpectrogram) and x.shape[0] == 10
    esc10 = esc50_dataloaders(esc50, valid_fold=1, esc10=True, sr=16000, duration=1.0, bs=4, num_workers=0)
    assert len(esc10.train_ds) + len(esc10.valid_ds) == int(df.esc10.sum())
    with pytest.raises(ValueError, match='valid_fold'):
        esc50_dataloaders(esc50, valid_fold=6, sr=16000)


def test_esc50_refuses_a_source_split_across_folds(esc50, tmp_path):
    bad = tmp_path / 'bad'
    shutil.copytree(esc50 / 'meta', bad / 'meta')
    df = pd.read_csv(bad / 'meta' / 'esc50.csv')
    df.loc[0, 'fold'] = 2 if df.fold[0] != 2 else 3
    df.to_csv(bad / 'meta' / 'esc50.csv', index=False)
    with pytest.raises(ValueError, match=f'leak.*{df.src_file[0]}'):
        esc50_metadata(bad)
    with pytest.raises(FileNotFoundError, match='esc50.csv'):
        esc50_metadata(tmp_path / 'nowhere')


def test_cross_validate_trains_every_fold_and_reports_mean_and_std(esc50):
    from functools import partial
    res = cross_validate(partial(esc50_dataloaders, esc50, sr=16000, duration=1.0, bs=10, num_workers=0),
                         _tiny_net(5), folds=(1, 2), epochs=1, lr=1e-2, show=False)
    assert isinstance(res, CrossValidation) and list(res.scores) == [1, 2]
    acc = [res.scores[f]['accuracy'] for f in (1, 2)]
    assert all(0 <= a <= 1 for a in acc)
    assert res.mean['accuracy'] == pytest.approx(np.mean(acc))
    assert res.std['accuracy'] == pytest.approx(np.std(acc, ddof=1))
    assert 'accuracy' in res.summary() and '±' in res.summary() and 'over 2 folds' in res.summary()


def test_nsynth_examples_json_and_tasks(tmp_path):
    root = make_nsynth_like(tmp_path / 'nsynth', {'train': 3, 'valid': 2}, duration=0.5)
    meta = json.loads((root / 'nsynth-valid' / 'examples.json').read_text())
    entry = next(iter(meta.values()))
    assert set(entry) == {'note', 'note_str', 'instrument', 'instrument_str', 'pitch', 'velocity', 'sample_rate',
                          'qualities', 'qualities_str', 'instrument_family', 'instrument_family_str',
                          'instrument_source', 'instrument_source_str'}
    df = nsynth_examples(root, 'valid')
    assert len(df) == 10 and all((root / f).exists() for f in df.fname)
    row = df.set_index('note_str').loc[entry['note_str']]
    assert row.family == entry['instrument_family_str'] and row.qualities == ';'.join(entry['qualities_str'])
    fam = nsynth_dataloaders(root, 'family', duration=0.5, bs=5, num_workers=0)
    assert len(fam.train_ds) == 15 and len(fam.valid_ds) == 10
    assert list(fam.vocab) == sorted(df.family.unique())
    q = nsynth_dataloaders(root, 'qualities', duration=0.5, bs=5, num_workers=0)
    assert list(q.vocab) == list(NSYNTH_QUALITIES)
    x, y = q.valid.one_batch()
    assert isinstance(y, TensorMultiCategory) and y.shape == (5, 10)
    names = nsynth_examples(root, 'valid').qualities
    got = {';'.join(q.vocab[i] for i in np.flatnonzero(r)) for r in q.valid.one_batch()[1].numpy()}
    assert got <= set(names)
    with pytest.raises(ValueError, match='task'):
        nsynth_dataloaders(root, 'timbre')


def test_fsdkaggle2019_multilabel_variable_length(tmp_path):
    root = make_fsdkaggle2019_like(tmp_path / 'fsd', n_clips=20, sr=16000, durations=(0.3, 1.5))
    df = pd.read_csv(root / 'FSDKaggle2019.meta' / 'train_curated_post_competition.csv')
    assert list(df.columns) == ['fname', 'labels', 'freesound_id', 'license']
    assert df.labels.str.contains(',').any()
    dls = fsdkaggle2019_dataloaders(root, sr=16000, duration=1.0, bs=4, num_workers=0)
    assert set(dls.vocab) == set(','.join(df.labels).split(','))
    x, y = dls.one_batch()
    assert isinstance(y, TensorMultiCategory) and y.shape == (4, len(dls.vocab))
    # Kaggle's layout (train_curated.csv + train_curated/) is found as well
    kag = tmp_path / 'kaggle'
    shutil.copytree(root / 'FSDKaggle2019.audio_train_curated', kag / 'train_curated')
    df[['fname', 'labels']].to_csv(kag / 'train_curated.csv', index=False)
    assert len(fsdkaggle2019_dataloaders(kag, sr=16000, bs=4, num_workers=0).train_ds) == 16


def test_download_data_extracts_into_a_named_folder(tmp_path, monkeypatch):
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path / 'home'))
    src = make_esc50_like(tmp_path / 'src' / 'ESC-50-master', classes=('sine',), clips_per_fold=1, sr=8000,
                          duration=0.1)
    archive = shutil.make_archive(str(tmp_path / 'master'), 'zip', src.parent)
    dest = download_data(f'file://{archive}', 'ESC-50', base=tmp_path / 'data')
    assert dest == tmp_path / 'data' / 'ESC-50'
    assert (dest / 'meta' / 'esc50.csv').exists() and len(list((dest / 'audio').glob('*.wav'))) == 5
    (dest / 'marker').write_text('kept')
    assert download_data(f'file://{archive}', 'ESC-50', base=tmp_path / 'data') == dest   # already there
    assert (dest / 'marker').exists()


def test_urbansed_recipe_reads_its_layout(tmp_path):
    from fastai_audio import URBANSED_CLASSES, make_urbansed_like, urbansed_dataloaders, urbansed_events
    root = make_urbansed_like(tmp_path / 'URBAN-SED_v2.0.0', n_per_split=3, sr=16000, duration=3.0)
    txt = sorted((root / 'annotations' / 'train').glob('*.txt'))
    assert [t.stem for t in txt] == ['soundscape_train_bimodal0', 'soundscape_train_uniform0', 'soundscape_train_unimodal0']
    ev = urbansed_events(tmp_path, 'train')                     # found under the archive's top folder
    assert set(ev.filename) == {f'audio/train/{t.stem}.wav' for t in txt}
    first = [line.split('\t') for line in txt[0].read_text().splitlines()]
    got = ev[ev.filename == f'audio/train/{txt[0].stem}.wav']
    if first: assert got.onset.tolist() == [float(r[0]) for r in first] and got.event_label.tolist() == [r[2] for r in first]
    assert set(ev.event_label.dropna()) <= set(URBANSED_CLASSES)
    before = {f: f.stat().st_mtime_ns for f in root.rglob('*')}
    dls = urbansed_dataloaders(tmp_path, bs=2, num_workers=0)
    assert {f.parent.name for f in dls.train.items} == {'train'} and {f.parent.name for f in dls.valid.items} == {'validate'}
    x, y = dls.valid.one_batch()
    assert y.shape == (x.shape[0], x.shape[-1], len(dls.vocab))
    assert {f: f.stat().st_mtime_ns for f in root.rglob('*')} == before            # nothing written into the dataset
    (root / 'annotations' / 'train' / 'soundscape_train_uniform0.txt').write_text('1.0\t2.0\n')
    with pytest.raises(ValueError, match=r'soundscape_train_uniform0.txt, line 1: expected onset, offset and label'):
        urbansed_events(root, 'train')


def test_desed_recipe_keeps_same_named_splits_apart_and_mixes_in_weak_labels(tmp_path):
    from fastai_audio import DESED_CLASSES, desed_dataloaders, make_desed_like
    root = make_desed_like(tmp_path / 'dcase_synth', n_per_split=4, n_weak=3, duration=3.0)
    dls = desed_dataloaders(tmp_path, bs=4, num_workers=0)
    train, valid = [f.relative_to(root).as_posix() for f in dls.train.items], [f.relative_to(root).as_posix() for f in dls.valid.items]
    assert sorted(valid) == [f'audio/validation/synthetic21_validation/soundscapes/{i}.wav' for i in range(4)]
    assert sum(t.startswith('audio/train/synthetic21_train/soundscapes/') for t in train) == 4
    assert sum(t.startswith('audio/train/weak/') for t in train) == 3
    assert set(dls.vocab) <= set(DESED_CLASSES)
    no_weak = desed_dataloaders(root, weak=False, bs=4, num_workers=0)
    assert len(no_weak.train.items) == 4


def test_sed_downloads_fetch_the_official_archives_into_named_folders(tmp_path, monkeypatch):
    import fastai_audio.datasets.recipes as ds
    calls = []
    monkeypatch.setattr(ds, 'download_data', lambda url, name, base=None, force=False: calls.append((url, name, base)))
    ds.download_urbansed(base=tmp_path)
    root = ds.download_desed(('synthetic', 'public_eval'), base=tmp_path)
    assert root == tmp_path / 'DESED'
    assert calls == [('https://zenodo.org/record/1324404/files/URBAN-SED_v2.0.0.tar.gz?download=1', 'URBAN-SED', tmp_path),
                     ('https://zenodo.org/record/6026841/files/dcase_synth.zip?download=1', 'synthetic', root),
                     ('https://zenodo.org/record/4560759/files/DESED_public_eval.tar.gz?download=1', 'public_eval', root)]
    with pytest.raises(ValueError, match="unknown DESED part 'strong_real'"):
        ds.download_desed(('strong_real',), base=tmp_path)
