"""siegfried in its own process (issue 21): same results as in the scan's process, odd
names reached through our descriptors, and a child that dies is a French error, not a hang."""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from data.sample import formats
from scanners.identification import Candidate, finish_batch, identify_batch, prepare_batch
from scanners.sfprocess import SiegfriedError, SiegfriedProcess, identify_names
from scanners.siegfried import heap_cap
from tests.conftest import query

ODD_NAMES = [b"rapport.pdf", b"mauvais-\xff.pdf", b"ligne\nnouvelle.pdf", b"texte.txt", b"inconnu.zzq"]


def _tree(root) -> list[Candidate]:
    os.makedirs(root, exist_ok=True)
    contents = {b"rapport.pdf": formats.pdf("Rapport", ["x"]), b"texte.txt": b"Bonjour\n" * 20,
                b"inconnu.zzq": bytes(range(256)) * 4}
    cands = []
    for i, name in enumerate(ODD_NAMES):
        path = os.path.join(os.fsencode(root), name)
        with open(path, "wb") as fh:
            fh.write(contents.get(name, formats.pdf("Autre", ["y"])))
        st = os.lstat(path)
        cands.append(Candidate(i, name, st.st_size, st.st_mtime_ns // 1000, name.rsplit(b".", 1)[1].decode()))
    return cands


def test_results_in_a_separate_process_equal_those_in_the_scans_own(tmp_path):
    root = os.fsencode(tmp_path / "partage")
    cands = _tree(root)
    sf = SiegfriedProcess(2)
    try:
        assert sf.header["siegfried"] and sf.header["identifiers"]
        with open(f"/proc/{sf._process.pid}/comm") as fh:  # as top and the bench show it
            assert fh.read().strip() == "siegfried"
        # Go reads its heap cap from the environment its process started with.
        with open(f"/proc/{sf._process.pid}/environ", "rb") as fh:
            assert f"GOMEMLIMIT={os.environ.get('GOMEMLIMIT', heap_cap())}".encode() in fh.read().split(b"\0")
        with ThreadPoolExecutor(2) as pool:
            prep = prepare_batch(root, cands, pool)
            sf.send(prep.names)
            separate = finish_batch(root, prep, sf.receive(), pool).to_pydict()
            inside = identify_batch(root, cands, jobs=2, executor=pool).to_pydict()
    finally:
        sf.close()
    assert separate == inside
    # Invalid UTF-8 and a newline: siegfried gets an alias, a link to /proc/<scan pid>/fd/N.
    assert separate["puid"] == ["fmt/17", "fmt/17", "fmt/17", "x-fmt/111", "UNKNOWN"]
    assert separate["error"] == [None] * 5


def test_a_scan_identifies_odd_names_through_the_separate_process(tmp_path, cli):
    root = tmp_path / "partage"
    _tree(os.fsencode(root))
    db = tmp_path / "c.duckdb"
    assert cli("scan", root, "--commune", "99001", "--db", db, "--quiet").exit_code == 0
    rows = query(db, "SELECT puid, error FROM files WHERE kind = 'file' ORDER BY file_id")
    assert sorted(r[0] for r in rows) == sorted(["fmt/17", "fmt/17", "fmt/17", "x-fmt/111", "UNKNOWN"])
    assert all(r[1] is None for r in rows)


def test_a_dead_siegfried_is_a_french_error(tmp_path):
    sf = SiegfriedProcess(1)
    os.kill(sf._process.pid, signal.SIGKILL)
    sf._process.join()
    with pytest.raises(SiegfriedError, match="processus d'identification"):
        sf.send([str(tmp_path)])
        sf.receive()
    sf.kill()


def test_a_batch_that_cannot_be_sent_is_a_french_error():
    """A batch the pipe cannot carry ends the child: the scan hears of it, never waits."""
    sf = SiegfriedProcess(1)
    sf.send([lambda: None])  # type: ignore[list-item]  # cannot be pickled
    with pytest.raises(SiegfriedError, match="processus d'identification"):
        sf.receive()
    sf.kill()


def test_siegfried_ends_when_the_scan_goes(tmp_path):
    """A scan killed (its end of the pipe closed) leaves no siegfried process behind."""
    sf = SiegfriedProcess(1)
    sf._conn.close()
    sf._process.join(timeout=60)
    assert not sf._process.is_alive()


def test_results_cross_the_pipe_trimmed():
    """What crosses the pipe is siegfried's first match, trimmed to the keys the scan reads."""
    here = os.path.abspath(__file__)
    (result,) = identify_names([here], 1)
    assert result["filename"] == here
    assert set(result["matches"][0]) == {"id", "format", "version", "mime", "basis", "warning"}


def test_batches_larger_than_the_pipe_do_not_block_the_scan(tmp_path):
    """Batches of long names, and their results, each larger than the pipe's buffer: the
    scan sends the next batches while siegfried sends back the first results. If each
    side waited for the other to read, the identification would hang."""
    deep = tmp_path
    for i in range(4):
        deep = deep / (f"{i}" + "d" * 200)  # ~1,000-byte paths: 400 names make ~400 KB
    deep.mkdir(parents=True)
    names = []
    for i in range(400):
        path = deep / f"{i:03d}-{'n' * 150}.txt"
        path.write_bytes(b"Bonjour\n")
        names.append(str(path))
    sf = SiegfriedProcess(1)
    got: list[list[str]] = []

    def identify() -> None:
        for _ in range(3):
            sf.send(names)
        got.extend([r["filename"] for r in sf.receive()] for _ in range(3))

    worker = threading.Thread(target=identify, daemon=True)
    worker.start()
    worker.join(timeout=120)  # about a second of work: only a hang reaches this
    hung = worker.is_alive()
    sf.kill()
    assert not hung, "l'identification s'est bloquée"
    assert got == [names] * 3
