"""mmvae_lib.paper: the runner executes numbered notebooks with the profile and keeps a manifest."""
import json
import os
import subprocess

import nbformat
import pytest

from mmvae_lib import paper


def _notebook(path, body):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    params = nbformat.v4.new_code_cell('profile = "cpu"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_run_executes_in_order_and_records_each_notebook(tmp_path, monkeypatch):
    """Notebooks run with the profile injected, their records and wall times land in the manifest, and each
    notebook keeps the commit it ran on when a later --only run re-executes another."""
    books = tmp_path / "notebooks"
    books.mkdir()
    _notebook(books / "01_first.ipynb", "from mmvae_lib import paper\npaper.record(profile, 'seen', profile)")
    _notebook(books / "02_second.ipynb", "x = 1")
    (books / "scratch.ipynb").write_text("not a numbered notebook, never run")
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setattr(paper, "NOTEBOOKS_DIR", books)
    monkeypatch.setattr(paper, "notebooks", lambda directory=books: sorted(books.glob("[0-9][0-9]_*.ipynb")))

    monkeypatch.setattr(paper, "_git_commit", lambda: "commit-a")
    monkeypatch.setattr(paper, "device_description", lambda: "cpu: machine A, 1 threads")
    manifest = paper.run("smoke")
    assert manifest["records"] == {"seen": "smoke"}
    assert set(manifest["wall_time_s"]) == {"01_first.ipynb", "02_second.ipynb"}
    assert (tmp_path / "outputs" / "smoke" / "notebooks" / "02_second.ipynb").exists()

    monkeypatch.setattr(paper, "_git_commit", lambda: "commit-b")
    monkeypatch.setattr(paper, "device_description", lambda: "cpu: machine B, 1 threads")
    paper.run("smoke", only=["02"])
    saved = json.loads((tmp_path / "outputs" / "smoke" / "manifest.json").read_text())
    assert saved["git_commit"] == "commit-b"
    assert saved["notebook_commits"] == {"01_first.ipynb": "commit-a", "02_second.ipynb": "commit-b"}
    assert saved["notebook_devices"] == {"01_first.ipynb": "cpu: machine A, 1 threads",
                                         "02_second.ipynb": "cpu: machine B, 1 threads"}
    assert saved["device"] == "cpu: machine B, 1 threads"


def test_cpu_name_reads_the_model_name_and_falls_back_to_platform(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n")
    assert paper.cpu_name(info) == "AMD EPYC 7B13"
    info.write_text("processor\t: 0\n")
    assert paper.cpu_name(info) == paper.cpu_name(tmp_path / "missing") != ""


def test_git_commit_names_head_and_marks_local_changes(tmp_path, monkeypatch):
    """HEAD's 40-hex commit; "+dirty" once a tracked file outside outputs/ changes, not for outputs/;
    "unknown" outside a repository."""
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    monkeypatch.setattr(paper, "REPO_ROOT", tmp_path)
    assert paper._git_commit() == "unknown"
    for name in ("code.py", "outputs/table.csv"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("1")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    clean = paper._git_commit()
    assert len(clean) == 40 and all(c in "0123456789abcdef" for c in clean)
    (tmp_path / "outputs" / "table.csv").write_text("2")
    assert paper._git_commit() == clean
    (tmp_path / "code.py").write_text("2")
    assert paper._git_commit() == clean + "+dirty"


def test_retrain_passes_a_fresh_value_to_every_kernel_of_the_run(monkeypatch, capsys):
    """``--retrain`` sets MMVAE_RETRAIN (which the notebooks' kernels and workers inherit) to a value of this
    run's own, so each model is trained once in it; without the flag the variable is left alone."""
    seen = []
    monkeypatch.setattr(paper, "run", lambda *args, **kwargs: seen.append(os.environ.get("MMVAE_RETRAIN")))
    monkeypatch.setenv("MMVAE_RETRAIN", "")                 # restored (then removed) after the test
    monkeypatch.delenv("MMVAE_RETRAIN")
    paper.main(["--profile", "smoke"])
    paper.main(["--profile", "smoke", "--retrain"])
    assert seen[0] is None and seen[1].startswith("paper-")
    assert "Retraining every model once in this run" in capsys.readouterr().out


def test_a_run_records_its_notebooks_claims_afresh(tmp_path, monkeypatch):
    """Claims a notebook no longer records are dropped once it has run (a check removed from a notebook does not
    linger), and only then: an interrupted run loses none; a whole run also drops the bare verdicts of runs
    made before paper.claim existed."""
    import sys
    import types
    from pathlib import Path

    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    monkeypatch.setattr(paper, "notebooks", lambda directory=None: [Path("06_six.ipynb"), Path("11_eleven.ipynb")])
    def execute(source, target, **kwargs):       # papermill's stand-in: an executed copy with nothing in it
        nbformat.write(nbformat.v4.new_notebook(), target)

    monkeypatch.setitem(sys.modules, "papermill", types.SimpleNamespace(execute_notebook=execute))
    paper.claim("smoke", "06", "kept", True)
    paper.claim("smoke", "11", "dropped", True)
    paper.record("smoke", "claim: an old verdict", True)
    paper.record("smoke", "11 claim: an old one of 11", False)
    paper.record("smoke", "data", "the data")
    paper.run("smoke", ["11"], progress=False)
    manifest = paper.load_manifest("smoke")
    assert set(manifest["claims"]) == {"06 kept"}
    assert set(manifest["records"]) == {"claim: an old verdict", "data"}
    paper.run("smoke", progress=False)
    manifest = paper.load_manifest("smoke")
    assert set(manifest["records"]) == {"data"} and manifest["claims"] == {}
    # a run interrupted in notebook 11 keeps 11's claims (and those of every notebook after it) as they were
    paper.claim("smoke", "11", "still there", False)

    def interrupted(source, target, **kwargs):
        if "11_" in str(source):
            raise KeyboardInterrupt
        nbformat.write(nbformat.v4.new_notebook(), target)
    monkeypatch.setitem(sys.modules, "papermill", types.SimpleNamespace(execute_notebook=interrupted))
    with pytest.raises(KeyboardInterrupt):
        paper.run("smoke", progress=False)
    assert set(paper.load_manifest("smoke")["claims"]) == {"11 still there"}


def test_progress_bars_are_stripped_from_executed_notebooks(tmp_path):
    """tqdm's bars (carriage-return updates on stderr) and empty stderr writes leave the stored notebook; a
    warning on stderr and everything on stdout stay."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="epoch 1/3:  33%|███       | 1/3 [00:01<00:02]\r"),
                    nbformat.v4.new_output("stream", name="stderr", text="\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="bound -3.2\n")]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "n.ipynb")
    assert paper.strip_progress(tmp_path / "n.ipynb") == 2
    kept = nbformat.read(tmp_path / "n.ipynb", as_version=4).cells[0].outputs
    assert [o.text for o in kept] == ["UserWarning: something\n", "bound -3.2\n"]


def test_a_notebooks_summary_is_generated_from_its_claims(tmp_path, monkeypatch):
    """The closing cell lists the claims the notebook recorded in this run, with their numbers, and the
    provenance (profile, commit, device) with the command that re-executes it."""
    monkeypatch.setenv("MMVAE_OUTPUTS", str(tmp_path))
    paper.claim("smoke", "06", "MMVAE above MVAE", True, ours="34 vs 21 %", paper="86 vs 13 %")
    paper.claim("smoke", "06", "synergy", False)
    paper.claim("smoke", "10", "elsewhere", True)
    text = paper.summary("smoke", "06")
    assert "1 of 2 of the papers' claims checked here hold" in text
    assert "- holds: MMVAE above MVAE (ours 34 vs 21 %; paper 86 vs 13 %)" in text
    assert "- **does not hold**: synergy" in text and "elsewhere" not in text
    assert "the `smoke` profile, commit" in text and "--only 06" in text
    assert "verdicts" not in paper.summary("smoke", "01")            # no claims: provenance only


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("ours", [True, False])
def test_a_finished_notebooks_kernel_is_shut_down_without_an_interrupt(tmp_path, ours):
    """jupyter_client sends SIGINT to a kernel's process group before shutting it down; a process the notebook
    started then gets a KeyboardInterrupt after a notebook that succeeded (what logged "KeyboardInterrupt caught
    in kernel" after notebook 05). paper.run's kernels are shut down without it; the stock manager (the control
    case) does send it, so the probe below would see it."""
    import papermill
    import time

    probe = tmp_path / "sigint"
    child = ("import signal, sys, time\n"
             "signal.signal(signal.SIGINT, lambda *_: (open(sys.argv[1], 'w').write('SIGINT'), sys.exit(0)))\n"
             "open(sys.argv[1] + '.ready', 'w').close()\n"
             "time.sleep(20)\n")
    body = (f"import subprocess, sys, time, os\n"
            f"child = subprocess.Popen([sys.executable, '-c', {child!r}, {str(probe)!r}])\n"
            f"while not os.path.exists({str(probe)!r} + '.ready'): time.sleep(0.05)\n"
            f"print(child.pid)")
    _notebook(tmp_path / "01_child.ipynb", body)
    kwargs = {"kernel_manager_class": paper.kernel_manager_class()} if ours else {}
    nb = papermill.execute_notebook(str(tmp_path / "01_child.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                                    progress_bar=False, extra_arguments=paper.KERNEL_ARGUMENTS, **kwargs)
    pid = int(nb.cells[-1].outputs[0]["text"])
    time.sleep(1.0)                       # a SIGINT sent at shutdown has reached the child by now
    interrupted = probe.exists()
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    assert interrupted is not ours
