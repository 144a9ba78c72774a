"""Label tables of sound event detection: strong labels (DCASE-style CSV or TSV, `filename, onset, offset,
event_label`, seconds) as `Event`s, and weak, clip-level labels (`filename, event_labels`), each row checked and
a bad one named by its line. Read by the SED loaders (`data.sed`), the dataset recipes and `make_soundscapes`'
users.

    events = read_events('scapes/train/events.csv')
    weak = read_weak_labels('metadata/train/weak.tsv')        # {file name: [labels]}
"""
from __future__ import annotations

import csv
from pathlib import Path


from ..runtime.events import Event

__all__ = ['read_events', 'read_weak_labels']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('event_rows', 'weak_rows')

def read_events(csv_path) -> list[Event]:
    """The events of a DCASE-style CSV or TSV with columns `filename, onset, offset, event_label`.

    A row with empty onset, offset and label says that file has no event (it gives none). A file whose header
    line holds a tab is read as a TSV.

    Parameters
    ----------
    csv_path : str or Path
        The table; onsets and offsets in seconds.

    Returns
    -------
    list of Event
        One per labelled row, in the file's order.

    Raises
    ------
    ValueError
        Naming the line of a row that cannot be read, or whose offset does not come after an onset >= 0.
    """
    return [e for _, e in event_rows(csv_path) if e.event_label]


def _table_rows(csv_path: Path):
    """(line number, row dict, delimiter) of a CSV, or of a TSV (a tab in the header line), as DCASE writes both;
    line numbers count the header as line 1."""
    lines = csv_path.read_text().splitlines()
    delim = '\t' if lines and '\t' in lines[0] else ','
    for line, row in enumerate(csv.DictReader(lines, delimiter=delim), start=2): yield line, row, delim


def read_weak_labels(csv_path) -> dict:
    """The clip-level labels of a DCASE weak-label CSV or TSV with columns `filename, event_labels`.

    Parameters
    ----------
    csv_path : str or Path
        The table: the labels of a clip separated by commas, none for a clip without events.

    Returns
    -------
    dict
        {file name: sorted list of its labels} (an empty list for a clip without events).

    Raises
    ------
    ValueError
        Naming the line of a row without a file name (or without the `event_labels` column), or of a file named
        twice.
    """
    return {name: labels for _, name, labels in weak_rows(csv_path)}


def weak_rows(csv_path) -> list[tuple[int, str, list]]:
    "(line, file name, sorted labels) for each row of a weak-label CSV or TSV."
    csv_path = Path(csv_path)
    out, first = [], {}
    for line, row, delim in _table_rows(csv_path):
        name = (row.get('filename') or '').strip()
        if not name or 'event_labels' not in row:
            raise ValueError(f'{csv_path}, line {line}: a weak label needs filename and event_labels, got {dict(row)}')
        if name in first: raise ValueError(f'{csv_path}, line {line}: {name} is labelled again (first on line {first[name]})')
        labels = row['event_labels'] or ''
        if delim == ',' and row.get(None): labels = ','.join([labels, *row[None]])   # unquoted commas in a CSV
        first[name] = line
        out.append((line, name, sorted({x.strip() for x in labels.split(',') if x.strip()})))
    return out


def event_rows(csv_path) -> list[tuple[int, Event]]:
    "(line, event) for each row; a file without events gives an event with an empty label and NaN times."
    csv_path = Path(csv_path)
    out = []
    for line, row, _ in _table_rows(csv_path):
        if not (row.get('event_label') or '').strip() and not (row.get('onset') or '').strip():
            out.append((line, Event(row.get('filename', ''), float('nan'), float('nan'), '')))
            continue
        try:
            e = Event(row['filename'], float(row['onset']), float(row['offset']), row['event_label'])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f'{csv_path}, line {line}: cannot read an event from {dict(row)} ({err})') from err
        if not e.offset > e.onset >= 0:
            raise ValueError(f'{csv_path}, line {line}: offset {e.offset} must come after onset {e.onset} >= 0')
        out.append((line, e))
    return out
