import random

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import tone, write
from fastai_audio import (AudioBlock, AudioDataLoaders, AudioLoadError, find_bad_audio, AudioItemList, AudioSpectrogram, AudioTensor, CategoryBlock,
                          DataBlock, FolderSplitter, NSYNTH_PATTERN, RegexLabeller, crop_pad, get_audio_files,
                          get_frequency_batch_transforms, set_seed)


def test_crop_pad_modes():
    x = torch.arange(10.)[None]
    assert crop_pad(x, 4, mode='start').tolist() == [[0, 1, 2, 3]]
    assert crop_pad(x, 4, mode='centre').tolist() == [[3, 4, 5, 6]]
    starts = {int(crop_pad(x, 4, mode='random', rng=random.Random(s))[0, 0]) for s in range(60)}
    assert starts == set(range(7))
    assert crop_pad(x[:, :3], 7).tolist() == [[0, 1, 2, 0, 0, 0, 0]]
    assert crop_pad(x[:, :3], 7, pad='repeat').tolist() == [[0, 1, 2, 0, 1, 2, 0]]
    assert crop_pad(x[:, :0], 3, pad='repeat').tolist() == [[0, 0, 0]]          # an empty clip: nothing to repeat
    assert crop_pad(x, 10) is x
    with pytest.raises(ValueError, match='mode'):
        crop_pad(x, 4, mode='middle')


def test_classic_pipeline_labels_splits_and_types(classic_dls, synth_path):
    assert list(classic_dls.vocab) == ['chirp', 'clicks', 'noise', 'sine', 'square']
    assert len(classic_dls.train_ds) == 40 and len(classic_dls.valid_ds) == 20
    x, y = classic_dls.one_batch()
    assert isinstance(x, AudioSpectrogram) and x.shape == (8, 1, 40, 63)
    assert x.settings.sample_rate == 16000 and x.settings.n_mels == 40 and x.settings.hop_length == 256
    item_x, item_y = classic_dls.valid_ds[0]
    f = classic_dls.valid_ds.items[0]
    assert isinstance(item_x, AudioTensor) and item_x.sr == 16000
    assert classic_dls.vocab[item_y] == f.name.split('_')[0]


def test_show_batch_draws_spectrograms_with_labels(classic_dls):
    import matplotlib.pyplot as plt
    plt.close('all')
    classic_dls.show_batch(3)
    axes = [a for a in plt.gcf().axes if a.images]
    assert len(axes) == 3
    assert all(a.get_title() in classic_dls.vocab for a in axes)
    assert all(a.get_xlabel() == 'time (s)' and 'Hz' in a.get_ylabel() for a in axes)


def test_show_batch_of_waveforms(synth_path):
    import matplotlib.pyplot as plt
    plt.close('all')
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=4, tfms=[], num_workers=0))
    assert isinstance(dls.one_batch()[0], AudioTensor)
    dls.show_batch(max_n=2)
    axes = [a for a in plt.gcf().axes if a.lines]
    assert len(axes) == 2 and all(a.get_title() in dls.vocab for a in axes)


def test_sample_rate_survives_dataloader_workers(synth_path):
    dls = (AudioItemList.from_folder(synth_path, sr=8000).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=4, tfms=[], num_workers=2))
    for dl in (dls.train, dls.valid):
        x, _ = next(iter(dl))
        assert isinstance(x, AudioTensor) and x.sr == 8000 and x.shape == (4, 1, 8000)


def _clips(tmp_path, lengths, sr=16000):
    d = tmp_path / 'clips'
    for split in ('train', 'valid'):
        for i, n in enumerate(lengths):
            (d / split).mkdir(parents=True, exist_ok=True)
            write(d / split / f'c{i}_x_000-000-000.wav', tone(440 * (i + 1), sr, n / sr), sr)
    return d


def _freq(path):
    "The tone frequency `_clips` wrote into file c{i}_...: 440 Hz * (i + 1)."
    return 440.0 * (int(path.name[1]) + 1)


def _block_dls(root, items, **audio_kw):
    "The data block API directly, with `AudioBlock(**audio_kw)`, label c0/c1 from the file name."
    dblock = DataBlock(blocks=(AudioBlock(**audio_kw), CategoryBlock), splitter=FolderSplitter(root),
                       get_y=RegexLabeller(r'(c\d)_'))
    return AudioDataLoaders.from_dls(dblock.dataloaders(items, bs=2, num_workers=0, shuffle=False))


def test_training_crop_is_random_and_validation_crop_deterministic(tmp_path):
    d = _clips(tmp_path, [16000, 16000])
    items = AudioItemList.from_folder(d).split_by_folder().label_from_re(r'(c\d)_')
    dls_start = items.databunch(bs=2, tfms=[], duration=0.25, num_workers=0, shuffle=False)
    v1, v2 = dls_start.valid.one_batch()[0], dls_start.valid.one_batch()[0]
    assert v1.shape == (2, 1, 4000)
    torch.testing.assert_close(v1, v2)
    np.testing.assert_allclose(v1[0, 0].numpy(), tone(_freq(dls_start.valid_ds.items[0]))[:4000], atol=1e-4)
    set_seed(0)
    t = [dls_start.train.one_batch()[0] for _ in range(4)]
    assert any(not torch.equal(t[0], o) for o in t[1:])
    dlc = _block_dls(d, items.items, duration=0.25, valid_crop='centre')
    vc = dlc.valid.one_batch()[0]
    np.testing.assert_allclose(vc[0, 0].numpy(), tone(_freq(dlc.valid_ds.items[0]))[6000:10000], atol=1e-4)


def test_short_clips_are_padded(tmp_path):
    d = _clips(tmp_path, [800, 1600])
    items = AudioItemList.from_folder(d).split_by_folder().label_from_re(r'(c\d)_')
    x = items.databunch(bs=2, tfms=[], duration=0.2, num_workers=0, shuffle=False).valid.one_batch()[0]
    short = [i for i, f in enumerate(items.items) if f.parent.name == 'valid' and f.name.startswith('c0')]
    assert x.shape == (2, 1, 3200) and len(short) == 1
    assert min(float(x[i, 0, 800:].abs().max()) for i in range(2)) == 0.0
    dlr = _block_dls(d, items.items, duration=0.2, pad='repeat')
    rep = dlr.valid.one_batch()[0]
    short = [i for i, f in enumerate(dlr.valid_ds.items) if f.name.startswith('c0')][0]
    assert rep.shape == (2, 1, 3200)
    torch.testing.assert_close(rep[short, 0, 800:1600], rep[short, 0, :800])


def test_variable_length_without_duration_pads_to_longest(tmp_path):
    d = _clips(tmp_path, [800, 1600])
    dls = (AudioItemList.from_folder(d).split_by_folder().label_from_re(r'(c\d)_')
           .databunch(bs=2, tfms=[], num_workers=0, shuffle=False))
    x = dls.valid.one_batch()[0]
    short = [i for i, f in enumerate(dls.valid_ds.items) if f.name.startswith('c0')][0]
    assert x.shape == (2, 1, 1600) and float(x[short, 0, 800:].abs().max()) == 0.0
    assert float(x[1 - short, 0, 800:].abs().max()) > 0.1


def test_sr_taken_from_the_spectrogram_transform(synth_path):
    tfms = get_frequency_batch_transforms(sr=8000, n_fft=512, hop_length=128)
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=4, tfms=tfms, num_workers=0))
    assert dls.one_batch()[0].settings.sample_rate == 8000 and dls.train_ds[0][0].sr == 8000


def test_label_from_re_error_names_the_file(synth_path):
    items = AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(r'(\d+)_nomatch')
    with pytest.raises(ValueError, match=r'does not match file .*\.wav'):
        items.databunch(bs=4, num_workers=0)


def test_split_by_folder_warns_about_other_folders(synth_path, tmp_path):
    import shutil
    d = tmp_path / 'ds'
    shutil.copytree(synth_path, d)
    (d / 'extra').mkdir()
    shutil.copy(next((d / 'train').glob('*.wav')), d / 'extra' / 'sine_synth_999-060-100.wav')
    with pytest.warns(UserWarning, match="1 of 61 files are in neither 'train' nor 'valid'"):
        dls = AudioItemList.from_folder(d).split_by_folder().label_from_re(NSYNTH_PATTERN).databunch(bs=4, num_workers=0)
    assert len(dls.train_ds) + len(dls.valid_ds) == 60
    with pytest.raises(ValueError, match='both must hold audio files'):
        AudioItemList.from_folder(d).split_by_folder(valid='nope').label_from_re(NSYNTH_PATTERN).databunch(bs=4)


def test_from_folder_with_label_folders(tmp_path):
    for split, n in (('train', 3), ('valid', 2)):
        for lab, f in (('low', 220), ('high', 1760)):
            (tmp_path / split / lab).mkdir(parents=True)
            for i in range(n): write(tmp_path / split / lab / f'{i}.wav', tone(f, 16000, 0.5), 16000)
    dls = AudioDataLoaders.from_folder(tmp_path, bs=2, num_workers=0)
    assert isinstance(dls, AudioDataLoaders) and sorted(dls.vocab) == ['high', 'low']
    assert len(dls.train_ds) == 6 and len(dls.valid_ds) == 4
    assert isinstance(dls.one_batch()[0], AudioSpectrogram)


def test_from_name_re_df_and_csv(synth_path):
    files = get_audio_files(synth_path)
    dls = AudioDataLoaders.from_name_re(synth_path, files, NSYNTH_PATTERN, valid_pct=0.25, seed=0, bs=4, num_workers=0)
    assert len(dls.vocab) == 5 and len(dls.valid_ds) == 15
    df = pd.DataFrame({'fname': [f.relative_to(synth_path).as_posix() for f in files],
                       'label': [f.name.split('_')[0] for f in files],
                       'is_valid': [f.parent.name == 'valid' for f in files]})
    dls = AudioDataLoaders.from_df(df, synth_path, valid_col='is_valid', bs=4, num_workers=0)
    assert len(dls.valid_ds) == 20 and list(dls.vocab) == sorted(set(df.label))
    df.to_csv(synth_path / 'labels.csv', index=False)
    dls = AudioDataLoaders.from_csv(synth_path, 'labels.csv', valid_col='is_valid', bs=4, num_workers=0)
    x, y = dls.one_batch()
    assert x.shape[:3] == (4, 1, 40) and len(dls.train_ds) == 40


def test_from_folder_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='No audio files'):
        AudioItemList.from_folder(tmp_path)


def test_audio_loader_takes_tensors_too():
    from fastai_audio import AudioLoader
    stereo = AudioTensor(torch.stack([torch.ones(44100), -torch.ones(44100) * 0.5]), sr=44100)
    x = AudioLoader(sr=16000, mono=True)(stereo)
    assert isinstance(x, AudioTensor) and x.sr == 16000 and x.shape == (1, 16000)
    assert float(x[0, 4000:12000].mean()) == pytest.approx(0.25, abs=1e-3)
    kept = AudioLoader(sr=44100, mono=False)(stereo)
    assert kept.shape == (2, 44100) and kept.sr == 44100


def test_padding_to_longest_records_lengths_in_samples_then_frames(tmp_path):
    d = _clips(tmp_path, [800, 1600])
    tfms = get_frequency_batch_transforms(n_fft=256, hop_length=64, n_mels=16, normalize='example')
    dls = (AudioItemList.from_folder(d).split_by_folder().label_from_re(r'(c\d)_')
           .databunch(bs=2, tfms=[], num_workers=0, shuffle=False))
    x = dls.valid.one_batch()[0]
    short = [i for i, f in enumerate(dls.valid_ds.items) if f.name.startswith('c0')][0]
    expect = [1600, 1600]
    expect[short] = 800
    assert x.lengths.tolist() == expect
    for t in tfms: x = t(x)
    assert x.lengths.tolist() == [1 + n // 64 for n in expect]            # centred frames
    real = x[short, ..., :x.lengths[short]]
    assert abs(float(real.mean())) < 1e-5 and abs(float(real.std()) - 1) < 1e-4   # padding left out of the stats


def test_pad_to_longest_can_repeat_instead(tmp_path):
    d = _clips(tmp_path, [800, 1600])
    items = AudioItemList.from_folder(d).split_by_folder().label_from_re(r'(c\d)_')
    dls = _block_dls(d, items.items, duration=None, pad='repeat')
    x = dls.valid.one_batch()[0]
    short = [i for i, f in enumerate(dls.valid_ds.items) if f.name.startswith('c0')][0]
    torch.testing.assert_close(x[short, 0, 800:], x[short, 0, :800])
    assert getattr(x, 'lengths', None) is None


def test_training_items_decode_only_a_random_slice_of_long_files(tmp_path, monkeypatch):
    import soundfile as sf
    import fastai_audio.core as core
    d = tmp_path / 'long'
    y = np.random.default_rng(0).uniform(-0.5, 0.5, 16000 * 10).astype(np.float32)
    for split in ('train', 'valid'):
        (d / split).mkdir(parents=True)
        write(d / split / 'c0_x_000-000-000.wav', y, 16000, 'FLOAT')
    read = []
    real = sf.SoundFile.read
    monkeypatch.setattr(sf.SoundFile, 'read', lambda self, frames=-1, **k: read.append(frames) or real(self, frames, **k))
    items = get_audio_files(d)
    dls = _block_dls(d, items, duration=0.5)
    starts = set()
    for _ in range(6):
        x = dls.train_ds[0][0]
        assert x.shape == (1, 8000) and read[-1] == 8000                    # 0.5 s decoded, not 10 s
        start = int(np.argmin(np.abs(y - float(x[0, 0]))))
        np.testing.assert_array_equal(x[0].numpy(), y[start:start + 8000])  # a true slice of the file
        starts.add(start)
    assert len(starts) > 1                                                  # random each time
    v = dls.valid_ds[0][0]
    assert read[-1] == -1 and v.shape == (1, 160000)                        # validation items: whole clip
    loader = next(t for t in dls.train_ds.tfms[0].fs if hasattr(t, 'whole_clips'))
    with loader.whole_clips():
        assert dls.train_ds[0][0].shape == (1, 160000)
    torch.testing.assert_close(core.load_audio(items[0], offset=2.0, duration=0.25)[0], torch.from_numpy(y[32000:36000]))


@pytest.mark.parametrize('where', ['ram', 'disk'])
def test_decoded_audio_cache_is_reused_and_never_stale(tmp_path, monkeypatch, where):
    import fastai_audio.core as core
    from fastai_audio import AudioLoader, load_audio
    calls = []
    real = core._decode
    monkeypatch.setattr(core, '_decode', lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    f = write(tmp_path / 'a.wav', tone(440.0, 22050, 1.0), 22050)
    cache = 'ram' if where == 'ram' else tmp_path / 'cache'
    loader = AudioLoader(16000, cache=cache)
    x1 = loader(f)
    x2 = loader(f)
    assert len(calls) == 1 and x1.sr == 16000 and torch.equal(x1, x2)
    if where == 'disk':                                           # another loader, same folder: still no decode
        assert torch.equal(AudioLoader(16000, cache=cache)(f), x1) and len(calls) == 1
    x8 = AudioLoader(8000, cache=cache)(f)
    assert x8.sr == 8000 and x8.shape == (1, 8000) and len(calls) == 2    # another rate: another entry
    import os, time
    write(f, tone(880.0, 22050, 1.0), 22050)                       # the file changes: read again
    os.utime(f, ns=(time.time_ns(), time.time_ns() + 10 ** 9))
    x3 = loader(f)
    assert len(calls) == 3 and not torch.equal(x3, x1)
    loader.train_slice, loader._training = 0.25, True               # random training crops come from the cache
    crop = loader.encodes(f)
    assert crop.shape == (1, 4000) and len(calls) == 3
    windows = np.lib.stride_tricks.sliding_window_view(x3[0].numpy(), 4000)
    assert (windows == crop[0].numpy()).all(axis=1).any()                # a true slice of the cached clip
    torch.testing.assert_close(x3, load_audio(f, sr=16000))              # what is cached is what loading gives


# --------------------------------------------------------------------------- unreadable files
@pytest.fixture
def messy(tmp_path):
    "A labelled folder of 6 good clips (3 'lo', 3 'hi'), an empty file, a text file and a truncated WAV."
    for split, n in (('train', 2), ('valid', 1)):
        (tmp_path / split).mkdir()
        for i in range(n):
            for lab, f in (('lo', 300.0), ('hi', 3000.0)):
                write(tmp_path / split / f'{lab}_{i}.wav', tone(f, seconds=0.3), 16000)
    (tmp_path / 'train' / 'lo_empty.wav').write_bytes(b'')
    (tmp_path / 'valid' / 'hi_text.wav').write_text('not audio')
    whole = (tmp_path / 'train' / 'hi_0.wav').read_bytes()
    (tmp_path / 'train' / 'hi_cut.wav').write_bytes(whole[:len(whole) // 2])
    bad = {str(tmp_path / 'train' / 'lo_empty.wav'): 'empty', str(tmp_path / 'valid' / 'hi_text.wav'): 'not a readable',
           str(tmp_path / 'train' / 'hi_cut.wav'): 'truncated'}
    return tmp_path, bad


def _check_report(report, bad):
    assert sorted(report.file) == sorted(bad)
    for f, r in zip(report.file, report.reason): assert bad[f] in r


def test_find_bad_audio_lists_each_bad_file_with_its_reason(messy):
    path, bad = messy
    files = get_audio_files(path)
    assert len(files) == 9
    _check_report(find_bad_audio(files, progress=False), bad)
    assert find_bad_audio([f for f in files if str(f) not in bad], progress=False).empty


def test_on_error_skip_leaves_bad_files_out_with_warning_and_report(messy):
    path, bad = messy
    with pytest.warns(UserWarning, match=r"3 of 9 audio files cannot be read and are left out \(on_error='skip'\)"):
        dls = (AudioItemList.from_folder(path).split_by_folder().label_from_re(r'^(lo|hi)_')
               .databunch(bs=2, duration=0.3, num_workers=0, on_error='skip'))
    _check_report(dls.skipped, bad)
    kept = [str(o) for o in list(dls.train_ds.items) + list(dls.valid_ds.items)]
    assert len(dls.train_ds) == 4 and len(dls.valid_ds) == 2 and not set(kept) & set(bad)
    assert sum(len(b[0]) for b in dls.train.new(drop_last=False)) == 4


def test_on_error_skip_from_df_keeps_the_good_rows(messy):
    path, bad = messy
    files = get_audio_files(path)
    df = pd.DataFrame({'f': [str(f.relative_to(path)) for f in files], 'y': [f.name.split('_')[0] for f in files],
                       'v': [f.parent.name == 'valid' for f in files]})
    with pytest.warns(UserWarning, match='3 of 9'):
        dls = AudioDataLoaders.from_df(df, path, valid_col='v', on_error='skip', bs=2, num_workers=0, duration=0.3)
    _check_report(dls.skipped, bad)
    assert len(dls.train_ds) == 4 and len(dls.valid_ds) == 2 and list(dls.vocab) == ['hi', 'lo']


def test_on_error_default_raises_naming_the_file(messy):
    path, bad = messy
    dls = (AudioItemList.from_folder(path).split_by_folder().label_from_re(r'^(lo|hi)_')
           .databunch(bs=2, tfms=[], duration=0.3, num_workers=0))
    assert len(dls.train_ds) == 6                     # nothing left out without being asked
    with pytest.raises(AudioLoadError, match=r"train/(lo_empty|hi_cut)\.wav'"):
        for _ in dls.train.new(drop_last=False, shuffle=False): pass
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip', got 'ignore'"):
        AudioItemList.from_folder(path).split_by_folder().label_from_re(r'^(lo|hi)_').databunch(on_error='ignore')


# --------------------------------------------------------------------------- what a newcomer meets first
def test_unknown_keywords_are_type_errors_naming_them(synth_path):
    with pytest.raises(TypeError, match=r"AudioDataLoaders.from_folder got unexpected keyword argument 'batch_tfm' "
                                        r"\(did you mean 'batch_tfms'"):
        AudioDataLoaders.from_folder(synth_path, valid_pct=0.2, batch_tfm=[], num_workers=0)
    with pytest.raises(TypeError, match=r"'durations'.*'duration'"):
        AudioDataLoaders.from_df(pd.DataFrame({'f': ['a.wav'], 'y': ['x']}), synth_path, durations=1.0)
    items = AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
    with pytest.raises(TypeError, match=r"databunch got unexpected keyword argument 'num_worker' "):
        items.databunch(bs=4, num_worker=0)


def test_tfms_and_batch_tfms_are_one_setting_in_factories_and_fluent_api(synth_path, tmp_path):
    from fastai_audio import Gain
    names = lambda dls: [type(t).__name__ for t in dls.after_batch.fs]
    tfms = lambda: [Gain(p=1.0)] + get_frequency_batch_transforms()
    for split in ('train', 'valid'): _class_folders(tmp_path / split)
    via_tfms = AudioDataLoaders.from_folder(tmp_path, tfms=tfms(), bs=4, num_workers=0)
    via_batch = AudioDataLoaders.from_folder(tmp_path, batch_tfms=tfms(), bs=4, num_workers=0)
    assert 'Gain' in names(via_tfms) and names(via_tfms) == names(via_batch)
    with pytest.raises(TypeError, match='batch_tfms or tfms'):
        AudioDataLoaders.from_folder(tmp_path, tfms=tfms(), batch_tfms=tfms(), num_workers=0)
    items = AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
    assert 'Gain' in names(items.databunch(bs=4, batch_tfms=tfms(), num_workers=0))
    with pytest.raises(TypeError, match='tfms or batch_tfms'):
        items.databunch(bs=4, tfms=tfms(), batch_tfms=tfms(), num_workers=0)


def _class_folders(root, sr_of=lambda i: 16000):
    for c, f in (('low', 300.0), ('high', 3000.0)):
        (root / c).mkdir(parents=True)
        for i in range(4): write(root / c / f'{c}{i}.wav', tone(f, sr_of(i), 0.5), sr_of(i))
    return root


def test_class_folders_without_train_valid_split_at_random_or_say_what_was_found(tmp_path):
    root = _class_folders(tmp_path / 'sounds')
    with pytest.raises(FileNotFoundError, match=r"'train' and 'valid' under .*sounds.*'train' and 'valid' are "
                                                r"missing \(folders found: high, low\).*valid_pct=0.2"):
        AudioDataLoaders.from_folder(root, num_workers=0)
    (root / 'train').mkdir()
    with pytest.raises(FileNotFoundError, match=r"'valid' is missing \(folders found: high, low, train\)"):
        AudioDataLoaders.from_folder(root, num_workers=0)
    dls = AudioDataLoaders.from_folder(root, valid_pct=0.25, seed=0, bs=2, num_workers=0)
    assert list(dls.vocab) == ['high', 'low'] and (len(dls.train_ds), len(dls.valid_ds)) == (6, 2)


def test_from_folder_on_nsynth_layout_points_to_name_labels(synth_path):
    with pytest.raises(ValueError, match=r'class folder.*synth0/train holds audio files directly.*from_name_re'):
        AudioDataLoaders.from_folder(synth_path, num_workers=0)


def test_mixed_sample_rates_with_sr_none_say_which_files_have_which_rate(tmp_path):
    root = _class_folders(tmp_path / 'mixed', sr_of=lambda i: 8000 if i == 3 else 16000)
    with pytest.raises(ValueError, match=r'2 different rates: 16000 Hz: 6 files \(e\.g\. .*\.wav.*\); 8000 Hz: 2 files '
                                         r'\(e\.g\. .*3\.wav.*Pass sr= \(e\.g\. sr=16000\)'):
        AudioDataLoaders.from_folder(root, valid_pct=0.25, seed=0, sr=None, duration=0.5, bs=2, num_workers=0)
    AudioDataLoaders.from_folder(root, valid_pct=0.25, seed=0, sr=16000, duration=0.5, bs=2, num_workers=0)  # resampled
    # the data block API has no up-front check: the batch says it
    dls = DataBlock(blocks=(AudioBlock(sr=None, duration=0.5), CategoryBlock), get_items=get_audio_files,
                    get_y=lambda p: p.parent.name).dataloaders(root, bs=8, shuffle=False, num_workers=0)
    with pytest.raises(ValueError, match=r'one batch holds clips at 8000, 16000 Hz.*Pass sr='):
        dls.train.one_batch()


def test_regex_labelling_names_the_pattern_and_the_file(synth_path):
    files = get_audio_files(synth_path)
    with pytest.raises(ValueError, match=r"from_name_re: pattern '\\\\w\+_synth' has no group"):
        AudioDataLoaders.from_name_re(synth_path, files, r'\w+_synth', num_workers=0)
    with pytest.raises(ValueError, match=r"from_name_re: pattern '\^\(dog\)_' does not match file .*\.wav"):
        AudioDataLoaders.from_name_re(synth_path, files, r'^(dog)_', num_workers=0)
    with pytest.raises(ValueError, match=r"label_from_re: pattern 'synth' has no group"):
        AudioItemList.from_folder(synth_path).split_by_folder().label_from_re('synth')
    dls = AudioDataLoaders.from_name_re(synth_path, files, NSYNTH_PATTERN, bs=8, num_workers=0)
    assert list(dls.vocab) == ['chirp', 'clicks', 'noise', 'sine', 'square']


def test_delimited_labels_without_label_delim_warn(tmp_path):
    for i in range(4): write(tmp_path / f'{i}.wav', tone(440.0, 16000, 0.3), 16000)
    df = pd.DataFrame({'fname': [f'{i}.wav' for i in range(4)], 'labels': ['bird,insect', 'bird', 'insect', 'bird']})
    with pytest.warns(UserWarning, match=r"1 of 4 labels in column 'labels' contain ',' \(e\.g\. 'bird,insect'\).*"
                                         r"label_delim=','"):
        dls = AudioDataLoaders.from_df(df, tmp_path, fn_col='fname', label_col='labels', bs=2, num_workers=0)
    assert 'bird,insect' in dls.vocab                                      # what was asked for, said out loud
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        dls = AudioDataLoaders.from_df(df, tmp_path, fn_col='fname', label_col='labels', label_delim=',', bs=2,
                                       num_workers=0)
    assert list(dls.vocab) == ['bird', 'insect']


def test_default_workers_leave_a_small_cpu_to_training(monkeypatch, tmp_path):
    "On a CPU-only machine of 2 cores the loaders default to 0 workers; given workers are kept; elsewhere fastai's."
    import torch
    import fastai_audio.data.blocks as blocks
    from fastai.torch_core import defaults
    from fastai_audio import NSYNTH_PATTERN, AudioDataLoaders, get_audio_files, make_synthetic_dataset
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(defaults, 'cpus', 2)
    assert blocks.default_num_workers() == 0
    path = make_synthetic_dataset(tmp_path / 'd', n_train=2, n_valid=1)
    dls = AudioDataLoaders.from_name_re(path, get_audio_files(path), NSYNTH_PATTERN, bs=2)
    assert dls.train.fake_l.num_workers == 0                  # (fastai keeps its own `num_workers` at 1)
    assert AudioDataLoaders.from_name_re(path, get_audio_files(path), NSYNTH_PATTERN, bs=2, num_workers=1).train.fake_l.num_workers == 1
    monkeypatch.setattr(defaults, 'cpus', 8)
    assert blocks.default_num_workers() == 8
    monkeypatch.setattr(defaults, 'cpus', 64)
    assert blocks.default_num_workers() == 16                    # fastai's cap
