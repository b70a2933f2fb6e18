"""A single-node Slurm for the tests, started as root from Debian's packages (slurmctld, slurmd, slurm-client,
munge): one node ``localhost`` with 2 CPUs and two fake GPUs (character devices, so that Slurm sets
CUDA_VISIBLE_DEVICES), no accounting (as on many clusters, so submitit cannot see a job that dies).

    with SlurmCluster(tmp_path) as cluster: ...      # SLURM_CONF is set while it runs

``.ci/run`` installs the packages; :func:`skip_reason` says why a machine cannot start it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

PACKAGES = "slurmctld slurmd slurm-client munge"
HOW = (f"as root, `apt-get install --no-install-recommends {PACKAGES}` (Debian 12), then "
       "`MMVAE_REQUIRE_SLURM=1 make test` (what .ci/run does)")


def skip_reason() -> str | None:
    """Why the cluster cannot start here, or None."""
    missing = [tool for tool in ("slurmctld", "slurmd", "sbatch", "squeue", "munged") if not shutil.which(tool)
               and not Path("/usr/sbin", tool).exists()]
    if missing:
        return f"Slurm is not installed ({', '.join(missing)} missing): {HOW}"
    if os.geteuid() != 0:
        return f"the single-node Slurm of the tests starts as root: {HOW}"
    return None


CONFIG = """ClusterName=mmvae-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
GresTypes=gpu
ReturnToService=2
MinJobAge=600
KillWait=2
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldPort=26817
SlurmdPort=26818
NodeName=localhost CPUs=2 RealMemory=8000 Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _sbin(tool: str) -> str:
    return shutil.which(tool) or f"/usr/sbin/{tool}"


class SlurmCluster:
    def __init__(self, directory: Path):
        self.d = Path(directory)
        self.conf = self.d / "slurm.conf"
        self._previous = os.environ.get("SLURM_CONF")

    def __enter__(self) -> SlurmCluster:
        for sub in ("state", "spool", "dev"):
            (self.d / sub).mkdir(parents=True, exist_ok=True)
        for i in range(2):                    # fake GPUs: character devices of NVIDIA's major number
            device = self.d / "dev" / f"fake_nvidia{i}"
            if not device.exists():
                os.mknod(device, 0o666 | 0o020000, os.makedev(195, i))
        self.conf.write_text(CONFIG.format(d=self.d))
        (self.d / "gres.conf").write_text(f"Name=gpu File={self.d}/dev/fake_nvidia[0-1]\n")
        (self.d / "cgroup.conf").write_text("")
        os.environ["SLURM_CONF"] = str(self.conf)
        run_dir = Path("/run/munge")
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
            subprocess.run(["runuser", "-u", "munge", "--", _sbin("munged")], check=True)
        subprocess.run([_sbin("slurmctld"), "-f", str(self.conf)], check=True)
        subprocess.run([_sbin("slurmd"), "-f", str(self.conf), "-N", "localhost"], check=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True).stdout.strip()
            if state == "idle":
                return self
            if state.startswith("drain") or state.startswith("inval"):
                subprocess.run(["scontrol", "update", "nodename=localhost", "state=resume"], capture_output=True)
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the test Slurm did not become idle; logs in {self.d}")

    def __exit__(self, *exc) -> None:
        subprocess.run(["scancel", "--full", "--partition=test"], capture_output=True)
        for pidfile in ("slurmd.pid", "slurmctld.pid"):
            path = self.d / pidfile
            if path.exists():
                try:
                    os.kill(int(path.read_text()), 15)
                except (ProcessLookupError, ValueError):
                    pass
        time.sleep(0.5)
        if self._previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = self._previous
