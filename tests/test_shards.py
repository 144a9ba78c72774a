"""WebDataset shards: `write_shards` from a folder or a DataFrame, `AudioDataLoaders.from_shards` giving the decoded
clips and their labels, an epoch length known from the shards' counts, and two processes (RANK / WORLD_SIZE, as
`torchrun` sets them) that between them read every sample once."""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip('webdataset')

from conftest import write
from fastai_audio import AudioDataLoaders, set_seed
from fastai_audio.data.shards import read_shard_index, shard_slots, write_shards

ROOT = Path(__file__).parent.parent


def _folder(root, n=6, sr=16000):
    "train/ and valid/ with classes a and b; clip k of a split is 0.2 + 0.01 k s long and starts with sample k."
    rng = np.random.default_rng(0)
    for split in ('train', 'valid'):
        for k in range(n):
            c = 'ab'[k % 2]
            (root / split / c).mkdir(parents=True, exist_ok=True)
            y = (0.2 * rng.standard_normal(int(sr * (0.2 + 0.01 * k)))).astype(np.float32)
            y[0] = k / 32768
            write(root / split / c / f'{k}.wav', y, sr, subtype='PCM_16')
    return root


def _clips(dl):
    "Every clip of an epoch of `dl`, unpadded (by `lengths`), as bytes, sorted; and the labels (decoded)."
    clips, labels = [], []
    for xb, yb in dl:
        for x, n, y in zip(xb, xb.lengths, yb):
            clips.append(x[..., :n].as_subclass(torch.Tensor).numpy().tobytes())
            labels.append(str(dl.vocab[int(y)]))
    return sorted(zip(clips, labels))


def test_shards_give_the_decoded_clips_and_their_labels(tmp_path):
    root = _folder(tmp_path / 'd')
    index = write_shards(root, tmp_path / 's', shard_size=4)
    assert [sh['count'] for sh in json.loads(index['train'].read_text())['shards']] == [4, 2]
    decoded = AudioDataLoaders.from_folder(root, bs=4, batch_tfms=[], num_workers=0)
    shards = AudioDataLoaders.from_shards(tmp_path / 's', bs=4, batch_tfms=[], num_workers=0)
    assert list(shards.vocab) == list(decoded.vocab) == ['a', 'b']
    assert _clips(shards.valid) == _clips(decoded.valid.new(shuffle=False, drop_last=False))
    assert len(shards.train) == 1 and len(shards.valid) == 2 == len(list(shards.valid))   # 6 clips: 4 + 2
    shards.show_batch()


def test_a_dataframe_with_several_labels_a_clip(tmp_path):
    root = _folder(tmp_path / 'd')
    files = sorted(root.rglob('*.wav'))
    df = pd.DataFrame({'fn': [f.relative_to(root).as_posix() for f in files],
                       'tags': ['x y' if i % 3 == 0 else 'y' for i in range(len(files))],
                       'is_valid': ['valid' in f.parts for f in files]})
    write_shards(df, tmp_path / 's', path=root, fn_col='fn', label_col='tags', label_delim=' ', valid_col='is_valid')
    dls = AudioDataLoaders.from_shards(tmp_path / 's', bs=6, duration=0.1, batch_tfms=[], num_workers=0)
    x, y = dls.valid.one_batch()
    assert x.shape == (6, 1, 1600) and type(y).__name__ == 'TensorMultiCategory' and y.shape == (6, 2)
    assert y.sum().item() == sum(2 if i % 3 == 0 else 1 for i, f in enumerate(files) if 'valid' in f.parts)
    from fastai_audio import is_multi_label
    assert is_multi_label(dls)


def test_unreadable_files_are_skipped_and_listed(tmp_path):
    root = _folder(tmp_path / 'd')
    (root / 'train' / 'a' / 'bad.wav').write_bytes(b'RIFF not audio')
    with pytest.raises(Exception, match='bad.wav'): write_shards(root, tmp_path / 's1')
    with pytest.warns(UserWarning, match='1 files of train cannot be read'):
        index = write_shards(root, tmp_path / 's2', on_error='skip')
    train = json.loads(index['train'].read_text())
    assert train['skipped'][0][0].endswith('bad.wav') and sum(sh['count'] for sh in train['shards']) == 6


def test_random_crops_and_shuffles_follow_set_seed(tmp_path):
    root = _folder(tmp_path / 'd', n=12)
    write_shards(root, tmp_path / 's', shard_size=3)
    def epoch():
        set_seed(5)
        dls = AudioDataLoaders.from_shards(tmp_path / 's', bs=4, duration=0.05, batch_tfms=[], num_workers=0,
                                           shuffle_buffer=4)
        return [x.as_subclass(torch.Tensor).clone() for x, _ in dls.train]
    a, b = epoch(), epoch()
    assert len(a) == 3 and all(torch.equal(p, q) for p, q in zip(a, b))


def test_a_missing_index_names_itself(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nowhere/train/shards.json'):
        AudioDataLoaders.from_shards(tmp_path / 'nowhere')


def test_shard_slots_give_each_shard_to_one_worker_of_one_process():
    seen = [s for r in range(3) for w in range(2) for s in shard_slots(11, rank=r, world=3, worker=w, workers=2)]
    assert sorted(seen) == list(range(11))
    assert shard_slots(5, rank=1, world=2) == [1, 3] and shard_slots(5, workers=0) == [0, 1, 2, 3, 4]


RANK_SCRIPT = '''
import json, sys, torch
from fastai_audio import AudioDataLoaders
dls = AudioDataLoaders.from_shards(sys.argv[1], bs=2, batch_tfms=[], num_workers=0)
seen = {}
for name, dl in (('train', dls.train), ('valid', dls.valid)):
    ids = [round(float(x[0, 0]) * 32768) for xb, _ in dl for x in xb]
    seen[name] = {'ids': ids, 'len': len(dl), 'batches': -(-len(ids) // 2)}
print(json.dumps(seen))
'''


def test_two_processes_read_every_sample_once(tmp_path):
    root = _folder(tmp_path / 'd', n=12)
    write_shards(root, tmp_path / 's', shard_size=2)                 # 6 shards a split: 3 a process
    env = {**os.environ, 'WORLD_SIZE': '2', 'OMP_NUM_THREADS': '1',
           'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')])}
    procs = [subprocess.Popen([sys.executable, '-c', RANK_SCRIPT, str(tmp_path / 's')], env={**env, 'RANK': str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    ids = [outs[r]['train']['ids'] for r in range(2)]
    assert sorted(ids[0] + ids[1]) == list(range(12))                # the union is the dataset, no duplicates
    assert set(ids[0]).isdisjoint(ids[1]) and len(ids[0]) == len(ids[1]) == 6
    for r in range(2): assert sorted(outs[r]['valid']['ids']) == list(range(12))   # each validates on the whole split
    assert all(o[split]['len'] == o[split]['batches'] for o in outs for split in ('train', 'valid'))   # known beforehand


def test_uneven_training_shards_across_processes_are_refused_by_name(tmp_path, monkeypatch):
    "5 shards of 2 in 2 processes: 3 and 2 shards, 3 and 2 batches of 2; training would wait forever, so it is an error."
    root = _folder(tmp_path / 'd', n=10)
    write_shards(root, tmp_path / 's', shard_size=2)
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('RANK', '1')
    with pytest.raises(ValueError, match=r'give the 2 processes \[3, 2\] batches an epoch \(bs=2, 1 worker'):
        AudioDataLoaders.from_shards(tmp_path / 's', bs=2, batch_tfms=[], num_workers=0)


def test_a_front_end_at_another_rate_is_refused(tmp_path):
    from fastai_audio import FrontEnd
    write_shards(_folder(tmp_path / 'd'), tmp_path / 's')
    with pytest.raises(ValueError, match='wants 32000 Hz .* hold 16000 Hz'):
        AudioDataLoaders.from_shards(tmp_path / 's', front_end=FrontEnd(sample_rate=32000))
    dls = AudioDataLoaders.from_shards(tmp_path / 's', front_end=FrontEnd(sample_rate=16000), bs=4, num_workers=0)
    assert dls.valid.one_batch()[0].ndim == 4                         # spectrograms


def test_shards_are_read_over_http_as_from_disk(tmp_path):
    "The same shards served by a local HTTP server (as from a bucket or a Hub): the same samples, the same length."
    from browser import serve_folder
    write_shards(_folder(tmp_path / 'd'), tmp_path / 's', shard_size=2)
    local = AudioDataLoaders.from_shards(tmp_path / 's', bs=2, batch_tfms=[], num_workers=0)
    with serve_folder(tmp_path) as url:
        remote = AudioDataLoaders.from_shards(f'{url}/s', bs=2, batch_tfms=[], num_workers=0)
        assert len(remote.valid) == len(local.valid) and remote.vocab == local.vocab
        for (xr, yr), (xl, yl) in zip(remote.valid, local.valid):
            assert torch.equal(xr, xl) and torch.equal(yr, yl)
