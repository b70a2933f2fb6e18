"""Run the paper: every numbered notebook, in order, with papermill, for one profile.

    python -m mmvae_lib.paper --profile cpu        (what ``make paper`` runs)

Executed copies go to ``outputs/<profile>/notebooks/``; ``outputs/<profile>/manifest.json`` records the
profile and all its settings, the git commit and the device (overall, and per notebook; on a CPU its model
name), each notebook's wall time and whatever the notebooks recorded about their data (see :func:`record`). A notebook that fails stops the run with its name.
``--retrain`` trains every model again (once in the run) whatever checkpoints exist: after a code change,
which checkpoints' fingerprints cannot see (:func:`mmvae_lib.training.train`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

from mmvae_lib import arguments
from mmvae_lib.paths import NOTEBOOKS_DIR, REPO_ROOT, output_dir
from mmvae_lib.profiles import get_profile
from mmvae_lib.training.trainer import RETRAIN_VARIABLE, dry_run_label

MANIFEST = "manifest.json"
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
SESSION = f"{os.getpid()}-{time.time():.0f}"   # one notebook's execution (its kernel): claims recorded together
STORED_PROFILE = "smoke"   # the profile of the outputs stored in notebooks/ (what nbval compares)


def notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``), in order."""
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))


def _git_commit() -> str:
    """HEAD's commit, with "+dirty" when tracked files outside ``outputs/`` differ from it (the run itself
    rewrites ``outputs/``), or "unknown" outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!outputs"],
                                 cwd=REPO_ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    commit = head.stdout.strip()
    if head.returncode != 0 or not commit:
        return "unknown"
    return commit + ("+dirty" if changed.stdout.strip() else "")


def cpu_name(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """The CPU's model name (from ``cpuinfo`` where the system has one), else what :mod:`platform` says:
    trained numbers differ between CPUs (the README's tolerance table), so a run records which one it had."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.lower().startswith("model name") and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_description() -> str:
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {cpu_name()}, {torch.get_num_threads()} threads"


def _manifest_path(profile: str) -> Path:
    return output_dir(profile) / MANIFEST


def load_manifest(profile: str) -> dict:
    path = _manifest_path(profile)
    return json.loads(path.read_text()) if path.exists() else {}


def record(profile: str, key: str, value) -> None:
    """Let a notebook record a fact (e.g. the data source of each modality) in the run's manifest."""
    manifest = load_manifest(profile)
    manifest.setdefault("records", {})[key] = value
    _manifest_path(profile).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def claim(profile: str, notebook: str, text: str, holds: bool, *, ours: str | None = None,
          paper: str | None = None, verdict=None, source: str | None = None, threshold: str | None = None) -> None:
    """Record one of the papers' claims as notebook ``notebook`` (``"06"``) checked it: its text, whether it
    holds, and the numbers it rests on (ours and the paper's, as printed). :mod:`mmvae_lib.report` builds the
    claims table from these. ``verdict``: a :class:`mmvae_lib.reporting.verdicts.Verdict` from the metric's curve
    (holds, fails or undecided); it must agree with ``holds`` about whether the claim is met at the end.
    ``source``: where the paper says it; ``threshold``: the paper's or ours, with the reason
    (:class:`mmvae_lib.reporting.claims.Claim`)."""
    if not re.fullmatch(r"\d\d", notebook):
        raise ValueError(f"notebook is the notebook's two-digit number, got {notebook!r}")
    manifest = load_manifest(profile)
    claims = manifest.setdefault("claims", {})
    for key in [k for k, c in claims.items() if c["notebook"] == notebook and c.get("session") != SESSION]:
        del claims[key]          # the notebook's claims from an earlier execution: this one records them afresh
    record = {"notebook": notebook, "claim": text, "holds": bool(holds), "ours": ours, "paper": paper,
              "session": SESSION}
    record |= {k: v for k, v in (("source", source), ("threshold", threshold)) if v}
    if verdict is not None:
        if verdict.met != bool(holds):
            raise ValueError(f"{text!r}: the verdict says the claim is {'' if verdict.met else 'not '}met at the end, "
                             f"holds={holds!r} says otherwise")
        record |= verdict.record() | {"holds": verdict.verdict == "holds"}
    claims[f"{notebook} {text}"] = record
    _manifest_path(profile).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def verdict_label(verdict: str | None, holds: bool) -> str:
    """How a verdict reads in tables and summaries: holds, **fails**, *undecided*; a claim recorded before the three
    verdicts (``verdict`` None) reads holds or **does not hold**."""
    if verdict is None:
        return "holds" if holds else "**does not hold**"
    return {"holds": "holds", "fails": "**fails**", "undecided": "*undecided*"}[verdict]


def summary(profile: str, notebook: str) -> str:
    """The closing cell of notebook ``notebook`` (``"06"``), generated from this run: the claims it recorded
    with :func:`claim` (verdict, ours, the paper's) and one line of provenance (profile, commit, device), as
    markdown."""
    manifest = load_manifest(profile)
    mine = [c for c in manifest.get("claims", {}).values() if c["notebook"] == notebook]
    lines = [f"**{manifest['dry_run']}**\n"] if manifest.get("dry_run") else []
    if mine:
        held = sum(c["holds"] for c in mine)
        undecided = sum(c.get("verdict") == "undecided" for c in mine)
        lines.append(f"**This run's verdicts**: {held} of {len(mine)} of the papers' claims checked here hold"
                     + (f", {undecided} undecided (this run cannot tell: still moving, or within noise)" if undecided else "") + ".\n")
        for c in mine:
            numbers = "; ".join(f"{label} {value}" for label, value in (("ours", c.get("ours")),
                                                                       ("paper", c.get("paper"))) if value)
            lines.append(f"- {verdict_label(c.get('verdict'), c['holds'])}: {c['claim']}"
                         + (f" ({numbers})" if numbers else ""))
        lines.append("")
    commit = _git_commit()
    lines.append(f"*Provenance:* the `{profile}` profile, commit `{commit[:7]}{'+dirty' if commit.endswith('+dirty') else ''}`, "
                 f"{device_description()}; re-execute with `python -m mmvae_lib.paper --profile {profile} "
                 f"--only {notebook}`.")
    return "\n".join(lines)


def is_progress(output) -> bool:
    """A progress bar (tqdm's carriage-return updates on stderr) or an empty write to stderr: noise in a stored
    notebook, whatever the run computed."""
    if output.get("output_type") != "stream" or output.get("name") != "stderr":
        return False
    text = output.get("text", "")
    return not text.strip() or "\r" in text or bool(re.search(r"\d+%\|", text))


def strip_progress(path: Path) -> int:
    """Remove the progress bars from an executed notebook (:func:`is_progress`); how many were removed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    removed = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            kept = [o for o in cell.outputs if not is_progress(o)]
            removed += len(cell.outputs) - len(kept)
            cell.outputs = kept
    if removed:
        nbformat.write(nb, path)
    return removed


def kernel_manager_class():
    """The kernel manager :func:`run` gives papermill: jupyter_client's, except that shutting a kernel down does
    not interrupt it first. jupyter_client sends SIGINT to the kernel's whole process group before every
    shutdown request, idle kernel or not. A kernel still finishing its last message, or a process the notebook
    started (a worker pool), then reports a ``KeyboardInterrupt`` (ipykernel logs "KeyboardInterrupt caught
    in kernel" at ERROR) after a notebook that succeeded. Papermill shuts a kernel down only when its notebook
    is done, so nothing is left to interrupt: the shutdown request, then SIGTERM and SIGKILL if the kernel
    does not exit, are kept."""
    from jupyter_client.manager import AsyncKernelManager

    class NoInterruptOnShutdown(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return NoInterruptOnShutdown


def run(profile_name: str, only: list[str] | None = None, *, progress: bool = True, in_place: bool = False) -> dict:
    """Execute the numbered notebooks (those starting with ``only``'s prefixes, if given) for the profile.
    ``in_place`` writes each executed notebook over its source (``make notebooks``: the outputs nbval
    compares) instead of into ``outputs/<profile>/notebooks``."""
    import papermill  # imported here: the library itself does not need it

    from mmvae_lib.regression import UPDATE_MODE, VALUES_FILE

    profile = get_profile(profile_name)
    if in_place and profile.name != STORED_PROFILE:
        raise ValueError(f"the notebooks are stored in the {STORED_PROFILE!r} profile (their parameters' default); "
                         f"in_place runs only that profile, got {profile.name!r}")
    if in_place:   # the stored notebooks' trained numbers become the new reference (mmvae_lib.regression)
        os.environ[UPDATE_MODE] = "1"
    books = notebooks()
    if only:
        books = [b for b in books if any(b.name.startswith(o) for o in only)]
    else:  # a whole run records its regression values afresh (a removed group must not linger)
        output_dir(profile.name).joinpath(VALUES_FILE).unlink(missing_ok=True)
    manifest = load_manifest(profile.name)
    manifest.pop("seeds", None)   # older manifests kept only the MNIST-SVHN seeds; settings holds everything
    manifest.update(profile=profile.name, settings=dataclasses.asdict(profile), git_commit=_git_commit(),
                    device=device_description(), python=sys.version.split()[0], torch=torch.__version__,
                    dry_run=dry_run_label())
    manifest.setdefault("wall_time_s", {})
    _manifest_path(profile.name).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if not books:
        print(f"No numbered notebooks in {NOTEBOOKS_DIR}; nothing to run.")
        return manifest
    from mmvae_lib import report

    before = report.claims(manifest, report.notebook_texts(profile.name))   # to say at the end what changed
    out_dir = output_dir(profile.name, "notebooks")
    for number, book in enumerate(books, 1):
        print(f"[{profile.name}] {number}/{len(books)} {book.name}", flush=True)
        start = time.perf_counter()
        earlier = dict(load_manifest(profile.name).get("claims", {}))
        # progress: papermill's bar counts the notebook's cells; the kernel's own log (ipykernel's warning
        # that it talks to papermill over local TCP without encryption, on every start) is left out
        # in place, the notebook keeps its own parameters cell (no injected copy of it is stored)
        target, parameters = (book, None) if in_place else (out_dir / book.name, {"profile": profile.name})
        papermill.execute_notebook(str(book), str(target), parameters=parameters,
                                   kernel_name="python3", cwd=str(NOTEBOOKS_DIR), progress_bar=progress,
                                   extra_arguments=KERNEL_ARGUMENTS, kernel_manager_class=kernel_manager_class())
        strip_progress(target)                   # the bars were for the person watching the run
        manifest = _forget_unrecorded_claims(load_manifest(profile.name), book.name[:2], earlier)
        manifest["wall_time_s"][book.name] = round(time.perf_counter() - start, 1)
        # a later `--only` run re-executes some notebooks: each one keeps the commit it ran on
        manifest.setdefault("notebook_commits", {})[book.name] = manifest["git_commit"]
        manifest.setdefault("notebook_devices", {})[book.name] = manifest["device"]
        _manifest_path(profile.name).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        print(f"[{profile.name}] {number}/{len(books)} {book.name} done in {manifest['wall_time_s'][book.name]:.0f} s",
              flush=True)
    if not only:                                 # verdicts of runs before paper.claim: a whole run drops them
        manifest = load_manifest(profile.name)
        manifest["records"] = {key: value for key, value in manifest.get("records", {}).items()
                               if not re.match(r"(\d\d )?claim[:_]", key)}
        _manifest_path(profile.name).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if not in_place:
        print(report.run_summary(profile.name, before, [book.name for book in books]), flush=True)
    return manifest


def _forget_unrecorded_claims(manifest: dict, notebook: str, earlier: dict) -> dict:
    """After notebook ``notebook`` ran: its claims that this execution did not record again (same key, same
    session as before it ran) are gone from the checks, so they go from the manifest too, with its legacy
    ``"NN claim: …"`` records. Done once the notebook has finished, so that an interrupted run loses nothing."""
    manifest["claims"] = {key: c for key, c in manifest.get("claims", {}).items()
                          if c["notebook"] != notebook or earlier.get(key, {}).get("session") != c.get("session")}
    manifest["records"] = {key: value for key, value in manifest.get("records", {}).items()
                           if not re.match(rf"{notebook} claim[:_]", key)}
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = arguments.parser(__doc__)
    arguments.add_profile(parser)
    parser.add_argument("--only", nargs="*", help="run only notebooks whose names start with these prefixes")
    parser.add_argument("--in-place", action="store_true",
                        help="write the executed notebooks over notebooks/ (what `make notebooks` does)")
    parser.add_argument("--retrain", action="store_true",
                        help="train every model again, once in this run, whatever checkpoints exist (after a code "
                             "change that checkpoints cannot see; `make paper RETRAIN=1`)")
    args = parser.parse_args(argv)
    if args.retrain:
        os.environ[RETRAIN_VARIABLE] = retrain_value()
        print(f"Retraining every model once in this run ({RETRAIN_VARIABLE}={os.environ[RETRAIN_VARIABLE]})")
    run(args.profile, args.only, in_place=args.in_place)


def retrain_value() -> str:
    """A value of ``MMVAE_RETRAIN`` that no earlier run used: the notebooks' kernels and their workers inherit
    it, and :func:`mmvae_lib.training.train` retrains each checkpoint not made under it, once."""
    return f"paper-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"


if __name__ == "__main__":
    main()
