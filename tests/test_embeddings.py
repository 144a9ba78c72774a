"""Embedding transfer: embedders (learner body, PANNs Cnn14 checkpoints, Hugging Face), cache, frame loaders,
head, clip-level scores and the waveform-in export."""
import librosa
import numpy as np
import pytest
import torch

from conftest import tone, write
from fastai_audio import (AudioEmbedder, AudioItemList, Cnn14, EmbeddingCache, EmbeddingClassifier, NSYNTH_PATTERN,
                          audio_learner, embedding_dataloaders, embedding_learner, export_embedding_model, models,
                          set_seed, window_starts)


@pytest.fixture(scope='module')
def audio_dls(synth_path):
    return (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
            .databunch(bs=8, duration=0.5, num_workers=0))


@pytest.fixture(scope='module')
def embedder(audio_dls):
    set_seed(0, reproducible=True)
    learn = audio_learner(audio_dls, models.resnet18, pretrained=False)
    learn.fit(1, 1e-3)
    return AudioEmbedder.from_learner(learn)


def test_learner_body_embeds_yamnet_frames(embedder):
    y = torch.from_numpy(tone(440.0, 16000, 2.5))
    e = embedder.embed(y)
    n = len(window_starts(len(y), 15360, 7680))                     # 0.96 s every 0.48 s at 16 kHz
    assert e.shape == (n, 512) and embedder.dim == 512
    assert not any(p.requires_grad for p in embedder.parameters())  # frozen
    embedder.train()
    assert not embedder.encoder.training
    torch.testing.assert_close(embedder.embed(y), e)


def test_cache_is_keyed_by_content_and_settings(embedder, tmp_path):
    f = write(tmp_path / 'a.wav', tone(440.0, 16000, 1.5), 16000)
    load = lambda: torch.from_numpy(librosa.load(f, sr=16000)[0])
    cache = EmbeddingCache(tmp_path / 'cache', embedder)
    e1 = cache(f, load)
    e2 = cache(f, load)
    assert (cache.misses, cache.hits) == (1, 1) and torch.equal(e1, e2)
    write(f, tone(660.0, 16000, 1.5), 16000)                        # same name, new content: embedded again
    cache(f, load)
    assert cache.misses == 2
    other = AudioEmbedder(embedder.encoder, 16000, window=0.96, hop=0.24)
    assert EmbeddingCache(tmp_path / 'cache', other).tag != cache.tag
    assert len(list((tmp_path / 'cache').glob('*.npy'))) == 2


def test_frames_repeat_label_and_split_and_clips_average(embedder, audio_dls, tmp_path):
    edls = embedding_dataloaders(embedder, audio_dls, cache=tmp_path / 'cache', num_workers=0)
    per_clip = len(window_starts(16000, 15360, 7680))                # the synthetic clips last 1 s
    assert len(edls.train_ds) == per_clip * len(audio_dls.train_ds)
    assert len(edls.valid_ds) == per_clip * len(audio_dls.valid_ds)
    assert list(edls.vocab) == list(audio_dls.vocab)
    ids = edls.clip_ids[1]
    for j in range(0, len(edls.valid_ds), 7):                         # a frame has its clip's label
        assert int(edls.valid_ds[j][1]) == int(audio_dls.valid_ds.tls[1][int(ids[j])])
    again = embedding_dataloaders(embedder, audio_dls, cache=tmp_path / 'cache', num_workers=0)
    assert again.cache.misses == 0 and again.cache.hits == len(audio_dls.train_ds) + len(audio_dls.valid_ds)
    set_seed(0, reproducible=True)
    head = embedding_learner(edls)
    assert [type(m).__name__ for m in head.model] == ['Linear', 'ReLU', 'Dropout', 'Linear']
    head.fit_one_cycle(4, 3e-3)
    preds, targs = head.get_clip_preds()
    assert preds.shape == (len(audio_dls.valid_ds), len(edls.vocab))
    fp, _ = head.get_preds(dl=edls.valid.new(shuffle=False, drop_last=False))
    torch.testing.assert_close(preds[3], fp[ids == 3].mean(0))
    acc = head.clip_validate()['accuracy']
    assert acc == pytest.approx(float((preds.argmax(1) == targs).float().mean()))
    # the embedder and the head as one waveform-in model, exported
    model = EmbeddingClassifier(embedder, head.model)
    y = torch.from_numpy(tone(700.0, 16000, 2.0))
    with torch.no_grad():
        want = torch.softmax(head.model.eval()(embedder.embed(y)), -1).mean(0)
        torch.testing.assert_close(model(y), want, atol=1e-5, rtol=0)
    path = export_embedding_model(embedder, head, tmp_path / 'exported')
    import onnxruntime as ort
    ts = torch.jit.load(str(path / 'model.ts'))
    onnx = ort.InferenceSession(str(path / 'model.onnx'))
    with torch.no_grad(): torch.testing.assert_close(ts(y), want, atol=1e-4, rtol=0)
    np.testing.assert_allclose(onnx.run(None, {'waveform': y.numpy()})[0], want.numpy(), atol=1e-4)


OFFICIAL_CNN14_KEYS = (['spectrogram_extractor.stft.conv_real.weight', 'spectrogram_extractor.stft.conv_imag.weight',
                        'logmel_extractor.melW'] +
                       [f'bn0.{k}' for k in ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')] +
                       [f'conv_block{i}.{m}' for i in range(1, 7) for m in
                        ['conv1.weight', 'conv2.weight'] + [f'{bn}.{k}' for bn in ('bn1', 'bn2') for k in
                         ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')]] +
                       ['fc1.weight', 'fc1.bias', 'fc_audioset.weight', 'fc_audioset.bias'])


def test_cnn14_has_the_official_layout_and_front_end():
    net = Cnn14()
    sd = net.state_dict()
    assert sorted(sd) == sorted(OFFICIAL_CNN14_KEYS)
    assert sd['spectrogram_extractor.stft.conv_real.weight'].shape == (513, 1, 1024)
    assert sd['logmel_extractor.melW'].shape == (513, 64) and sd['fc_audioset.weight'].shape == (527, 2048)
    y = (np.random.default_rng(0).standard_normal(32000) * 0.1).astype(np.float32)
    with torch.no_grad():
        got = net.logmel_extractor(net.spectrogram_extractor(torch.from_numpy(y)[None]))[0, 0].T.numpy()
    want = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=32000, n_fft=1024, hop_length=320,
                                                              pad_mode='reflect', n_mels=64, fmin=50, fmax=14000),
                               ref=1.0, amin=1e-10, top_db=None)
    np.testing.assert_allclose(got, want, atol=2e-3)


def test_tiny_cnn14_checkpoint_in_the_official_format_loads_strictly(tmp_path):
    torch.manual_seed(0)
    tiny = Cnn14(sample_rate=16000, window_size=512, hop_size=160, mel_bins=64, fmin=50, fmax=8000, classes_num=7,
                 widths=(4, 8, 8, 8, 8, 16))
    ckpt = tmp_path / 'Cnn14_16k_tiny.pth'
    torch.save({'iteration': 10, 'model': tiny.state_dict()}, ckpt)
    emb = AudioEmbedder.from_panns(ckpt)
    assert emb.sample_rate == 16000 and emb.encoder.cnn14.hop_size == 160      # 512-point window: the 16 kHz model
    e = emb.embed(torch.from_numpy(tone(440.0, 16000, 2.0)))
    assert e.shape == (len(window_starts(32000, 15360, 7680)), 16)
    torch.testing.assert_close(emb.encoder.cnn14.logmel_extractor.melW, tiny.logmel_extractor.melW)
    bad = {k: v for k, v in tiny.state_dict().items() if k != 'fc1.bias'}
    torch.save({'model': bad}, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match=r"missing keys \['fc1.bias'\], unexpected keys \[\]"):
        Cnn14.from_checkpoint(tmp_path / 'bad.pth')


def test_hugging_face_encoder_from_a_saved_folder(tmp_path):
    transformers = pytest.importorskip('transformers')
    cfg = transformers.Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                      conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 4),
                                      num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    torch.manual_seed(0)
    transformers.Wav2Vec2Model(cfg).save_pretrained(tmp_path / 'tiny-w2v2')
    transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(tmp_path / 'tiny-w2v2')
    emb = AudioEmbedder.from_hf(str(tmp_path / 'tiny-w2v2'))
    e = emb.embed(torch.from_numpy(tone(440.0, 16000, 1.5)))
    assert emb.sample_rate == 16000 and e.shape == (len(window_starts(24000, 15360, 7680)), 16)
    assert torch.isfinite(e).all()


def test_hugging_face_ast_goes_through_its_feature_extractor(tmp_path):
    transformers = pytest.importorskip('transformers')
    cfg = transformers.ASTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                 max_length=96, num_mel_bins=128, frequency_stride=10, time_stride=10)
    torch.manual_seed(0)
    transformers.ASTModel(cfg).save_pretrained(tmp_path / 'tiny-ast')
    transformers.ASTFeatureExtractor(max_length=96).save_pretrained(tmp_path / 'tiny-ast')
    emb = AudioEmbedder.from_hf(str(tmp_path / 'tiny-ast'))
    e = emb.embed(torch.from_numpy(tone(440.0, 16000, 1.5)))
    assert e.shape == (len(window_starts(24000, 15360, 7680)), 16) and torch.isfinite(e).all()
