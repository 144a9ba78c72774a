"""The private upstream names the package relies on, each wrapped once (`runtime/compat.py` for torch and
transformers, `data/compat.py` for fastai and fasttransform): each test checks that the installed version still
has the attribute and that it behaves as the wrapper expects, and says which one moved when it fails; a test
also checks that no other module of the package touches them."""
import inspect
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import fastai_audio
from fastai_audio.runtime import compat as runtime_compat

PKG = Path(fastai_audio.__file__).parent
UPSTREAM = 'upstream changed: fastai_audio/{} wraps {}, update that wrapper'


def test_torch_check_raises_on_false_and_passes_true():
    assert hasattr(torch, '_check'), UPSTREAM.format('runtime/compat.py', 'torch._check')
    runtime_compat.check(True)
    with pytest.raises(RuntimeError):
        runtime_compat.check(False)


def test_uncompile_clears_what_module_compile_set_and_calls_use():
    "`nn.Module.compile` stores the compiled call in `_compiled_call_impl`, and `module(...)` calls it when set."
    m = nn.Linear(3, 2)
    x = torch.randn(4, 3)
    m.compile()                                            # lazy: nothing is compiled before a call
    what = UPSTREAM.format('runtime/compat.py', 'nn.Module._compiled_call_impl')
    assert getattr(m, '_compiled_call_impl', None) is not None, what
    m._compiled_call_impl = lambda *a, **k: 'compiled'     # stand in for the compiled call: is it the one used?
    assert m(x) == 'compiled', what
    runtime_compat.uncompile(m)
    torch.testing.assert_close(m(x), x @ m.weight.T + m.bias)                 # eager again
    assert list(m.state_dict()) == ['weight', 'bias']


@pytest.mark.parametrize('family', ['Wav2Vec2', 'Hubert', 'WavLM'])
def test_feature_vector_mask_of_the_wav2vec2_family(family):
    transformers = pytest.importorskip('transformers')
    what = UPSTREAM.format('runtime/compat.py', f'transformers.{family}Model._get_feature_vector_attention_mask')
    model_class = getattr(transformers, f'{family}Model')
    assert hasattr(model_class, '_get_feature_vector_attention_mask'), what
    cfg = getattr(transformers, f'{family}Config')(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                                   intermediate_size=32, conv_dim=(8, 8), conv_stride=(5, 4),
                                                   conv_kernel=(10, 4), num_conv_pos_embeddings=16,
                                                   num_conv_pos_embedding_groups=2)
    model = model_class(cfg).eval()
    mask = torch.zeros(2, 4000, dtype=torch.long)
    mask[0], mask[1, :2000] = 1, 1
    with torch.no_grad(): n = model(torch.randn(2, 4000), attention_mask=mask).last_hidden_state.shape[1]
    frames = runtime_compat.feature_vector_mask(model, n, mask)
    # the convolutions (kernel 10 stride 5, kernel 4 stride 4): 4000 samples make 199 frames, 2000 make 99
    assert n == 199 and frames.shape == (2, 199), what
    assert frames[0].tolist() == [1] * 199 and frames[1].tolist() == [1] * 99 + [0] * 100, what


def test_dispatch_shortcut_overrides_fasttransforms_per_call_hook():
    from fasttransform import Transform
    from fastai_audio.data.compat import DispatchShortcut
    what = UPSTREAM.format('data/compat.py', 'fasttransform.Transform._do_call(nm, *args, **kwargs)')
    assert list(inspect.signature(Transform._do_call).parameters) == ['self', 'nm', 'args', 'kwargs'], what

    class Double(DispatchShortcut, Transform):
        seen = []
        def shortcut(self, x):
            self.seen.append(x)
            return 2 * x if isinstance(x, int) else NotImplemented
        def encodes(self, x: str): return x + '!'

    t = Double()
    assert t(3) == 6 and Double.seen == [3], what                       # the shortcut answers
    assert t('a') == 'a!' and Double.seen == [3, 'a'], what             # then fasttransform dispatches as usual
    assert t((1, 'b')) == (2, 'b!'), what                               # tuples: element by element
    assert t.decode(5) == 5                                              # decodes is never shortcut


def test_iterate_batches_is_fastais_dataloader_iteration():
    "The same batches as fastai's own `DataLoader.__iter__`, in the same order, for a shuffled loader."
    from fastai.data.load import DataLoader
    from fastai.torch_core import set_seed, to_device
    from fastai_audio.data.compat import iterate_batches
    import fastai.data.load
    what = UPSTREAM.format('data/compat.py', "fastai.data.load._loaders and DataLoader's '__idxs'")
    assert hasattr(fastai.data.load, '_loaders') and len(fastai.data.load._loaders) == 2, what
    assert re.search(r'self\.__idxs\s*=\s*self\.get_idxs\(\)', inspect.getsource(DataLoader.__iter__)), what
    def loader():
        set_seed(3)                                        # a DataLoader seeds its own generator when made
        return DataLoader(list(range(23)), bs=4, shuffle=True, drop_last=False, device='cpu')
    want = [b.tolist() for b in loader()]
    got = [b.tolist() for b in iterate_batches(loader(), lambda b: to_device(b, 'cpu'))]
    assert got == want and sorted(sum(got, [])) == list(range(23)), what
    assert got != [list(range(i, min(i + 4, 23))) for i in range(0, 23, 4)]          # really shuffled


def test_default_model_meta_is_fastais_fallback():
    from fastai.vision.learner import default_split, model_meta
    from fastai_audio.data.compat import default_model_meta
    meta = default_model_meta()
    assert meta == {'cut': None, 'split': default_split}, \
        UPSTREAM.format('data/compat.py', 'fastai.vision.learner._default_meta')
    assert model_meta.get(object(), meta) is meta


PRIVATE = re.compile(r'_DataLoader__idxs|_compiled_call_impl|_orig_mod|_get_feature_vector_attention_mask|'
                     r'torch\._check\b|_default_meta|fastai\.data\.load import _loaders|def _do_call|\._suptitle')


def test_private_upstream_names_are_used_only_in_the_compat_modules():
    found = [f'{p.relative_to(PKG)}:{i}' for p in sorted(PKG.rglob('*.py')) if p.name != 'compat.py'
             for i, line in enumerate(p.read_text().splitlines(), 1) if PRIVATE.search(line)]
    assert not found, f'private upstream names outside runtime/compat.py and data/compat.py: {found}'
