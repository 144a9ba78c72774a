import matplotlib.pyplot as plt
import pytest
import timm
import torch
import torchvision
from torch import nn

from training_setups import CLASSIC_MIN_ACCURACY, classic_learner, outcome_classic
from fastai_audio import (AudioSpectrogram, ClassificationInterpretation, SpecNormalize, accuracy, adapt_first_conv,
                          adapt_input_conv, audio_learner, create_cnn, load_learner, models, set_seed)


def test_rule_sum_makes_one_channel_equal_to_grey_rgb():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    one = nn.Conv2d(1, 8, 3, padding=1)
    with torch.no_grad():
        one.weight.copy_(adapt_input_conv(conv.weight, 1))
        one.bias.copy_(conv.bias)
    x = torch.randn(2, 1, 10, 12)
    torch.testing.assert_close(one(x), conv(x.expand(-1, 3, -1, -1)), atol=1e-5, rtol=1e-5)
    w = torch.randn(4, 3, 1, 1)
    w6 = adapt_input_conv(w, 6)
    torch.testing.assert_close(w6.sum(1), w.sum(1))          # same response to a constant input
    w5 = adapt_input_conv(w, 5)
    assert w5.shape == (4, 5, 1, 1)
    torch.testing.assert_close(w5[:, 3:], w[:, :2] * 3 / 5)
    torch.testing.assert_close(adapt_input_conv(w, 2), w[:, :2] * 3 / 2)
    assert adapt_input_conv(w, 3) is w


def test_plain_module_first_conv_adapted():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    w = net[0].weight.detach().clone()
    adapt_first_conv(net, 1)
    assert net[0].in_channels == 1
    torch.testing.assert_close(net[0].weight, w.sum(1, keepdim=True))
    with pytest.raises(ValueError, match='no nn.Conv2d'):
        adapt_first_conv(nn.Linear(3, 3), 1)


def _fabricated_resnet18():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).state_dict()


def test_torchvision_pretrained_weights_load_and_sum(classic_dls, tmp_path, monkeypatch):
    "A fabricated checkpoint in torch hub's cache, under the real file name, is what pretrained=True loads."
    sd = _fabricated_resnet18()
    url = torchvision.models.ResNet18_Weights.DEFAULT.url
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    torch.save(sd, tmp_path / 'hub' / 'checkpoints' / url.rsplit('/', 1)[1])
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    learn = audio_learner(classic_dls, models.resnet18, pretrained=True, metrics=accuracy)
    body = learn.model[0]
    assert body[0].in_channels == 1
    torch.testing.assert_close(body[0].weight, sd['conv1.weight'].sum(1, keepdim=True))
    torch.testing.assert_close(body[4][0].conv1.weight, sd['layer1.0.conv1.weight'])
    assert not body[4][0].conv1.weight.requires_grad            # frozen like vision_learner
    assert learn.model[1][-1].out_features == 5


def _timm_checkpoint(name, folder, seed):
    "A checkpoint file in timm's format (a plain state_dict) with random weights, and those weights."
    torch.manual_seed(seed)
    sd = timm.create_model(name, pretrained=False).state_dict()
    torch.save(sd, folder / f'{name}.pth')
    return folder / f'{name}.pth', sd


def test_timm_pretrained_weights_load_and_sum(classic_dls, tmp_path):
    ckpt, sd = _timm_checkpoint('resnet18', tmp_path, 1)
    learn = audio_learner(classic_dls, 'resnet18', pretrained=True, pretrained_cfg_overlay=dict(file=str(ckpt)))
    conv1 = learn.model[0].model.conv1
    assert conv1.in_channels == 1
    torch.testing.assert_close(conv1.weight, sd['conv1.weight'].sum(1, keepdim=True))


def test_timm_convnext_tiny_by_name(classic_dls):
    learn = audio_learner(classic_dls, 'convnext_tiny', pretrained=False)
    x, _ = classic_dls.one_batch()
    with torch.no_grad(): out = learn.model.eval()(x)
    assert out.shape == (8, 5)


def test_normalisation_added_when_missing(synth_path):
    from fastai_audio import AudioItemList, NSYNTH_PATTERN, get_frequency_batch_transforms
    tfms = get_frequency_batch_transforms(normalize=None)
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=16, tfms=tfms, num_workers=0))
    assert not any(isinstance(t, SpecNormalize) for t in dls.after_batch.fs)
    audio_learner(dls, models.resnet18, pretrained=False)
    norm = [t for t in dls.after_batch.fs if isinstance(t, SpecNormalize)]
    assert len(norm) == 1 and -80 < norm[0].mean < 0 and norm[0].std > 1
    x = dls.one_batch()[0]
    assert abs(float(x.mean())) < 0.5 and 0.5 < float(x.std()) < 1.5


def test_waveform_batches_are_refused(synth_path):
    from fastai_audio import AudioItemList, NSYNTH_PATTERN
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=4, tfms=[], num_workers=0))
    with pytest.raises(TypeError, match='MelSpectrogram'):
        audio_learner(dls, models.resnet18, pretrained=False)


# the tests of the trained learner share one fit: with xdist (`--dist loadgroup`) they run on one worker
with_trained = pytest.mark.xdist_group('test_learner.trained')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "The classic recipe trained from scratch (training_setups.classic_learner: 0.90-0.97 over 8 seeds)."
    return classic_learner(tmp_path_factory.mktemp('learn'))


@with_trained
def test_classic_learner_learns(trained):
    assert outcome_classic(trained)['valid accuracy'] >= CLASSIC_MIN_ACCURACY       # 5 classes: chance is 0.2


@with_trained
def test_interpretation_for_audio(trained):
    vocab = list(trained.dls.vocab)
    interp = ClassificationInterpretation.from_learner(trained)
    plt.close('all')
    interp.plot_confusion_matrix(figsize=(10, 10), dpi=60)
    ax = plt.gcf().axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == vocab
    for a, b, n in interp.most_confused():
        assert a in vocab and b in vocab and n >= 1
    plt.close('all')
    interp.plot_top_losses(3)
    axes = [a for a in plt.gcf().axes if a.images]
    assert len(axes) == 3
    for a in axes:
        pred, actual, loss, prob = a.get_title().split(' / ')
        assert pred in vocab and actual in vocab and float(loss) >= 0 and 0 < float(prob) <= 1
    plt.close('all')
    trained.show_results(max_n=4)
    axes = [a for a in plt.gcf().axes if a.images]
    assert len(axes) == 4 and all(a.get_title().split('\n')[0] in vocab for a in axes)


@with_trained
def test_predict_export_and_load_learner_roundtrip(trained, tmp_path):
    f = sorted((trained.data_path / 'valid').glob('*.wav'))[0]
    label, idx, probs = trained.predict(f)
    assert label in trained.dls.vocab and float(probs.sum()) == pytest.approx(1, abs=1e-5)
    trained.export(tmp_path / 'learner.pkl')
    loaded = load_learner(tmp_path / 'learner.pkl')
    label2, idx2, probs2 = loaded.predict(f)
    assert label2 == label and torch.equal(probs2, probs)
    x, _ = trained.dls.valid.one_batch()
    assert isinstance(x, AudioSpectrogram)


def test_convnext_pretrained_adapts_stem_and_freezes_like_vision(classic_dls, tmp_path):
    "convnext_atto: convnext_tiny's layout (stem, stages of blocks, norms) at an eighth of the cost."
    ckpt, sd = _timm_checkpoint('convnext_atto', tmp_path, 2)
    learn = audio_learner(classic_dls, 'convnext_atto', pretrained=True, pretrained_cfg_overlay=dict(file=str(ckpt)))
    body, head = learn.model[0], learn.model[1]
    stem = body.model.stem[0]
    assert stem.in_channels == 1
    torch.testing.assert_close(stem.weight, sd['stem.0.weight'].sum(1, keepdim=True))
    learn.create_opt()                                    # as fit does: the body starts frozen, norms train
    frozen = {n for n, p in body.named_parameters() if not p.requires_grad}
    assert 'model.stem.0.weight' in frozen and 'model.stages.0.blocks.0.conv_dw.weight' in frozen
    assert not any('norm' in n for n in frozen) and all(p.requires_grad for p in head.parameters())
    conv_dw = body.model.stages[0].blocks[0].conv_dw.weight
    before, head_before = conv_dw.detach().clone(), head[-1].weight.detach().clone()
    learn.fit(1, 1e-3)
    assert torch.equal(conv_dw, before) and not torch.equal(head[-1].weight, head_before)
    learn.fine_tune(1, 1e-3)                              # one frozen epoch, then everything trains
    assert all(p.requires_grad for p in learn.model.parameters())
    assert not torch.equal(conv_dw, before)


def test_a_learner_on_precomputed_spectrogram_tensors_trains_and_says_what_it_cannot_do():
    "Plain tensor loaders (spectrograms made beforehand) train; the spec that export needs names why it is missing."
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai_audio import audio_learner
    from fastai_audio.learn.learner import NotAudioError
    torch.manual_seed(0)
    X, Y = torch.randn(16, 1, 40, 32), torch.arange(16) % 2
    dls = DataLoaders(DataLoader(list(zip(X, Y)), bs=8, shuffle=True), DataLoader(list(zip(X[:8], Y[:8])), bs=8))
    learn = audio_learner(dls, torchvision.models.resnet18(num_classes=2), normalize=False, metrics=[],
                          loss_func=nn.CrossEntropyLoss())
    assert learn.model.conv1.in_channels == 1
    learn.fit(1, 1e-3)
    with pytest.raises(NotAudioError, match='hold Tensor items, not audio'):
        learn.spec
