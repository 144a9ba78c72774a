"""Each fact in one place: tests that scan the package's source for a second definition of a rule, and compare
the objects and signatures that must be one (presets and registry, kernels and transforms).

Each test names, in its docstring, what in the code before this file it caught.
"""
import ast
import inspect
import math
import re
from pathlib import Path

import pytest
import torch

PACKAGE = Path(__file__).parent.parent / 'fastai_audio'
SOURCES = {p.relative_to(PACKAGE).as_posix(): p.read_text() for p in sorted(PACKAGE.rglob('*.py'))}
TREES = {name: ast.parse(src) for name, src in SOURCES.items()}


def _functions(tree):
    "Yield (enclosing function name or '<module>', node) for every node of `tree`."
    def walk(node, fn):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else fn
            yield name, child
            yield from walk(child, name)
    yield from walk(tree, '<module>')


def _where(predicate) -> set[tuple[str, str]]:
    "{(module, enclosing function)} of the nodes for which `predicate(node)` holds."
    return {(mod, fn) for mod, tree in TREES.items() for fn, node in _functions(tree) if predicate(node)}


# --------------------------------------------------------------------------- kernels and rules defined once
ONE_DEFINITION = {
    'mel_filterbank': 'runtime/functional.py', 'dft_basis': 'runtime/functional.py',
    'amplitude_to_db': 'runtime/functional.py', 'mean_std': 'runtime/functional.py',
    'standardize': 'runtime/functional.py', 'pad_signal': 'runtime/functional.py', 'stft': 'runtime/functional.py',
    'dct_matrix': 'runtime/functional.py', 'seconds_to_samples': 'runtime/functional.py',
    'window_starts': 'runtime/functional.py', 'frame_signal': 'runtime/functional.py',
    'frame_times': 'runtime/events.py', 'frame_activity': 'runtime/events.py', 'first_conv': 'runtime/networks.py',
    'is_multi_label': 'data/blocks.py',
}


@pytest.mark.parametrize('name', sorted(ONE_DEFINITION))
def test_each_kernel_and_rule_is_defined_once(name):
    """One `def` of each kernel in the whole package (subpackages included). Before: `window_starts` was
    defined twice (runtime/functional.py, a tensor; learn/windows.py, a list), and the old flat-layout version
    of this test globbed only the top folder, so after the split it checked nothing."""
    where = sorted(mod for mod, fn in _where(lambda n: isinstance(n, ast.FunctionDef) and n.name == name))
    assert where == [ONE_DEFINITION[name]], (name, where)


RATE_NAMES = {'sr', '_sr', 'fsr', 'file_sr', 'sample_rate', 'rate'}
ROUNDING = {'round', 'ceil', 'floor', 'int'}


def _is_rate(node) -> bool:
    return (isinstance(node, ast.Name) and node.id in RATE_NAMES) or \
           (isinstance(node, ast.Attribute) and node.attr in RATE_NAMES)


def _has_rate_product(node) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and (_is_rate(n.left) or _is_rate(n.right))
               for n in ast.walk(node))


def _rounds_seconds_times_rate(node) -> bool:
    "round(...)/ceil(...)/floor(...)/int(...) or (...).round() of a product with a rate."
    if not isinstance(node, ast.Call): return False
    f = node.func
    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
    if name not in ROUNDING: return False
    if isinstance(f, ast.Attribute) and not node.args: return _has_rate_product(f.value)    # x.round()
    return any(_has_rate_product(a) for a in node.args)


def test_seconds_become_samples_by_one_rule():
    """Rounding seconds x rate to samples happens only in `seconds_to_samples`. Before: core.load_audio and the
    loader's random slice used ceil, AddBackground rounded by hand (twice), Reverb used ceil and the synthetic
    plucks truncated, beside `seconds_to_samples`' nearest."""
    assert _where(_rounds_seconds_times_rate) == {('runtime/functional.py', 'seconds_to_samples')}


def _loops_over_modules(node) -> bool:
    iters = [node.iter] if isinstance(node, ast.For) else \
        [g.iter for g in node.generators] if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)) else []
    return any(isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and
               c.func.attr in ('modules', 'named_modules', 'children', 'named_children')
               for it in iters for c in ast.walk(it))


def _looks_for_a_conv2d(node) -> bool:
    "A loop or comprehension over a network's modules with `isinstance(_, nn.Conv2d)` (Conv2d alone) in it."
    if not _loops_over_modules(node): return False
    return any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == 'isinstance' and
               len(c.args) == 2 and isinstance(c.args[1], ast.Attribute) and c.args[1].attr == 'Conv2d'
               for c in ast.walk(node))


def test_the_first_conv_is_found_by_one_function():
    """Only `runtime.networks.first_conv` loops over a network's modules for the first `nn.Conv2d`. Before:
    learn/learner.py `_first_conv` and runtime/networks.py `_set_input_channels` (parent by parent: a direct
    child before an earlier nested one), `describe_network`, and backbones/sed.py three times (depth first)."""
    assert _where(_looks_for_a_conv2d) == {('runtime/networks.py', 'first_conv')}


def test_the_first_conv_rule():
    "Depth first: a nested convolution defined before a direct child is the first; its parent can replace it."
    from torch import nn
    from fastai_audio.runtime.networks import first_conv
    net = nn.Sequential(nn.Sequential(nn.ReLU(), nn.Conv2d(3, 4, 3)), nn.Conv2d(4, 5, 3))
    parent, name, conv = first_conv(net)
    assert conv is net[0][1] and parent is net[0] and name == '1'
    assert first_conv(nn.Linear(2, 2)) == (None, None, None)


def _unfolds(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == 'unfold'


def test_signals_are_framed_by_one_rule():
    """Windows of a signal are cut only by `frame_signal` / `window_starts`; the two other `unfold`s are not
    framing (the resampler's sinc taps, the median filter's step-1 neighbourhood). Before: backbones/crepe.py
    `crepe_frames` unfolded by itself and dropped the tail. (`frame_level_db` reads levels on the STFT's own grid,
    tested against `stft_frames` below.)"""
    assert _where(_unfolds) == {('runtime/functional.py', 'resample_rows'), ('runtime/events.py', 'median_filter')}


def test_frame_levels_are_on_the_stft_grid():
    from fastai_audio.runtime.functional import frame_level_db, level_db, spectrogram, stft_frames
    x = torch.zeros(1, 16000 + 77)
    x[0, 8000:8512] = 0.5
    for center in (True, False):
        levels = frame_level_db(x, 1024, 256, center)
        assert levels.shape[-1] == stft_frames(x.shape[-1], 1024, 256, center) == \
            spectrogram(x, 1024, hop_length=256, center=center).shape[-1]
    levels = frame_level_db(x, 1024, 256)
    loud = (levels > -60).nonzero().flatten()
    assert loud.min() * 256 - 512 < 8000 and loud.max() * 256 + 512 > 8512 - 1      # frames whose window holds it
    assert float(level_db(torch.full((10,), 0.5))) == pytest.approx(20 * math.log10(0.5))


def test_crepe_frames_follow_the_framing_rule():
    "The last frame is flush with the end, a short clip gets one padded frame. Before: 2500 samples gave 2 frames."
    from fastai_audio.backbones.crepe import crepe_frames
    from fastai_audio.runtime.functional import window_starts
    wave = torch.randn(2, 2500)
    frames = crepe_frames(wave, 512)
    assert frames.shape == (2, len(window_starts(2500, 1024, 512)), 1024) == (2, 4, 1024)
    last = wave[:, -1024:]
    torch.testing.assert_close(frames[:, -1], (last - last.mean(-1, keepdim=True)) / last.std(-1, keepdim=True))
    assert crepe_frames(torch.randn(1, 300)).shape == (1, 1, 1024)


def test_frame_targets_by_one_rule():
    """Only `events.frame_activity` compares frame times with onsets and offsets. Before: runtime/events.py
    `event_targets` and data/sed.py `FrameTargets` each wrote the rule."""
    hits = [(mod, i) for mod, src in SOURCES.items() for i, line in enumerate(src.splitlines())
            if re.search(r'>=\s*[A-Za-z_.]*on[a-z_]*\b.*<\s*[A-Za-z_.]*off', line)]
    assert [mod for mod, _ in hits] == ['runtime/events.py'], hits


def test_multi_label_is_decided_by_one_rule():
    """`is_multi_label` alone tests for `OneHotEncode`, `MultiCategory` or `TensorMultiCategory`, and no module
    guesses multi-label from shapes. Before: learn/windows.py `metrics_on` guessed from the targets' shape and
    learn/learner.py tested `isinstance(_, MultiCategory)` three times."""
    types = re.compile(r'isinstance\([^)]*\b(OneHotEncode|MultiCategory|TensorMultiCategory)\b')
    assert sorted(m for m, s in SOURCES.items() if types.search(s)) == ['data/blocks.py']
    assert not [m for m, s in SOURCES.items() if re.search(r'multi\w* = .*\.shape == ', s)]


# --------------------------------------------------------------------------- one set of front-end objects
def test_presets_and_registry_are_one_set_of_objects():
    """The registry's PANNs front ends are the presets' objects, equal to what the network builds for itself.
    Before: three descriptions (presets normalize='dataset', amin=None; registry and network normalize=None,
    amin=1e-10), and the test of the network passed `ignore=` for exactly the fields that differed."""
    from fastai_audio import FRONT_ENDS, PANNS, PANNS_16K, Cnn6, Cnn10, Cnn14
    from fastai_audio.backbones.panns import PANNS_FRONT_ENDS, PANNS_RATES
    from fastai_audio.backbones.registry import AUDIO_MODELS
    for name, entry in AUDIO_MODELS.items():
        if name.startswith('panns'):
            assert any(entry.front_end is fe for fe in FRONT_ENDS.values()), name
    assert AUDIO_MODELS['panns_cnn14'].front_end is PANNS and AUDIO_MODELS['panns_cnn14_16k'].front_end is PANNS_16K
    assert PANNS is PANNS_FRONT_ENDS[1024] and PANNS_16K is PANNS_FRONT_ENDS[512]
    for arch in (Cnn6, Cnn10, Cnn14): assert arch().front_end is PANNS
    assert Cnn14(16000, 512, 160, 64, 50, 8000).front_end is PANNS_16K
    assert (PANNS.normalize, PANNS.amin, PANNS.ref, PANNS.top_db) == (None, 1e-10, 1.0, None)    # the checkpoint's
    for n_fft, fe in PANNS_FRONT_ENDS.items():
        assert PANNS_RATES[n_fft] == (fe.sample_rate, fe.hop_length, fe.f_min, fe.f_max)
    defaults = {k: p.default for k, p in inspect.signature(Cnn14).parameters.items()}
    assert (defaults['sample_rate'], defaults['window_size'], defaults['hop_size'], defaults['mel_bins'],
            defaults['fmin'], defaults['fmax']) == (PANNS.sample_rate, PANNS.n_fft, PANNS.hop_length, PANNS.n_mels,
                                                    PANNS.f_min, PANNS.f_max)


def test_no_test_hides_a_front_end_mismatch():
    "No test calls `mismatches` / `check_matches` with `ignore=`. Before: tests/test_frontend.py did."
    tests = Path(__file__).parent
    hits = [p.name for p in tests.glob('*.py') if p.name != Path(__file__).name and
            re.search(r'(mismatches|check_matches)\([^)]*ignore=', p.read_text())]
    assert hits == []


def test_classic_spelling_reads_the_classic_preset():
    """`get_frequency_batch_transforms()` computes `CLASSIC_2018`. Before: f_min 0 against the preset's 20 Hz."""
    from fastai_audio import CLASSIC_2018, get_frequency_batch_transforms
    def state(t): return type(t), {k: v for k, v in vars(t).items() if not isinstance(v, torch.Tensor)
                                   and not k.startswith('_')}
    assert [state(t) for t in get_frequency_batch_transforms()] == [state(t) for t in CLASSIC_2018.batch_tfms()]
    params = inspect.signature(get_frequency_batch_transforms).parameters
    assert params['f_min'].default == CLASSIC_2018.f_min == 20.0


# --------------------------------------------------------------------------- kernels and transforms agree
def _defaults(f, rename=None) -> dict:
    rename = rename or {}
    return {rename.get(k, k): p.default for k, p in inspect.signature(f).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _pairs():
    from fastai_audio.runtime import functional as F
    from fastai_audio.transforms.spectrogram import (MFCC, AmplitudeToDB, MelSpectrogram, Resample, SpecNormalize,
                                                     Spectrogram)
    return [(F.stft, Spectrogram), (F.spectrogram, Spectrogram), (F.melspectrogram, MelSpectrogram),
            (F.mel_filterbank, MelSpectrogram), (F.mfcc, MFCC), (F.amplitude_to_db, AmplitudeToDB),
            (F.standardize, SpecNormalize), (F.resample_batch, Resample)]


@pytest.mark.parametrize('i', range(8))
def test_a_kernel_and_its_transform_share_their_defaults(i):
    """Every default a kernel has equals its transform's (a kernel may have none). Before: `stft`,
    `spectrogram` and `melspectrogram` defaulted to n_fft 2048 where `Spectrogram` and `MelSpectrogram` said
    1024."""
    fn, tfm = _pairs()[i]
    mine, theirs = _defaults(fn, {'sr': 'sample_rate'}), _defaults(tfm.__init__)
    shared = sorted(set(mine) & set(theirs))
    assert [(k, mine[k], theirs[k]) for k in shared if mine[k] != theirs[k]] == []
    assert 'n_fft' not in mine            # the STFT size: no default in the kernels, 1024 in the transforms


def test_front_end_defaults_are_the_transforms():
    """A `FrontEnd` made with defaults computes what the transforms made with defaults compute. Before:
    `FrontEnd(kind='mfcc')` had ref 'max' where `MFCC` (and `mfcc`) have 1.0."""
    import dataclasses
    from fastai_audio import MFCC, AmplitudeToDB, FrontEnd, MelSpectrogram, SpecNormalize
    fields = {f.name: f.default for f in dataclasses.fields(FrontEnd)}
    fields['norm'] = fields.pop('mel_norm')
    for tfm in (MelSpectrogram, MFCC, AmplitudeToDB, SpecNormalize):
        theirs = _defaults(tfm.__init__)
        shared = sorted(set(fields) & set(theirs) - {'sample_rate', 'ref', 'mean', 'std'})
        assert [(k, fields[k], theirs[k]) for k in shared if fields[k] != theirs[k]] == [], tfm
    assert FrontEnd(kind='mfcc').ref == _defaults(MFCC.__init__)['ref'] == 1.0
    assert FrontEnd(kind='mel').ref == _defaults(AmplitudeToDB.__init__)['ref'] == 'max'
    assert FrontEnd(kind='mel').replace(kind='mfcc').ref == 1.0                       # the default follows the kind
    assert FrontEnd(kind='mel', ref=2.0).replace(kind='mfcc').ref == 2.0              # a value given stays


def _positional(f) -> list[str]:
    return [k for k, p in inspect.signature(f).parameters.items()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and k != 'self']


def test_settings_are_keyword_only_where_order_is_a_trap():
    """`amplitude_to_db` takes `x, stype` then its settings by name, in `AmplitudeToDB`'s order; a transform
    takes only its first natural argument by position, so `MelSpectrogram(512, 128)` fails when it is made.
    Before: `amplitude_to_db(x, stype, ref, amin, top_db)` against `AmplitudeToDB(ref, top_db, amin)`, and
    `MelSpectrogram(512, 128)` was made, to fail on its first batch."""
    from fastai_audio import MFCC, AmplitudeToDB, MelSpectrogram, Spectrogram
    from fastai_audio.runtime.functional import amplitude_to_db
    assert _positional(amplitude_to_db) == ['x', 'stype']
    kw = [k for k in inspect.signature(amplitude_to_db).parameters if k in _defaults(AmplitudeToDB.__init__)]
    assert kw == list(_defaults(AmplitudeToDB.__init__)) == ['ref', 'amin', 'top_db']
    assert _positional(AmplitudeToDB.__init__) == [] and _positional(Spectrogram.__init__) == ['n_fft']
    assert _positional(MelSpectrogram.__init__) == _positional(MFCC.__init__) == ['sr']
    with pytest.raises(TypeError, match='positional argument'): MelSpectrogram(512, 128)
    with pytest.raises(TypeError, match='positional argument'): Spectrogram(512, 128)
    with pytest.raises(TypeError, match='positional argument'): AmplitudeToDB(1.0, 80.0)
    with pytest.raises(TypeError, match='positional argument'): amplitude_to_db(torch.ones(2, 2), 'power', 1.0)
