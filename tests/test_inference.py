"""Prediction on clips of any length, the window timeline, and folder inference."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import tone, write
from fastai_audio import AudioLearner, AudioLoadError, AudioTensor, Timeline, audio_learner


def test_audio_learner_is_an_audio_learner(tone_learner, classic_dls):
    from fastai_audio import models
    assert isinstance(tone_learner, AudioLearner)
    assert isinstance(audio_learner(classic_dls, models.resnet18, pretrained=False), AudioLearner)


def test_predict_long_file_by_windows(tone_learner, tmp_path):
    learn = tone_learner
    f = write(tmp_path / 'long_low.wav', tone(300.0, 16000, 2.2), 16000)
    label, idx, probs, tl = learn.predict(f, with_timeline=True)
    assert isinstance(tl, Timeline)
    assert tl.starts.tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.7])   # last flush with 2.2 s
    torch.testing.assert_close(probs, tl.probs.mean(0))
    assert label == learn.dls.vocab[int(idx)] == learn.dls.vocab[int(probs.argmax())] == 'low'
    _, _, pmax = learn.predict(f, agg='max', hop=0.5)
    assert pmax.shape == (2,)
    # what fastai's own predict gives on one training-length crop, the windowed predict gives on that crop
    crop = write(tmp_path / 'crop.wav', tone(300.0, 16000, 0.5), 16000)
    torch.testing.assert_close(learn.predict(crop)[2], Learner_predict(learn, crop))


def Learner_predict(learn, f):
    from fastai.learner import Learner
    x = learn._audio(f)
    return Learner.predict(learn, x)[2]


def test_predict_arrays_and_tensors_like_their_file(tone_learner, tmp_path):
    y = tone(3000.0, 16000, 1.3)
    f = write(tmp_path / 'high.wav', y, 16000)
    want = tone_learner.predict(f)[2]
    torch.testing.assert_close(tone_learner.predict(y, sr=16000)[2], want, atol=1e-4, rtol=0)   # 16-bit file
    torch.testing.assert_close(tone_learner.predict(AudioTensor(torch.from_numpy(y)[None], sr=16000))[2],
                               tone_learner.predict(y, sr=16000)[2])
    y8 = y[::2].copy()                                                      # an 8 kHz array is resampled
    assert tone_learner.predict(y8, sr=8000)[0] == tone_learner.predict(y, sr=16000)[0]
    with pytest.raises(ValueError, match='sample rate'):
        tone_learner.predict(y)


def test_timeline_plot_draws_spectrogram_and_class_curves(tone_learner, tmp_path):
    f = write(tmp_path / 'mix.wav', np.concatenate([tone(300.0, 16000, 1.0), tone(3000.0, 16000, 1.0)]), 16000)
    *_, tl = tone_learner.predict(f, with_timeline=True)
    plt.close('all')
    ax0, ax1 = tl.plot(k=2)
    assert ax0.images and {l.get_label() for l in ax1.get_lines()} == {'low', 'high'}
    low = tl.probs[:, list(tl.vocab).index('low')]
    assert float(low[0]) > 0.5 > float(low[-1])                  # the timeline follows the sound
    plt.close('all')


def test_predict_folder_to_csv_with_skips(tone_learner, tmp_path):
    d = tmp_path / 'inbox'
    (d / 'sub').mkdir(parents=True)
    write(d / 'a_low.wav', tone(300.0, 16000, 1.7), 16000)
    write(d / 'sub' / 'b_high.wav', tone(3000.0, 16000, 0.3), 16000)        # shorter than a window
    (d / 'broken.wav').write_bytes(b'RIFF not really')
    with pytest.raises(AudioLoadError, match='broken.wav'):
        tone_learner.predict_folder(d)
    with pytest.warns(UserWarning, match='skipped .*broken.wav'):
        df = tone_learner.predict_folder(d, csv=tmp_path / 'out.csv', on_error='skip', bs=2)
    assert list(df.columns) == ['file', 'label', *tone_learner.dls.vocab]
    assert sorted(df.file) == ['a_low.wav', 'sub/b_high.wav']
    assert df.attrs['skipped'].file.tolist() == [str(d / 'broken.wav')]
    assert 'not a readable audio file' in df.attrs['skipped'].reason[0]
    read = pd.read_csv(tmp_path / 'out.csv')
    assert read.file.tolist() == df.file.tolist()
    row = df.set_index('file').loc['a_low.wav']
    probs = tone_learner.predict(d / 'a_low.wav')[2]
    assert row.label == 'low' and row['low'] == pytest.approx(float(probs[list(tone_learner.dls.vocab).index('low')]), abs=1e-6)
