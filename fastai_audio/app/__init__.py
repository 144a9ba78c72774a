"""The demo app: a Gradio page on an exported folder (`serve_model`, `fastai-audio serve FOLDER`,
`learn.demo()`), serving the torch-only model `load_exported` gives, not a pickled learner.

Layer rule: May import `runtime`, `backbones` and `serving`, and matplotlib for its figures; never fastai. Gradio
(the `demo` extra) is imported here only, and only when an app is built.
"""
from .gradio_app import *  # noqa: F401,F403
from . import gradio_app as _gradio_app

__all__ = list(_gradio_app.__all__)
