"""The package's structure, read from its source: imports run one way through the layers (module-level and
function-level imports alike), with no cycle between modules, and the torch-only layers import no training
library."""
import ast
from pathlib import Path

import fastai_audio

PKG = Path(fastai_audio.__file__).parent
TORCH_ONLY = ('runtime', 'backbones', 'serving')
TRAINING_ONLY = ('fastai', 'fastcore', 'fasttransform', 'fastprogress', 'fastdownload', 'librosa', 'matplotlib',
                 'torchaudio', 'IPython', 'pandas', 'plum')


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _imports(path: Path):
    "(line, absolute module) for every import in the file, at any depth (inside functions and methods too)."
    name = _module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names: yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
                if node.module is None:              # `from . import x`: each x is a module
                    for a in node.names: yield node.lineno, f'{target}.{a.name}'
                    continue
                yield node.lineno, target
            else: yield node.lineno, node.module


def _graph():
    "module -> {imported module of the package: first line}, for every module of the package."
    modules = {_module_name(p): p for p in PKG.rglob('*.py')}
    graph = {}
    for name, path in modules.items():
        edges = {}
        for line, target in _imports(path):
            while target and target not in modules: target = target.rpartition('.')[0]   # a name inside a module
            if target and target != name and target != 'fastai_audio': edges.setdefault(target, line)
        graph[name] = edges
    return modules, graph


def _layer(module: str) -> str | None:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else None


def test_every_module_belongs_to_a_layer():
    modules, _ = _graph()
    unknown = sorted(m for m in modules if m != 'fastai_audio' and _layer(m) not in fastai_audio.LAYERS)
    assert not unknown, f'modules outside the layers {fastai_audio.LAYERS}: {unknown}'


def test_imports_run_down_the_layers():
    _, graph = _graph()
    rank = {layer: i for i, layer in enumerate(fastai_audio.LAYERS)}
    upward = [f'{m}:{line} imports {t} ({_layer(t)} is above {_layer(m)})'
              for m, edges in graph.items() if m != 'fastai_audio'
              for t, line in edges.items() if rank[_layer(t)] > rank[_layer(m)]]
    assert not upward, '\n'.join(upward)


def test_no_import_cycle():
    "Between modules (a subpackage's `__init__` re-exporting its own modules does not count)."
    _, graph = _graph()
    edges = {m: {t for t in ts if not (m.endswith('__init__') or t == m.rpartition('.')[0] or
                                       graph.get(t) is None or t in (f'fastai_audio.{_layer(m)}',))}
             for m, ts in graph.items()}
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = 'open'
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 'open': cycles.append(' -> '.join(stack[stack.index(t):] + [t]))
            elif t not in state: visit(t, stack + [t])
        state[m] = 'done'
    for m in sorted(edges):
        if m not in state: visit(m, [m])
    assert not cycles, '\n'.join(cycles)


def test_torch_only_layers_import_no_training_library():
    modules, _ = _graph()
    bad = [f'{m}:{line} imports {target}' for m, path in modules.items() if _layer(m) in TORCH_ONLY
           for line, target in _imports(path) if target.split('.')[0] in TRAINING_ONLY]
    assert not bad, '\n'.join(bad)


def test_the_graph_reader_sees_function_level_imports(tmp_path):
    "The checks above would pass vacuously if nested imports were missed: a known nested import is found."
    _, graph = _graph()
    # `transforms.augment` imports `runtime.functional` at module level; `data.blocks` reads the registry
    assert 'fastai_audio.runtime.functional' in graph['fastai_audio.transforms.augment']
    nested = [t for _, t in _imports(PKG / 'learn' / 'learner.py')]
    assert any(t.endswith('learn.distributed') for t in nested)


def test_the_serving_layer_imports_with_torch_numpy_and_safetensors_alone():
    """A machine that only serves installs the package with --no-deps next to torch, numpy and safetensors: the
    serving layer (and the layers under it) imports with every other dependency blocked."""
    import subprocess
    import sys
    blocked = ('fastai', 'fastcore', 'fasttransform', 'fastprogress', 'fastdownload', 'librosa', 'matplotlib',
               'pandas', 'plum', 'timm', 'torchvision', 'huggingface_hub', 'transformers', 'torchaudio', 'soundfile',
               'soxr', 'scipy', 'PIL')
    code = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {blocked!r}: raise ImportError('blocked ' + name)
sys.meta_path.insert(0, Block())
import fastai_audio.serving, fastai_audio.backbones, fastai_audio.runtime
print(sorted(n for n in {blocked!r} if n in sys.modules))
"""
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == '[]'


def test_gradio_is_imported_by_the_app_alone_and_only_when_an_app_is_built():
    "Gradio is the `demo` extra: no module outside `app` imports it, and importing `app` does not (only `demo_app`)."
    modules, _ = _graph()
    users = sorted(m for m, path in modules.items() for _, t in _imports(path) if t.split('.')[0] == 'gradio')
    assert users and all(_layer(m) == 'app' for m in users), users
    import subprocess, sys
    code = 'import sys, fastai_audio.app, fastai_audio.serving; print("gradio" in sys.modules)'
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip() == 'False'
