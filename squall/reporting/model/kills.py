"""Process kills as fault windows: a kill has nothing to undo, so the ledger keeps no window for it, yet it is the fault."""

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from squall.reporting.masking import Masker
from squall.reporting.model.reading import as_dict, as_list, ts
from squall.reporting.records import FaultWindow

#: (module, func) of squall's actions that kill and leave nothing in the ledger
KILLS = {("squall.actions.process", "kill_process")}


def kill_windows(journal: Mapping[str, Any], masker: Masker, known: Sequence[FaultWindow]) -> list[FaultWindow]:
    """A window (the action's own start to end) for each successful kill the ledger did not record as a fault."""
    out = []
    for entry in map(as_dict, as_list(journal.get("run"))):
        provider = as_dict(as_dict(entry.get("activity")).get("provider"))
        output = as_dict(entry.get("output"))
        if (str(provider.get("module")), str(provider.get("func"))) not in KILLS or entry.get("status") != "succeeded":
            continue
        start, end = ts(entry.get("start")), ts(entry.get("end"))
        killed = [str(p) for p in as_list(output.get("killed"))]
        if start is None or not killed or any(w.start is not None and w.start <= start <= (w.end or start)
                                                for w in known):
            continue
        args = as_dict(provider.get("arguments"))
        name = _name(args, as_list(output.get("processes")))
        signal = str(output.get("signal") or args.get("signal_name") or "SIGTERM")
        out.append(FaultWindow(
            description=masker.text(f"{signal} on {name} (pid {', '.join(killed)})"),
            kind="process.killed", start=start, end=end if end is not None else start,
            outcome="killed (nothing to undo)",
        ))
    return out


def _name(args: Mapping[str, Any], processes: list[Any]) -> str:
    """What was killed, short: the pid file's name, else what the process's command line calls it."""
    pid_file = str(args.get("pid_file") or "")
    if pid_file and "${" not in pid_file:
        return PurePath(pid_file).stem
    cmdline = str(as_dict(processes[0]).get("cmdline") or "") if processes else ""
    for pattern in (r"--pid-file[= ](\S+)", r"--name[= ](\S+)"):
        found = re.search(pattern, cmdline)
        if found:
            return PurePath(found[1]).stem
    if cmdline:
        return PurePath(cmdline.split()[0]).name
    return str(args.get("name_pattern") or pid_file or "a process")
