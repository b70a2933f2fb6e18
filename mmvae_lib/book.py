"""The book: the executed notebooks of a run, its results pages and the project's prose, as a static site.

    python -m mmvae_lib.book --profile cpu        (what ``make book`` runs) → build/book/html/index.html

Built with Sphinx, MyST-NB and sphinx-book-theme: the stack Jupyter Book v1 wraps, used directly. It is pure
Python from PyPI and builds offline (Jupyter Book v2 / mystmd needs Node, and v1's own command adds nothing
here but a layer). The notebooks are rendered as the run left them, never re-executed. The build is strict:
a warning (a broken cross-reference, a missing figure) fails it.

The pages come from ``book/`` (prose moved out of the README, and results pages whose numbers
:mod:`mmvae_lib.report` generates) and from ``outputs/<profile>/notebooks/``. Each notebook's page gets, after
its opening paragraph, the claims it checks with their verdicts and where its results page is, and at its end
one line of provenance (profile, commit, device, wall time) and the command that re-executes it. What is there
for the tests (the ``# NBVAL_CHECK_OUTPUT`` markers, the regression checks' lines) is left out of the pages.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from mmvae_lib import arguments, report
from mmvae_lib.paper import verdict_label
from mmvae_lib.paths import REPO_ROOT, output_dir

BOOK_SOURCE = REPO_ROOT / "book"
BUILD_DIR = REPO_ROOT / "build" / "book"


def _results_page(notebook: str) -> str | None:
    for key, (_, books, _) in report.EXPERIMENTS.items():
        if notebook in books:
            return key
    return None


def notebook_page(path: Path, profile: str, manifest: dict, found: list[report.Claim]):
    """The executed notebook ``path`` as its book page: a cell after the opening one with the claims it checks,
    and a last cell with its provenance and how to re-execute it."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:                      # the test scaffolding stays in the notebooks, out of the book
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.splitlines() if line.strip() != "# NBVAL_CHECK_OUTPUT")
            for output in cell.outputs:
                if output.get("output_type") == "stream":
                    output["text"] = "".join(line for line in output.get("text", "").splitlines(keepends=True)
                                             if not line.startswith("regression check "))
    number = path.name[:2]
    mine = [c for c in found if c.notebook == number]
    page = _results_page(number)
    lines = []
    if mine:
        lines.append(f"**The claims this notebook checks**, on the `{profile}` run below:")
        lines += [f"- {verdict_label(c.verdict, c.holds)}: {c.text}" for c in mine]
    if page:
        lines.append(f"\nIts numbers beside the papers': [the results page](../results/{page}.md).")
    commit = manifest.get("notebook_commits", {}).get(path.name, manifest.get("git_commit", "unknown"))
    device = manifest.get("notebook_devices", {}).get(path.name, "device not recorded")
    seconds = manifest.get("wall_time_s", {}).get(path.name)
    took = f", {seconds / 60:.1f} min" if seconds is not None else ""
    footer = (f"---\n*Provenance:* the `{profile}` profile, commit `{commit[:7]}{'+dirty' if commit.endswith('+dirty') else ''}`, "
              f"{device}{took}. Source: `notebooks/{path.name}`; re-execute it with "
              f"`python -m mmvae_lib.paper --profile {profile} --only {number}`.")
    if lines:
        nb.cells.insert(1, nbformat.v4.new_markdown_cell("\n".join(lines)))
    nb.cells.append(nbformat.v4.new_markdown_cell(footer))
    return nb


def assemble(profile: str, staging: Path) -> Path:
    """The book's source folder: ``book/``'s pages and configuration, the run's notebooks as pages, the
    results figure."""
    import nbformat

    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(BOOK_SOURCE, staging, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    manifest = report.load_manifest(profile)
    found = report.claims(manifest, report.notebook_texts(profile))
    executed = sorted((output_dir(profile, "notebooks", create=False)).glob("[0-9][0-9]_*.ipynb"))
    if not executed:
        raise FileNotFoundError(f"no executed notebooks in {output_dir(profile, 'notebooks', create=False)}: "
                                f"run make paper PROFILE={profile} first")
    (staging / "notebooks").mkdir()
    for path in executed:
        nbformat.write(notebook_page(path, profile, manifest, found), staging / "notebooks" / path.name)
    figure = output_dir(profile, "figures", create=False) / report.GLANCE_FIGURE
    if not figure.exists():
        report.glance_figure(profile, figure)
    (staging / "figures").mkdir()
    shutil.copy2(figure, staging / "figures" / figure.name)
    return staging


def build(profile: str = "cpu", out: Path = BUILD_DIR) -> Path:
    """Assemble and build the site (strict: any warning fails); the path of its front page."""
    staging = assemble(profile, out / "src")
    html = out / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d",
               str(out / "doctrees"), str(staging), str(html)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the book did not build ({' '.join(command[2:])}):\n{result.stderr.strip()}")
    return html / "index.html"


def main(argv=None) -> None:
    parser = arguments.parser(__doc__)
    arguments.add_profile(parser)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    index = build(args.profile)
    print(f"built {index.relative_to(REPO_ROOT)} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
