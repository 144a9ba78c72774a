"""Docstrings that render: every public name (a module's `__all__`) of a converted module has a numpydoc docstring
that `numpydoc` parses into sections, whose `Parameters` match the signature (a class's docstring documents its
constructor) and which has `Returns` where the function returns something. Constants need no sections.

Every module of the package is either in CHECKED or in NOT_YET, so none is skipped without saying so."""
import importlib
import inspect
import warnings
from pathlib import Path

import pytest
from numpydoc.docscrape import get_doc_object
from numpydoc.validate import validate

import fastai_audio

PKG = Path(fastai_audio.__file__).parent

# Converted to numpydoc sections; the tests below hold them there.
CHECKED = (
    'fastai_audio.core',
    'fastai_audio.runtime.events', 'fastai_audio.runtime.filecheck', 'fastai_audio.runtime.networks',
    'fastai_audio.backbones.pretrained', 'fastai_audio.backbones.hf',
    'fastai_audio.serving.detector',
    'fastai_audio.data.fluent', 'fastai_audio.data.badfiles', 'fastai_audio.data.labels',
    'fastai_audio.learn.metrics', 'fastai_audio.learn.crossval', 'fastai_audio.learn.checkpoint',
    'fastai_audio.learn.distributed', 'fastai_audio.learn.windows', 'fastai_audio.data.croppad',
    'fastai_audio.datasets.archives', 'fastai_audio.datasets.synth', 'fastai_audio.datasets.soundscapes',
    'fastai_audio.datasets.recipes',
    'fastai_audio.runtime.compat', 'fastai_audio.runtime.arguments', 'fastai_audio.runtime.functional',
    'fastai_audio.runtime.frontend',
    'fastai_audio.backbones.presets', 'fastai_audio.backbones.panns', 'fastai_audio.backbones.crepe',
    'fastai_audio.backbones.registry', 'fastai_audio.backbones.sed', 'fastai_audio.backbones.embedders',
    'fastai_audio.serving.classifier', 'fastai_audio.serving.export', 'fastai_audio.serving.config',
    'fastai_audio.serving.embedding', 'fastai_audio.serving.load', 'fastai_audio.serving.web',
    'fastai_audio.data.blocks', 'fastai_audio.learn.learner', 'fastai_audio.learn.baseline',
    'fastai_audio.transforms.spectrogram',
    'fastai_audio.data.loading', 'fastai_audio.data.memmap', 'fastai_audio.data.shards',
    'fastai_audio.data.sed',
    'fastai_audio.learn.sed',
    'fastai_audio.learn.embeddings',
    'fastai_audio.learn.progress',
    'fastai_audio.data.compat',
    'fastai_audio.cli',
    'fastai_audio.distributed_check',
    'fastai_audio.transforms.augment',
    'fastai_audio.runtime.waveform',
    'fastai_audio.learn.record', 'fastai_audio.learn.share', 'fastai_audio.serving.card', 'fastai_audio.serving.hub',
    'fastai_audio.app.gradio_app',
)

# Modules not converted yet (none now): a new module goes in CHECKED, or here while its docstrings are prose.
NOT_YET = ()

# What numpydoc.validate reports that this test holds the converted modules to.
CODES = {
    'GL06': 'a section numpydoc does not know',
    'GL07': 'sections out of numpydoc order',
    'SS01': 'no one-line summary',
    'SS06': 'summary longer than one line',
    'PR04': 'a parameter without a type',
    'PR07': 'a parameter without a description',
    'PR10': "no space before a parameter's colon",
    'RT01': 'returns a value but has no Returns section',
    'RT03': 'a Returns entry without a description',
    'YD01': 'a generator without a Yields section',
}


def _all_modules():
    "Every module of the package but the `__init__`s (they re-export the names of their modules)."
    return sorted('.'.join(p.relative_to(PKG.parent).with_suffix('').parts)
                  for p in PKG.rglob('*.py') if p.name != '__init__.py')


def _public_callables(module_name):
    "(name, object) for each class or function of the module's `__all__` that the module defines itself."
    module = importlib.import_module(module_name)
    for name in getattr(module, '__all__', ()):
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isroutine(obj)): continue     # a constant: no sections wanted
        if getattr(obj, '__module__', module_name) != module_name: continue   # checked where it is defined
        yield name, obj


def _code_names(obj):
    """The names the code of `obj` (a function, or a class's `__init__`) binds as parameters, and whether it takes
    **kwargs; None where there is no Python code to read (a builtin, `object.__init__`)."""
    f = inspect.unwrap(obj.__init__ if inspect.isclass(obj) else obj)
    code = getattr(f, '__code__', None)
    if code is None: return None
    return set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]), bool(code.co_flags & inspect.CO_VARKEYWORDS)


def _signature_names(obj):
    """The parameters a docstring must document (all but self/cls, *args and **kwargs), and those it may document
    (*args, **kwargs, and the keywords a fastcore `delegates` signature shows in place of **kwargs)."""
    try: sig = inspect.signature(obj)
    except (TypeError, ValueError): return [], []
    code = _code_names(obj)
    named, starred = [], []
    for i, (name, p) in enumerate(sig.parameters.items()):
        if i == 0 and name in ('self', 'cls'): continue
        delegated = code is not None and code[1] and name not in code[0] and p.kind == p.KEYWORD_ONLY
        (starred if delegated or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) else named).append(name)
    if code is not None and code[1]: starred.append('kwargs')
    return named, starred


def docstring_problems(obj) -> list[str]:
    "What keeps `obj`'s docstring from rendering as numpydoc sections that match its signature (empty if nothing)."
    if not inspect.getdoc(obj): return ['no docstring']
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try: parsed = get_doc_object(obj, config={'show_class_members': False})
        except Exception as e: return [f'numpydoc cannot parse it: {e!r}']
        try: result = validate(parsed)
        except OSError as e: return [f'numpydoc cannot read its source: {e}']
    # a ResourceWarning is the garbage collector finding what another test left open (an app's event loop), not numpydoc
    problems = [f'numpydoc warns: {w.message}' for w in caught if not issubclass(w.category, ResourceWarning)]
    problems += [f'{code} ({CODES[code]}): {msg}' for code, msg in result['errors'] if code in CODES]
    documented = {}
    for names, type_, desc in parsed['Parameters']:
        for name in names.split(', '):
            documented[name.replace('\\', '').lstrip('*')] = type_
    named, starred = _signature_names(obj)
    missing = [n for n in named if n not in documented]
    unknown = [n for n in documented if n not in named and n not in starred]
    if missing: problems.append(f'parameters not documented under Parameters: {missing}')
    if unknown: problems.append(f'documented parameters absent from the signature: {unknown}')
    run_together = [n for n, type_ in documented.items() if ' : ' in type_]
    if run_together: problems.append(f'parameters run together on one line after {run_together}')
    return problems


def test_every_module_is_checked_or_listed_as_not_yet():
    modules = set(_all_modules())
    assert not set(CHECKED) & set(NOT_YET), f'in both lists: {sorted(set(CHECKED) & set(NOT_YET))}'
    assert sorted(modules - set(CHECKED) - set(NOT_YET)) == [], 'add these modules to CHECKED or NOT_YET'
    assert sorted((set(CHECKED) | set(NOT_YET)) - modules) == [], 'these listed modules do not exist'


@pytest.mark.parametrize('module_name', CHECKED)
def test_module_docstrings(module_name):
    module = importlib.import_module(module_name)
    assert inspect.getdoc(module), f'{module_name} has no module docstring'
    failures = {name: p for name, obj in _public_callables(module_name) if (p := docstring_problems(obj))}
    assert not failures, '\n'.join(f'{module_name}.{name}:\n  ' + '\n  '.join(p) for name, p in failures.items())


# The checker itself, on docstrings whose faults are known.
def _good(rate: int, path, *args, **kwargs) -> float:
    """Read a clip.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.
    path : str or Path
        The file.

    Returns
    -------
    float
        Its length in seconds.
    """
    return 1.0


def _prose(rate: int, path) -> float:
    "Read a clip. rate : sample rate in Hz. path : the file."
    return 1.0


def _run_together(rate: int, path) -> float:
    """Read a clip.

    Parameters
    ----------
    rate : int, sample rate in Hz. path : the file.

    Returns
    -------
    float
        Its length in seconds.
    """
    return 1.0


def _stale(rate: int):
    """Read a clip.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.
    path : str
        The file.
    """
    return rate * 2


class _Documented:
    """A clip.

    Parameters
    ----------
    rate : int
        Sample rate in Hz.
    """
    def __init__(self, rate: int, channels: int = 1): self.rate = rate


def test_checker_accepts_numpydoc_and_rejects_prose():
    assert docstring_problems(_good) == []
    assert any('not documented' in p and "'rate'" in p for p in docstring_problems(_prose))
    assert any('run together' in p for p in docstring_problems(_run_together))
    stale = docstring_problems(_stale)
    assert any("absent from the signature: ['path']" in p for p in stale)
    assert any(p.startswith('RT01') for p in stale)
    assert docstring_problems(_Documented) == ["parameters not documented under Parameters: ['channels']"]
    assert docstring_problems(lambda x: x) == ['no docstring']
