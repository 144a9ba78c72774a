"""The public API, read from the package itself: every module's `__all__` lists what it defines and nothing it
re-exports, every public definition is listed (in `__all__`, or as public-internal in `__internal__`), each
subpackage's `__all__` is the union of its modules', no private name crosses a module boundary, and no name of
ours hides a different object of `fastai.vision.all` in `from fastai_audio import *`."""
import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest
import torch

import fastai_audio

PKG = Path(fastai_audio.__file__).parent
EXTENSIONS = ('dispatch', 'patch', 'typedispatch', 'delegates')   # decorators that extend another object


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


MODULES = sorted(_module_name(p) for p in PKG.rglob('*.py') if p.name != '__init__.py')
SUBPACKAGES = sorted(_module_name(p) for p in PKG.rglob('__init__.py') if p.parent != PKG)


def _source(module: str) -> ast.Module:
    path = PKG.parent / (module.replace('.', '/') + '.py')
    return ast.parse(path.read_text())


def _decorator_names(node) -> set:
    names = set()
    for d in node.decorator_list:
        d = d.func if isinstance(d, ast.Call) else d
        names.add(d.attr if isinstance(d, ast.Attribute) else getattr(d, 'id', None))
    return names


def _defined(tree: ast.Module) -> tuple[set, set]:
    "(public functions and classes, every top-level name assigned or defined) of a module's source."
    defs, assigned = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            assigned.add(node.name)
            if not node.name.startswith('_') and not _decorator_names(node) & set(EXTENSIONS): defs.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                assigned |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    return defs, assigned


@pytest.mark.parametrize('module', MODULES)
def test_all_lists_what_the_module_defines_and_every_public_definition(module):
    m = importlib.import_module(module)
    assert hasattr(m, '__all__'), f'{module} has no __all__'
    defs, assigned = _defined(_source(module))
    internal = tuple(getattr(m, '__internal__', ()))
    missing = [n for n in m.__all__ if not hasattr(m, n)]
    assert not missing, f'{module}.__all__ names what the module lacks: {missing}'
    foreign = [n for n in m.__all__ if n not in assigned]
    assert not foreign, f'{module}.__all__ re-exports names defined elsewhere: {foreign}'
    unlisted = sorted(defs - set(m.__all__) - set(internal))
    assert not unlisted, (f'{module} defines public {unlisted} that neither __all__ nor __internal__ lists: add them '
                          f'(user API to __all__, package-only to __internal__) or prefix an underscore')
    stale = [n for n in internal if n not in assigned]
    assert not stale, f'{module}.__internal__ names what the module does not define: {stale}'
    others = ' '.join(p.read_text() for p in PKG.rglob('*.py') if _module_name(p) != module)
    unused = [n for n in internal if not re.search(rf'\b{n}\b', others)]
    assert not unused, f'{module}.__internal__ lists {unused}, which no other module uses: prefix an underscore'
    undocumented = [n for n in internal if callable(getattr(m, n)) and not (getattr(m, n).__doc__ or '').strip()]
    assert not undocumented, f'{module}: public-internal {undocumented} need a docstring'
    both = set(internal) & set(m.__all__)
    assert not both, f'{module}: {sorted(both)} in both __all__ and __internal__'


@pytest.mark.parametrize('package', SUBPACKAGES)
def test_a_subpackage_all_is_the_union_of_its_modules(package):
    pkg = importlib.import_module(package)
    modules = sorted(m for m in MODULES if m.rpartition('.')[0] == package)
    union = [n for m in modules for n in importlib.import_module(m).__all__]
    assert sorted(pkg.__all__) == sorted(union), f'{package}.__all__ differs from its modules\' {modules}'
    assert len(set(union)) == len(union), f'a name is in two modules of {package}'


def test_every_layer_name_reaches_the_top_level_as_the_same_object():
    names = {}
    for layer in fastai_audio.LAYERS[:-2]:
        for n in importlib.import_module(f'fastai_audio.{layer}').__all__:
            assert n not in names, f'{n} is in the __all__ of both {names[n]} and {layer}'
            names[n] = layer
    assert 'default_num_workers' in names
    for n, layer in names.items():
        assert getattr(fastai_audio, n) is getattr(importlib.import_module(f'fastai_audio.{layer}'), n), n


def test_no_name_of_ours_hides_a_different_fastai_name():
    "`from fastai_audio import *` gives fastai.vision.all and ours: a name in both must be the same object."
    fastai = fastai_audio._fastai_all()
    clashes = [f'{layer}.{n} hides {getattr(fastai, n)!r}'
               for layer in fastai_audio.LAYERS[:-2] for n in importlib.import_module(f'fastai_audio.{layer}').__all__
               if hasattr(fastai, n) and getattr(fastai, n) is not getattr(fastai_audio, n)]
    assert not clashes, '\n'.join(clashes)
    # and no subpackage of ours takes a fastai name's place once imported (`models` is fastai's torchvision models)
    hidden = [n for n in fastai_audio.__all__ if hasattr(fastai, n) and getattr(fastai_audio, n) is not getattr(fastai, n)]
    assert not hidden, f'fastai names that fastai_audio hides: {hidden}'
    assert fastai_audio.models.resnet18 is fastai.resnet18
    import fastai.vision.augment
    assert fastai_audio.CropPad is fastai.vision.augment.CropPad        # fastai's image CropPad; ours is AudioCropPad
    assert 'CropPad' not in fastai_audio.data.__all__ and 'AudioCropPad' in fastai_audio.data.__all__


def test_no_private_name_is_imported_across_modules():
    "`from .x import _name` (at any depth, inside functions too) couples modules through what x keeps private."
    found = []
    for path in sorted(PKG.rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('fastai_audio')):
                found += [f'{path.relative_to(PKG.parent)}:{node.lineno} imports {a.name} from {node.module}'
                          for a in node.names if a.name.startswith('_') and not a.name.startswith('__')]
    assert not found, '\n'.join(found)


# --------------------------------------------------------------------------- progress to a file
def _tiny_net(n_out=5):
    from torch import nn
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, n_out))


def test_a_fit_to_a_file_writes_one_line_an_epoch(classic_dls, tmp_path):
    "stdout redirected to a file (not a terminal, not a notebook): the metric names, then one plain line an epoch."
    import contextlib
    from fastai_audio import PlainProgress, audio_learner, set_progress
    from fastai.callback.progress import ProgressCallback
    log = tmp_path / 'fit.log'
    with open(log, 'w') as f, contextlib.redirect_stdout(f):
        learn = audio_learner(classic_dls, _tiny_net(), pretrained=False)
        learn.fit(2, 1e-3)
    lines = log.read_text().splitlines()
    assert [l.split() for l in lines[:1]] == [['epoch', 'train_loss', 'valid_loss', 'accuracy', 'time']]
    assert [l.split()[0] for l in lines[1:]] == ['0', '1'] and all(len(l.split()) == 5 for l in lines[1:])
    assert '\r' not in log.read_text()
    assert not any(isinstance(c, ProgressCallback) for c in learn.cbs)
    set_progress(learn, 'bar')                                         # back to fastai's bars on request
    assert any(isinstance(c, ProgressCallback) for c in learn.cbs) and not any(isinstance(c, PlainProgress) for c in learn.cbs)
    with pytest.raises(ValueError, match="'lines'"): set_progress(learn, 'line')


# --------------------------------------------------------------------------- misspelt keywords
@pytest.fixture
def no_download(monkeypatch):
    "Any attempt to look weights up, download or open a connection fails the test loudly."
    import socket
    import torch.hub
    import fastai_audio.learn.learner as learner
    import fastai_audio.learn.sed as sed
    import fastai_audio.backbones.registry as registry
    import fastai_audio.datasets.recipes as recipes

    def fail(*args, **kwargs): raise AssertionError('a download or weights lookup was attempted')
    monkeypatch.setattr(socket.socket, 'connect', fail)
    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', fail)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', fail)
    for module, name in [(learner, 'check_and_locate'), (learner, 'create_vision_model'), (learner, 'create_timm_model'),
                         (learner, 'front_end_of'), (registry, 'create_audio_model'), (sed, 'create_body'),
                         (recipes, 'download_data')]:
        monkeypatch.setattr(module, name, fail)


def _entry_points():
    "(name, call with one misspelt keyword, the name the message must suggest); `dls` etc. are never reached."
    from torchvision.models import resnet18
    import fastai_audio as fa
    p = Path('/nonexistent')
    return [
        ('audio_learner torchvision', lambda: fa.audio_learner(None, resnet18, pretrianed=False), 'pretrained'),
        ('audio_learner metrics', lambda: fa.audio_learner(None, resnet18, metrcs=[]), 'metrics'),
        ('audio_learner timm', lambda: fa.audio_learner(None, 'resnet18', pretrianed=False), 'pretrained'),
        ('audio_learner backbone', lambda: fa.audio_learner(None, 'panns_cnn14', checkpiont='x.pth'), 'checkpoint'),
        ('audio_learner module', lambda: fa.audio_learner(None, _tiny_net(), lossfunc=None), 'loss_func'),
        ('create_cnn', lambda: fa.create_cnn(None, resnet18, pretrianed=False), 'pretrained'),
        ('cross_validate', lambda: fa.cross_validate(None, resnet18, metrcs=[]), 'metrics'),
        ('sed_learner', lambda: fa.sed_learner(None, resnet18, pretrianed=False), 'pretrained'),
        ('sed_learner speed', lambda: fa.sed_learner(None, resnet18, mixed_precison='bf16'), 'mixed_precision'),
        ('embedding_learner', lambda: fa.embedding_learner(None, hiden=64), 'hidden'),
        ('embedding_dataloaders', lambda: fa.embedding_dataloaders(None, None, bs_=8), 'bs'),
        ('sed_dataloaders', lambda: fa.sed_dataloaders(p / 'e.csv', p, valid_pc=0.1), 'valid_pct'),
        ('from_folder', lambda: fa.AudioDataLoaders.from_folder(p, valid_pc=0.2), 'valid_pct'),
        ('from_folder crop', lambda: fa.AudioDataLoaders.from_folder(p, trian_crop='start'), 'train_crop'),
        ('from_path_func', lambda: fa.AudioDataLoaders.from_path_func(p, [], str, sed=0), 'seed'),
        ('from_name_re', lambda: fa.AudioDataLoaders.from_name_re(p, [], r'(\w+)', valid_pcnt=0.2), 'valid_pct'),
        ('from_df', lambda: fa.AudioDataLoaders.from_df(None, fn_cl=0), 'fn_col'),
        ('from_csv', lambda: fa.AudioDataLoaders.from_csv(p, label_dlim=','), 'label_delim'),
        ('databunch', lambda: fa.AudioItemList([]).databunch(b=8), 'bs'),
        ('esc50_dataloaders', lambda: fa.esc50_dataloaders(p, valid_fld=1), 'valid_fold'),
        ('nsynth_dataloaders', lambda: fa.nsynth_dataloaders(p, tsk='pitch'), 'task'),
        ('fsdkaggle2019_dataloaders', lambda: fa.fsdkaggle2019_dataloaders(p, duraton=2.0), 'duration'),
        ('urbansed_dataloaders', lambda: fa.urbansed_dataloaders(p, num_worker=0), 'num_workers'),
        ('desed_dataloaders', lambda: fa.desed_dataloaders(p, weak_cvs=None), 'weak_csv'),
    ]


@pytest.mark.parametrize('name', [e[0] for e in _entry_points()])
def test_a_misspelt_keyword_is_refused_with_the_nearest_name_before_anything_else(name, no_download):
    call, nearest = {n: (c, k) for n, c, k in _entry_points()}[name]
    with pytest.raises(TypeError, match=rf"unexpected keyword argument '\w+' \(did you mean '{nearest}'"):
        call()


def test_timm_model_arguments_still_reach_timm(classic_dls):
    "A timm name passes timm's own keywords on (here `drop_rate`); only one close to a known name is refused."
    from fastai_audio import audio_learner
    learn = audio_learner(classic_dls, 'resnet18', pretrained=False, drop_rate=0.25)
    assert learn.model[0].model.drop_rate == 0.25


# --------------------------------------------------------------------------- AudioBlock settings in the factories
def test_every_audio_block_setting_reaches_the_factories(synth_path):
    "valid_crop='centre' and pad='repeat' given to a factory are what its validation items get."
    import inspect
    from fastai_audio import AudioBlock, AudioCropPad, AudioDataLoaders, AudioItemList, NSYNTH_PATTERN
    from fastai_audio.data.blocks import AUDIO_SETTINGS, factory_keywords
    assert set(AUDIO_SETTINGS) == set(inspect.signature(AudioBlock).parameters) - {'sr', 'duration', 'mono'}
    for f in (AudioDataLoaders.from_folder, AudioDataLoaders.from_df, AudioItemList.databunch):
        assert set(AUDIO_SETTINGS) <= factory_keywords(f)
    dls = AudioDataLoaders.from_name_re(synth_path, sorted(synth_path.rglob('*.wav')), NSYNTH_PATTERN, duration=0.4,
                                        valid_crop='centre', pad='repeat', train_crop='start', batch_tfms=[], bs=2,
                                        num_workers=0)
    crop = next(t for t in dls.valid.after_item.fs if isinstance(t, AudioCropPad))
    assert (crop.train_mode, crop.valid_mode, crop.pad) == ('start', 'centre', 'repeat')
    from fastai_audio import load_audio
    f = dls.valid_ds.items[0]
    whole = load_audio(f, sr=16000)
    x = dls.valid_ds[0][0]
    start = (whole.shape[-1] - x.shape[-1]) // 2
    torch.testing.assert_close(x.as_subclass(torch.Tensor), whole.as_subclass(torch.Tensor)[..., start:start + x.shape[-1]])


# --------------------------------------------------------------------------- one name for the sample rate
def test_the_sample_rate_parameter_is_sr_everywhere_but_panns():
    """Public functions and classes take `sr` (librosa's name); the PANNs classes keep the official code's names, and
    `FrontEnd` and `EmbeddingSpec` their field `sample_rate` (a key of every saved config.json)."""
    import inspect
    found = []
    for layer in fastai_audio.LAYERS[:-2]:
        mod = importlib.import_module(f'fastai_audio.{layer}')
        for n in mod.__all__:
            obj = getattr(mod, n)
            if getattr(obj, '__module__', '') == 'fastai_audio.backbones.panns' or n in ('FrontEnd', 'EmbeddingSpec'): continue
            fns = [obj] if inspect.isfunction(obj) else \
                [f for k, f in vars(obj).items() if inspect.isfunction(f) and (k == '__init__' or not k.startswith('_'))] \
                if inspect.isclass(obj) else []
            for f in fns:
                try: params = inspect.signature(f).parameters
                except (TypeError, ValueError): continue
                if 'sample_rate' in params: found.append(f'{n}.{f.__name__}' if f is not obj else n)
    assert not found, f'parameters still called sample_rate: {found}'


def test_sample_rate_is_still_taken_for_one_release_with_a_warning():
    from fastai_audio import MelSpectrogram, frame_times, get_frequency_batch_transforms, seconds_to_samples
    with pytest.warns(DeprecationWarning, match='`sample_rate` is renamed `sr`'):
        tfms = get_frequency_batch_transforms(sample_rate=22050)
    assert tfms[0].sample_rate == 22050 == get_frequency_batch_transforms(sr=22050)[0].sample_rate
    with pytest.warns(DeprecationWarning, match='MelSpectrogram'): assert MelSpectrogram(sample_rate=8000).sample_rate == 8000
    with pytest.warns(DeprecationWarning): assert seconds_to_samples(0.5, sample_rate=16000) == 8000
    with pytest.warns(DeprecationWarning): torch.testing.assert_close(frame_times(3, 160, sample_rate=16000), frame_times(3, 160, 16000))
    with pytest.raises(TypeError, match='not both'): get_frequency_batch_transforms(sr=16000, sample_rate=16000)


#: callables whose positional settings are someone else's convention: the PANNs classes mirror the official code,
#: fastai's learner and loader classes keep fastai's constructors, and the records (`FrontEnd`, the specs, `Event`)
#: are frozen dataclasses whose field order is their config's (the presets spell `FrontEnd`s positionally)
OTHERS_CONVENTION = {'Cnn6', 'Cnn10', 'Cnn14', 'panns_front_end', 'AudioDL', 'BalancedAudioDL', 'AudioDistributedDL',
                     'SEDLearner', 'EmbeddingLearner', 'AudioLearner', 'FrontEnd', 'AudioModelSpec', 'EmbeddingSpec',
                     'SEDSpec', 'Event', 'AudioTensor', 'AudioSpectrogram', 'WeightsSource', 'CrossValidation',
                     'AudioModelEntry', 'Timeline',
                     # compiled by TorchScript inside the served modules, which refuses keyword-only parameters
                     # with defaults
                     'aggregate_windows'}


def _settings_taken_by_position(f) -> list:
    "The defaulted parameters of `f` that can still be given by position past the leading ones."
    params = [p for p in inspect.signature(f).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ('self', 'cls')]
    n_req = sum(p.default is p.empty for p in params)
    leading = n_req + (1 if n_req <= 1 and len(params) > n_req else 0)
    return [p.name for p in params[leading:]]


def test_settings_are_keyword_only_after_the_leading_parameters():
    """Past the parameters that read naturally by position (the required ones, and the first setting of a callable
    with at most one required parameter: `load_audio(path, 16000)`, `PitchShift((-2, 2))`), settings are
    keyword-only, so `mel_filterbank(16000, 1024, 40)` or `crop_pad(x, n, 'start')` cannot bind to the wrong
    setting. At most one more positional setting is allowed (a pair such as `(x, n_fft)` + one)."""
    bad = []
    for layer in fastai_audio.LAYERS[:-2]:
        mod = importlib.import_module(f'fastai_audio.{layer}')
        for n in mod.__all__:
            obj = getattr(mod, n)
            if n in OTHERS_CONVENTION or not getattr(obj, '__module__', '').startswith('fastai_audio'): continue
            fns = [(n, obj)] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                if '__init__' in vars(obj): fns.append((n, obj.__init__))
                fns += [(f'{n}.{k}', getattr(obj, k)) for k, v in vars(obj).items()
                        if k.startswith('from_') and isinstance(v, classmethod)]
            for name, f in fns:
                extra = _settings_taken_by_position(f)
                if len(extra) > 1: bad.append(f'{name}: {extra}')
    assert not bad, 'settings that can still be given by position:\n' + '\n'.join(bad)
