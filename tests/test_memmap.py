"""cache='memmap': batches gathered from one decoded, memory-mapped store a split equal the decoded ones (bit for bit
for 16-bit PCM), an edited or added file is decoded alone, a store that cannot be written falls back to decoding,
and random crops follow `set_seed`."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import first_batches, tone, write
from fastai_audio import AudioDataLoaders, set_seed
from fastai_audio.data.memmap import crop_starts, gather_clips, int16_or_none, memmap_cache_folder


@pytest.fixture
def cache(tmp_path, monkeypatch):
    "The memmap stores go under tmp_path (never the user's ~/.cache)."
    monkeypatch.setenv('FASTAI_AUDIO_CACHE', str(tmp_path / 'cache'))
    return memmap_cache_folder()


def _folder(root, sr=16000, subtype='PCM_16', lengths=(0.3, 0.45, 0.6), seed=0):
    "train/ and valid/ with classes a and b, one clip of each length a class, noise (so every sample differs)."
    rng = np.random.default_rng(seed)
    for split in ('train', 'valid'):
        for c in ('a', 'b'):
            (root / split / c).mkdir(parents=True, exist_ok=True)
            for i, s in enumerate(lengths):
                write(root / split / c / f'{i}.wav', (0.2 * rng.standard_normal(int(sr * s))).astype(np.float32), sr,
                      subtype=subtype)
    return root


def _dls(root, **kw):
    kw = {'bs': 4, 'batch_tfms': [], 'num_workers': 0, **kw}
    return AudioDataLoaders.from_folder(root, **kw)


def _epoch(dl):
    "Every batch of `dl` (unshuffled) as plain tensors, with `lengths` when the batch carries them."
    out = []
    for x, y in dl.new(shuffle=False, drop_last=False):
        out.append((x.as_subclass(torch.Tensor).clone(), y.as_subclass(torch.Tensor).clone(), getattr(x, 'lengths', None)))
    return out


def _same(a, b):
    assert len(a) == len(b)
    for (xa, ya, la), (xb, yb, lb) in zip(a, b):
        assert xa.dtype == xb.dtype == torch.float32 and torch.equal(xa, xb) and torch.equal(ya, yb)
        assert (la is None) == (lb is None) and (la is None or torch.equal(la, lb))


@pytest.mark.parametrize('duration', [None, 0.4])
def test_batches_equal_decoding_bit_for_bit_for_16_bit_pcm(tmp_path, cache, duration):
    root = _folder(tmp_path / 'd')
    decoded, cached = _dls(root, duration=duration), _dls(root, duration=duration, cache='memmap')
    assert cached.train.gather is not None and cached.valid.gather is not None
    assert {json.loads(f.read_text())['dtype'] for f in cache.glob('*.json')} == {'int16'}
    _same(_epoch(decoded.valid), _epoch(cached.valid))                    # 'start' crops, or lengths kept
    x, y = cached.train.one_batch()
    assert x.sr == 16000 and x.shape[-1] == (6400 if duration else x.lengths.max())
    assert type(y).__name__ == 'TensorCategory' and cached.vocab == decoded.vocab


def test_resampled_clips_are_stored_as_float32_equal_to_decoding(tmp_path, cache):
    root = _folder(tmp_path / 'd', sr=22050)
    decoded, cached = _dls(root), _dls(root, cache='memmap')
    assert {json.loads(f.read_text())['dtype'] for f in cache.glob('*.json')} == {'float32'}
    _same(_epoch(decoded.valid), _epoch(cached.valid))


def test_an_edited_and_an_added_file_are_decoded_alone(tmp_path, cache):
    root = _folder(tmp_path / 'd')
    _dls(root, cache='memmap')
    store = {f: (len(json.loads(f.read_text())['entries']), f.with_suffix('.data').stat().st_size)
             for f in cache.glob('*.json')}
    edited = root / 'valid' / 'a' / '0.wav'
    write(edited, tone(500.0, 16000, 0.3), 16000, subtype='PCM_16')
    write(root / 'valid' / 'b' / 'new.wav', tone(900.0, 16000, 0.25), 16000, subtype='PCM_16')
    decoded, cached = _dls(root), _dls(root, cache='memmap')
    _same(_epoch(decoded.valid), _epoch(cached.valid))
    grew = {f: (len(json.loads(f.read_text())['entries']) - n, f.with_suffix('.data').stat().st_size - size)
            for f, (n, size) in store.items()}
    assert sorted(grew.values()) == [(0, 0), (2, 2 * (4800 + 4000))]    # the train store untouched; two int16 clips


def test_a_store_that_cannot_be_written_falls_back_to_decoding(tmp_path, monkeypatch):
    root = _folder(tmp_path / 'd')
    (tmp_path / 'a_file').write_text('not a folder')
    monkeypatch.setenv('FASTAI_AUDIO_CACHE', str(tmp_path / 'a_file'))
    with pytest.warns(UserWarning, match="cache='memmap': the decoded cache cannot be written under .*a_file"):
        cached = _dls(root, cache='memmap')
    assert cached.train.gather is None and cached.valid.gather is None
    _same(_epoch(_dls(root).valid), _epoch(cached.valid))


def test_random_crops_follow_set_seed_and_are_windows_of_the_clip(tmp_path, cache):
    root = _folder(tmp_path / 'd', lengths=(1.0, 1.0, 1.0))
    def batches():
        set_seed(3)
        dl = _dls(root, duration=0.25, cache='memmap').train
        return [first_batches(dl, 1)[0] for epoch in range(2)]
    a, b = batches(), batches()
    assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))
    assert not torch.equal(a[0][0], a[1][0])                  # the next epoch: other crops
    full = _dls(root, cache='memmap')                         # whole 1 s clips, from the same store
    clips = [x[0].numpy() for xb, _, _ in _epoch(full.train) for x in xb]
    for x in a[0][0]:
        assert any((_windows(c, x.shape[-1]) == x[0].numpy()).all(1).any() for c in clips)


def _windows(c, n):
    return np.lib.stride_tricks.sliding_window_view(c, n)


def test_multi_label_targets_and_skipped_files(tmp_path, cache):
    root = _folder(tmp_path / 'd')
    (root / 'train' / 'a' / 'bad.wav').write_bytes(b'RIFF not audio')
    files = sorted(root.rglob('*.wav'))
    df = pd.DataFrame({'fn': [f.relative_to(root).as_posix() for f in files],
                       'labels': ['x y' if i % 2 else 'y' for i in range(len(files))],
                       'valid': ['valid' in f.parts for f in files]})
    kw = dict(fn_col='fn', label_col='labels', label_delim=' ', valid_col='valid', on_error='skip', bs=4,
              batch_tfms=[], num_workers=0, duration=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        decoded = AudioDataLoaders.from_df(df, root, **kw)
        cached = AudioDataLoaders.from_df(df, root, cache='memmap', **kw)
    assert len(cached.skipped) == 1 and cached.skipped.file[0].endswith('bad.wav')
    _same(_epoch(decoded.valid), _epoch(cached.valid))
    x, y = cached.train.one_batch()
    assert type(y).__name__ == 'TensorMultiCategory' and y.shape == (4, 2)


def test_sed_event_lists_travel_through_the_cache(tmp_path, cache):
    from fastai_audio import get_frequency_batch_transforms, sed_dataloaders
    root = _folder(tmp_path / 'd')
    files = sorted(root.rglob('*.wav'))
    rows = ['filename,onset,offset,event_label'] + [f'{f.relative_to(root).as_posix()},0.1,0.2,{f.parent.name}'
                                                    for f in files]
    (tmp_path / 'events.csv').write_text('\n'.join(rows) + '\n')
    kw = dict(valid_pct=0.5, seed=0, bs=4, num_workers=0, batch_tfms=get_frequency_batch_transforms(normalize=None))
    decoded = sed_dataloaders(tmp_path / 'events.csv', root, **kw)
    cached = sed_dataloaders(tmp_path / 'events.csv', root, cache='memmap', **kw)
    assert cached.valid.gather is not None
    _same(_epoch(decoded.valid), _epoch(cached.valid))


def test_item_transforms_are_refused_by_name(tmp_path, cache):
    from fastai_audio import AudioCropPad
    from fasttransform import Transform
    class Flip(Transform):
        def encodes(self, x): return -x
    root = _folder(tmp_path / 'd')
    with pytest.raises(ValueError, match=r"cache='memmap' gathers whole batches.*\['Flip'\]"):
        _dls(root, cache='memmap', item_tfms=[Flip()])
    assert _dls(root, cache='memmap', item_tfms=[AudioCropPad(0.2)]).train.gather is not None


def test_workers_gather_every_item_once(tmp_path, cache):
    root = _folder(tmp_path / 'd', lengths=(0.3, 0.35, 0.4, 0.45, 0.5))
    cached = _dls(root, cache='memmap', num_workers=2, bs=3)
    seen = [int(n) for xb, _ in cached.valid for n in xb.lengths]
    assert sorted(seen) == sorted(int(0.3 * 16000 + 800 * i) for i in range(5) for _ in range(2))


def test_crop_starts_and_gather_clips():
    lengths = np.array([10, 4, 7])
    assert crop_starts(lengths, 5, mode='start').tolist() == [0, 0, 0]
    assert crop_starts(lengths, 5, mode='centre').tolist() == [2, 0, 1]
    starts = crop_starts(lengths, 5, mode='random', rng=np.random.default_rng(0))
    assert ((0 <= starts) & (starts <= [5, 0, 2])).all()
    clips = [np.arange(n, dtype=np.int16)[None] for n in lengths]
    out = gather_clips(clips, 5, np.array([3, 0, 2]), pad='repeat')
    assert out.dtype == np.float32 and out.tolist() == [[[3, 4, 5, 6, 7]], [[0, 1, 2, 3, 0]], [[2, 3, 4, 5, 6]]]
    assert gather_clips(clips[1:2], 6, np.array([0]), scale=0.5).tolist() == [[[0, 0.5, 1, 1.5, 0, 0]]]
    with pytest.raises(ValueError, match='channels'): gather_clips([np.zeros((1, 4)), np.zeros((2, 4))], 4, [0, 0])
    with pytest.raises(ValueError, match='mode'): crop_starts(lengths, 5, mode='end')


def test_int16_only_when_nothing_is_lost():
    x = np.array([0, 1, -32768, 32767], dtype=np.float32) / 32768
    assert int16_or_none(x).tolist() == [0, 1, -32768, 32767]
    assert int16_or_none(x + 1e-6) is None and int16_or_none(np.array([1.0])) is None


def test_other_items_are_decoded_item_by_item(tmp_path, cache):
    "`test_dl` (and so `predict`) decodes its files as before: no store is written for them."
    root = _folder(tmp_path / 'd')
    cached = _dls(root, cache='memmap')
    stores = sorted(cache.glob('*.json'))
    extra = write(tmp_path / 'extra.wav', tone(700.0, 16000, 0.3), 16000, subtype='PCM_16')
    dl = cached.test_dl([extra])
    assert dl.gather is None and sorted(cache.glob('*.json')) == stores
    assert dl.one_batch()[0].shape == (1, 1, 4800)
    assert cached.valid.new(shuffle=False).gather is cached.valid.gather           # the same items keep their store


def test_a_full_disk_falls_back_and_keeps_what_was_written(tmp_path, cache):
    "A samples file that cannot grow (RLIMIT_FSIZE: writes past it fail as on a full disk) is cut back to its last clip."
    import resource
    import signal
    root = _folder(tmp_path / 'd')
    old_limit, old_handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, old_limit[1]))     # room for two int16 clips of 0.3-0.45 s
    try:
        with pytest.warns(UserWarning, match='cannot be written'): full = _dls(root, cache='memmap')
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert full.train.gather is None
    for index in cache.glob('*.json'):
        entries = json.loads(index.read_text())['entries']
        assert index.with_suffix('.data').stat().st_size == 2 * sum(n * c for _, n, c, _ in entries.values())
    again = _dls(root, cache='memmap')                                    # with room: completed, equal to decoding
    assert again.train.gather is not None
    _same(_epoch(_dls(root).valid), _epoch(again.valid))


def test_class_balanced_loaders_keep_gathering(tmp_path, cache):
    root = _folder(tmp_path / 'd')
    balanced = _dls(root, cache='memmap', duration=0.2).class_balanced()
    assert balanced.train.gather is not None
    x, y = balanced.train.one_batch()
    assert x.shape == (4, 1, 3200) and type(y).__name__ == 'TensorCategory'


def test_the_memmap_cache_gathers_in_the_main_process_unless_told(tmp_path, cache, monkeypatch):
    """Where fastai would start 8 workers (CUDA, 8 cores), the memmap loaders default to 0: one process gathers
    faster than workers pass batches on (benchmarks (q)); workers given are kept."""
    import fastai_audio.data.blocks as blocks
    from fastai.torch_core import defaults
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(defaults, 'cpus', 8)
    root = _folder(tmp_path / 'd')
    kw = {'bs': 4, 'batch_tfms': [], 'device': 'cpu'}
    assert AudioDataLoaders.from_folder(root, cache='memmap', **kw).train.fake_l.num_workers == 0
    assert AudioDataLoaders.from_folder(root, **kw).train.fake_l.num_workers == blocks.default_num_workers() == 8
    assert AudioDataLoaders.from_folder(root, cache='memmap', num_workers=2, **kw).train.fake_l.num_workers == 2
