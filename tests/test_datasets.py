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
