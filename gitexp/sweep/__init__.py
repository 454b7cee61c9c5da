"""Sweep files -> runs: runx, mlrunner and Hydra-style grammars, with exact error positions.

    load_sweep(path, ...) -> Sweep            raises SweepError("file:line:col: message")
    expand_sweep_text(text, path, ...) -> Sweep    the same, for an editor's unsaved buffer
    check_sweep_text(text, path) -> [Diagnostic]   never raises; for the language server
    sweep_outline(text, path) -> [OutlineItem]     key positions for hover / symbols
    script_arguments(script) -> [ArgInfo]          argparse flags read statically
"""

from gitexp.sweep.load import check_sweep_text, expand_sweep_text, load_sweep
from gitexp.sweep.model import ArgInfo, Diagnostic, OutlineItem, RunSpec, Sweep
from gitexp.sweep.outline import sweep_outline
from gitexp.sweep.scripts import script_arguments

__all__ = ["ArgInfo", "Diagnostic", "OutlineItem", "RunSpec", "Sweep", "check_sweep_text", "expand_sweep_text",
           "load_sweep",
           "script_arguments", "sweep_outline"]
