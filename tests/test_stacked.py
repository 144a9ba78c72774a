"""Stacked front ends (deltas and views as input channels) and PCEN as a front-end option: the description's
rules, the batch transform equal to the exported module, per-channel statistics, and the baseline beside a
network."""
import numpy as np
import pytest
import torch

import fastai_audio as fa
from fastai_audio import FrontEnd, FrontEndModule
from fastai_audio.runtime.functional import deltas, melspectrogram, pcen, amplitude_to_db

BASE = FrontEnd(n_mels=40, normalize=None)


def test_stacking_rules_name_the_field_and_the_view():
    with pytest.raises(ValueError, match=r"views\[0\] is 64 rows where this front end has 40"):
        BASE.replace(views=(BASE.replace(n_mels=64),))
    with pytest.raises(ValueError, match=r"views\[1\] is normalised by itself"):
        BASE.replace(views=(BASE, BASE.replace(normalize='example')))
    with pytest.raises(ValueError, match=r"views\[0\] is at 22050 Hz"):
        BASE.replace(views=(BASE.replace(sample_rate=22050),))
    with pytest.raises(ValueError, match="FrontEnd.channels must be 1 .mono. for a stacked front end"):
        BASE.replace(channels=2, deltas=1)
    with pytest.raises(ValueError, match="FrontEnd.normalize must be None or 'dataset' for a stacked front end"):
        BASE.replace(deltas=1, normalize='example')
    with pytest.raises(ValueError, match='FrontEnd.pcen must be True only for kinds'):
        BASE.replace(pcen=True)                                   # to_db is still True
    with pytest.raises(ValueError, match='FrontEnd.deltas must be 0, 1 or 2'): BASE.replace(deltas=3)
    with pytest.raises(ValueError, match='FrontEnd.mean must be None, a number or .stacked front ends. 3 numbers'):
        BASE.replace(deltas=2, normalize='dataset', mean=(0.0, 1.0), std=(1.0, 1.0))


def test_presets_are_three_channels_and_survive_json():
    import json
    for fe in (fa.MULTI_RESOLUTION, fa.MEL_DELTAS, fa.MEL_PCEN):
        assert fe.stacked and fe.input_channels == 3 and fa.FRONT_ENDS[fe.name] is fe
        back = FrontEnd.from_dict(json.loads(json.dumps(fe.replace(mean=(1.0, 2.0, 3.0), std=(4.0, 5.0, 6.0)).to_dict())))
        assert back == fe.replace(mean=(1.0, 2.0, 3.0), std=(4.0, 5.0, 6.0))
        plain = fe.replace(views=(), deltas=0)
        assert {'deltas', 'views'} & {f for f, _, _ in plain.mismatches(fe)} and plain.mismatches(plain) == []


def test_each_channel_is_its_kernel():
    """MEL_PCEN's channels: the dB mels, their delta, and PCEN of the magnitude mels x 2**31 (librosa's advice),
    each from the functional kernels; a view with another hop is resampled onto the base frames."""
    y = torch.from_numpy(np.random.default_rng(0).standard_normal(16000) * 0.1).float()[None]
    fe = fa.MEL_PCEN.replace(normalize=None)
    out = FrontEndModule(fe)(y)[0].double()
    mel_kw = dict(n_fft=1024, hop_length=256, n_mels=128, f_min=20.0)
    db = amplitude_to_db(melspectrogram(y.double(), 16000, **mel_kw), 'power', ref='max', top_db=80.0)[0]
    torch.testing.assert_close(out[0], db, rtol=0, atol=2e-3)
    torch.testing.assert_close(out[1], deltas(db), rtol=0, atol=2e-3)
    mag = melspectrogram(y.double(), 16000, power=1.0, **mel_kw)[0]
    torch.testing.assert_close(out[2], pcen(mag * 2 ** 31, 16000, 256), rtol=1e-3, atol=1e-3)
    coarse = BASE.replace(views=(BASE.replace(n_fft=2048, hop_length=512),))
    two = FrontEndModule(coarse)(y)[0]
    assert two.shape == (2, 40, 63)
    alone = FrontEndModule(BASE.replace(n_fft=2048, hop_length=512))(y)[0, 0].numpy()   # 32 frames, twice the hop
    pos = (np.arange(63) + 0.5) * 32 / 63 - 0.5                          # frame centres aligned, edges held
    want = np.stack([np.interp(pos, np.arange(32), row) for row in alone])
    np.testing.assert_allclose(two[1].numpy(), want, rtol=0, atol=1e-4)


def test_batch_transform_equals_the_module_and_normalises_per_channel(synth_path):
    dls = (fa.AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(fa.NSYNTH_PATTERN)
           .databunch(bs=8, duration=0.5, tfms=fa.MEL_DELTAS.batch_tfms(), num_workers=0))
    assert [type(t).__name__ for t in dls.after_batch.fs][-2:] == ['FrontEndTransform', 'SpecNormalize']
    x = dls.one_batch()[0]
    fe = x.settings
    assert x.shape[1:] == (3, 128, 32) and len(fe.mean) == 3 and fe.std[1] < fe.std[0]   # deltas vary less than dB
    xb, _ = dls.valid.one_batch()
    norm = next(t for t in dls.after_batch.fs if type(t).__name__ == 'SpecNormalize')
    torch.testing.assert_close(norm.decodes(xb).as_subclass(torch.Tensor),
                               FrontEndModule(fe.replace(normalize=None, mean=None, std=None))(
                                   _waves(dls, len(xb))).as_subclass(torch.Tensor), rtol=0, atol=1e-3)


def _waves(dls, n):
    "The first `n` validation clips as the loader cuts them (their first 0.5 s), before the batch transforms."
    return torch.stack([dls.valid_ds[i][0].as_subclass(torch.Tensor)[..., :8000] for i in range(n)])


def test_baseline_beside_the_network(classic_dls):
    learn = fa.audio_learner(classic_dls, fa.models.resnet18, pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    res = learn.baseline(quiet=True)
    assert (res.n_train, res.n_valid, res.n_features) == (40, 20, 80)
    assert 0.6 <= res.accuracy <= 1.0 and 0.0 <= res.network <= 1.0
    assert f'network: {res.network:.3f}' in str(res) and 'points over the baseline' in str(res)
    assert fa.fit_baseline(classic_dls).network is None


@pytest.mark.parametrize('factory', ['from_folder', 'from_path_func', 'from_name_re', 'from_df'])
def test_train_crop_start_is_reachable_from_every_factory(synth_path, factory):
    "One-shot sounds keep their attack: `train_crop='start'` cuts training clips from the start too."
    import pandas as pd
    files = sorted(synth_path.rglob('*.wav'))
    label = lambda f: f.name.split('_')[0]                                  # noqa: E731
    kw = dict(duration=0.25, train_crop='start', bs=4, num_workers=0, seed=0)
    if factory == 'from_folder':
        dls = fa.AudioDataLoaders.from_folder(synth_path, valid_pct=0.2, **kw)
    elif factory == 'from_path_func': dls = fa.AudioDataLoaders.from_path_func(synth_path, files, label, **kw)
    elif factory == 'from_name_re': dls = fa.AudioDataLoaders.from_name_re(synth_path, files, fa.NSYNTH_PATTERN, **kw)
    else:
        df = pd.DataFrame({'fname': [str(f.relative_to(synth_path)) for f in files], 'label': [label(f) for f in files]})
        dls = fa.AudioDataLoaders.from_df(df, synth_path, **kw)
    crop = next(t for t in dls.train.after_item.fs if type(t).__name__ == 'AudioCropPad')
    assert crop.train_mode == 'start'
    item = dls.train.after_item(dls.train_ds[0])[0]                  # the training item pipeline, crop included
    full = fa.load_audio(dls.train_ds.items[0] if not hasattr(dls.train_ds.items, 'iloc') else
                         synth_path / dls.train_ds.items.iloc[0]['fname'], sr=16000)
    torch.testing.assert_close(item.as_subclass(torch.Tensor), full.as_subclass(torch.Tensor)[..., :4000])
