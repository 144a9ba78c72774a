import dataclasses

import librosa
import numpy as np
import pytest
import torch

from fastai_audio import (AST, CLASSIC_2018, FRONT_ENDS, FSDKAGGLE2019, LIBROSA_DEFAULT, PANNS, AudioTensor,
                          FrontEnd)


def test_presets_hold_the_published_settings_with_real_types():
    assert (CLASSIC_2018.sample_rate, CLASSIC_2018.n_fft, CLASSIC_2018.hop_length, CLASSIC_2018.n_mels,
            CLASSIC_2018.f_min, CLASSIC_2018.f_max) == (16000, 1024, 256, 40, 20.0, 8000.0)
    assert (LIBROSA_DEFAULT.sample_rate, LIBROSA_DEFAULT.n_fft, LIBROSA_DEFAULT.hop_length,
            LIBROSA_DEFAULT.n_mels) == (22050, 2048, 512, 128)
    assert (FSDKAGGLE2019.sample_rate, FSDKAGGLE2019.n_fft, FSDKAGGLE2019.hop_length, FSDKAGGLE2019.n_mels,
            FSDKAGGLE2019.f_min, FSDKAGGLE2019.f_max) == (44100, 2048, 512, 128, 20.0, 8300.0)
    assert (PANNS.sample_rate, PANNS.n_fft, PANNS.hop_length, PANNS.n_mels, PANNS.f_min, PANNS.f_max) == \
        (32000, 1024, 320, 64, 50.0, 14000.0)
    assert (AST.sample_rate, AST.win_length, AST.hop_length, AST.n_mels) == (16000, 400, 160, 128)  # 25 / 10 ms
    for fe in FRONT_ENDS.values():
        assert type(fe.center) is bool and type(fe.htk) is bool
    assert AST.center is False and AST.htk is True and PANNS.htk is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        PANNS.n_mels = 128


def test_strings_for_booleans_and_bad_values_are_refused():
    with pytest.raises(TypeError, match='center must be a bool'):
        FrontEnd('x', 16000, 512, 128, 40, center='False')
    with pytest.raises(TypeError, match='n_mels must be a positive int'):
        CLASSIC_2018.replace(n_mels=40.0)
    with pytest.raises(ValueError, match='f_max'):
        CLASSIC_2018.replace(f_max=9000.0)
    with pytest.raises(ValueError, match='win_length'):
        AST.replace(win_length=1024)
    assert CLASSIC_2018.replace(n_mels=64).n_mels == 64 and CLASSIC_2018.n_mels == 40


@pytest.mark.filterwarnings('ignore:Empty filters')
@pytest.mark.parametrize('name', sorted(FRONT_ENDS))
def test_each_preset_matches_librosa_configured_alike(name):
    fe = FRONT_ENDS[name]
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(int(0.75 * fe.sample_rate)) * 0.1).astype(np.float32)
    tfms = fe.batch_tfms(normalize=None)
    x = AudioTensor(torch.from_numpy(y)[None, None].double(), sr=fe.sample_rate)
    for t in tfms: x = t(x)
    ref = np.max if fe.ref == 'max' else fe.ref
    want = librosa.power_to_db(librosa.feature.melspectrogram(y=y.astype(np.float64), **fe.librosa_kwargs()),
                               ref=ref, top_db=fe.top_db)
    assert x.shape[-1] == fe.n_frames(fe.samples(0.75)) == want.shape[-1]
    np.testing.assert_allclose(x[0, 0].numpy(), want, atol=1e-4)
