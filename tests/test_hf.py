"Hugging Face audio encoders as architectures: tiny models saved with save_pretrained, offline."
import sys

import numpy as np
import pytest
import torch

from conftest import tone, write
from fastai_audio import (AudioDataLoaders, AudioTensor, HFAudioClassifier, audio_learner, create_audio_model,
                          export_waveform_model, load_waveform_model, set_seed, waveform_model)

transformers = pytest.importorskip('transformers')

_TINY = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, conv_dim=(8, 8),
             conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
             feat_extract_norm='layer', do_stable_layer_norm=True)


def _save(folder, family='Wav2Vec2'):
    "A tiny raw-waveform model of `family` (wav2vec2, HuBERT, WavLM) and its feature extractor in `folder`."
    torch.manual_seed(0)
    cfg = getattr(transformers, f'{family}Config')(**_TINY)
    getattr(transformers, f'{family}Model')(cfg).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True,
                                          return_attention_mask=True).save_pretrained(folder)
    return f'hf:{folder}'


def _padded(clips):
    "A batch `(n, 1, longest)` of the clips padded with zeros, its lengths recorded as `pad_to_longest` does."
    n = max(len(c) for c in clips)
    x = AudioTensor(torch.stack([torch.nn.functional.pad(torch.as_tensor(c), (0, n - len(c))) for c in clips])[:, None],
                    sr=16000)
    x.lengths = torch.tensor([len(c) for c in clips])
    return x


@pytest.mark.parametrize('family', ['Wav2Vec2', 'Hubert', 'WavLM'])
def test_a_padded_clip_is_heard_as_it_is_heard_alone(tmp_path, family):
    "The attention mask, normalisation and pooling cover the real samples only, and a training step runs."
    model = create_audio_model(_save(tmp_path / 'm', family), n_out=3).eval()
    short, long_ = tone(440.0, 16000, 0.3).astype(np.float32), tone(880.0, 16000, 0.5).astype(np.float32)
    with torch.no_grad():
        both = model(_padded([long_, short]))
        alone = model(torch.from_numpy(short)[None, None])
    torch.testing.assert_close(both[1], alone[0], atol=1e-5, rtol=0)
    model.train()
    loss = torch.nn.functional.cross_entropy(model(_padded([long_, short])), torch.tensor([0, 2]))
    loss.backward()
    assert torch.isfinite(loss) and model.head[1].weight.grad.abs().sum() > 0


def test_waveform_normalisation_is_the_feature_extractors(tmp_path):
    from fastai_audio.backbones.hf import _normalize
    fe = transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True, return_attention_mask=True)
    rng = np.random.default_rng(0)
    clips = [rng.normal(0.3, 2.0, 4000).astype(np.float32), rng.normal(0, 0.1, 2500).astype(np.float32)]
    want = fe(clips, sampling_rate=16000, padding=True, return_tensors='pt')
    x = _padded(clips)[:, 0].as_subclass(torch.Tensor)
    got = _normalize(x, want['attention_mask'].bool())
    torch.testing.assert_close(got, want['input_values'], atol=1e-5, rtol=1e-5)


@pytest.fixture(scope='module')
def tones_of_many_lengths(tmp_path_factory):
    "low (300 Hz) and high (3 kHz) tones of 0.3-1.0 s, train/ and valid/ folders by class."
    root = tmp_path_factory.mktemp('hf_tones')
    for split in ('train', 'valid'):
        for i in range(8):
            label = ('low', 'high')[i % 2]
            (root / split / label).mkdir(parents=True, exist_ok=True)
            write(root / split / label / f'{i}.wav', tone(300.0 if label == 'low' else 3000.0, 16000, 0.3 + 0.1 * i), 16000)
    return root


def test_fine_tuning_keeps_the_feature_encoder_and_exports_what_predict_gives(tones_of_many_lengths, tmp_path):
    name = _save(tmp_path / 'w2v2')
    dls = AudioDataLoaders.from_folder(tones_of_many_lengths, front_end=name, bs=4, num_workers=0, seed=0)
    x, _ = dls.one_batch()
    assert x.ndim == 3 and len(set(x.lengths.tolist())) > 1            # samples, padded to the longest of the batch
    set_seed(0)
    learn = audio_learner(dls, name)                                   # pretrained: the saved weights, body frozen
    assert isinstance(learn.model, HFAudioClassifier)
    trainable = {n for n, q in learn.model.named_parameters() if q.requires_grad}
    # frozen as vision learners freeze (fastai's train_bn keeps the normalisation layers training)
    assert {n for n in trainable if 'norm' not in n} == {'head.1.weight', 'head.1.bias'}
    assert not any('feature_extractor' in n for n in trainable)
    conv = learn.model.body.model.feature_extractor.conv_layers[0].conv.weight.detach().clone()
    layers = {n: q.detach().clone() for n, q in learn.model.body.model.encoder.layers.named_parameters()}
    learn.fine_tune(1, 1e-3)
    assert torch.equal(learn.model.body.model.feature_extractor.conv_layers[0].conv.weight, conv)
    assert any(not torch.equal(q, layers[n]) for n, q in learn.model.body.model.encoder.layers.named_parameters())
    y = tone(300.0, 16000, 0.7)
    probs = learn.predict(y, sr=16000)[2]
    with torch.no_grad(): torch.testing.assert_close(waveform_model(learn)(torch.from_numpy(y)), probs, atol=1e-4, rtol=0)
    out = export_waveform_model(learn, tmp_path / 'export', formats=('safetensors', 'torchscript'))
    ts = torch.jit.load(str(out / 'model.ts'))
    with torch.no_grad(): torch.testing.assert_close(ts(torch.from_numpy(y)), probs, atol=1e-4, rtol=0)
    served = load_waveform_model(out)                       # rebuilt from its config: create_audio_model(name)
    with torch.no_grad(): torch.testing.assert_close(served(torch.from_numpy(y)), probs, atol=1e-4, rtol=0)


def test_ast_takes_its_own_filterbank_in_a_learner(tones_of_many_lengths, tmp_path):
    cfg = transformers.ASTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                 max_length=96, num_mel_bins=128, frequency_stride=10, time_stride=10)
    torch.manual_seed(0)
    transformers.ASTModel(cfg).save_pretrained(tmp_path / 'ast')
    transformers.ASTFeatureExtractor(max_length=96).save_pretrained(tmp_path / 'ast')
    name = f'hf:{tmp_path / "ast"}'
    dls = AudioDataLoaders.from_folder(tones_of_many_lengths, front_end=name, bs=4, num_workers=0, seed=0)
    learn = audio_learner(dls, name, pretrained=False)
    learn.fit(1, 1e-3)
    assert learn.predict(tones_of_many_lengths / 'valid' / 'low' / '0.wav')[2].shape == (2,)


def test_the_loaders_rate_and_kind_are_checked(tones_of_many_lengths, tmp_path):
    name = _save(tmp_path / 'w2v2')
    at_8k = AudioDataLoaders.from_folder(tones_of_many_lengths, sr=8000, batch_tfms=[], bs=4, num_workers=0)
    with pytest.raises(ValueError, match=f"sample_rate=8000 where {name} expects 16000"):
        audio_learner(at_8k, name)
    spectrograms = AudioDataLoaders.from_folder(tones_of_many_lengths, bs=4, num_workers=0)
    with pytest.raises(ValueError, match=f"kind='mel' where {name} expects 'waveform'"):
        audio_learner(spectrograms, name)


def test_without_transformers_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'transformers', None)
    with pytest.raises(ImportError, match=r'pip install "fastai_audio\[hf\]"'):
        create_audio_model('hf:facebook/wav2vec2-base', 2)
