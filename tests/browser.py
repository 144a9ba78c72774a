"""Headless Chromium for the browser tests: the distribution's `chromium` (Debian's package, at /usr/bin/chromium
or $CHROMIUM), driven by Playwright's Python client, which launches it as it is (no browser download).

Missing pieces skip the tests that need them, with the reason, unless FASTAI_AUDIO_BROWSER_TESTS=require (what
`.ci/run` sets after installing them), where they fail instead: CI never passes by skipping them.
"""
import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

WEB = Path(__file__).parent / 'web'              # package.json pinning onnxruntime-web; `npm ci --prefix tests/web`
#: the flags a sandboxed root process on a closed network needs (no sandbox, no GPU, no calls home)
CHROMIUM_ARGS = ('--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage')


def missing(why: str):
    "Skip with `why`, or fail when FASTAI_AUDIO_BROWSER_TESTS=require."
    if os.environ.get('FASTAI_AUDIO_BROWSER_TESTS') == 'require': pytest.fail(f'browser test cannot run: {why}')
    pytest.skip(why)


@functools.cache
def chromium_path() -> str | None:
    for p in (os.environ.get('CHROMIUM'), shutil.which('chromium'), shutil.which('chromium-browser')):
        if p and Path(p).exists(): return p
    return None


@contextlib.contextmanager
def browser_page(viewport=(1200, 900)):
    "A Playwright page in headless Chromium, closed afterwards; skips (or fails, see above) without them."
    exe = chromium_path()
    if exe is None: missing('no chromium executable (apt-get install chromium, or set $CHROMIUM)')
    try: from playwright.sync_api import sync_playwright
    except ImportError: missing('playwright is not installed (pip install playwright)')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={'width': viewport[0], 'height': viewport[1]})
            yield page
        finally: browser.close()


@contextlib.contextmanager
def serve_folder(folder):
    "A static HTTP server for `folder` on 127.0.0.1 (a free port), in a thread; yields its base URL."
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try: yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, '.wasm': 'application/wasm',
                      '.mjs': 'text/javascript', '.onnx': 'application/octet-stream'}

    def log_message(self, *args): pass
