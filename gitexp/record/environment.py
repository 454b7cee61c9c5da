"""What a run ran on: Python, key package versions, torch/CUDA/cuDNN, GPUs, host, user, seed.

Captured without importing the packages themselves (torch takes seconds to import): versions
come from the installed distributions' `.dist-info` folder names, torch's CUDA version from its
generated `torch/version.py`, GPU names from NVML. Anything unavailable is simply absent.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from gitexp.record import model as record

KEY_PACKAGES = ("torch", "torchvision", "numpy", "tensorflow", "jax", "transformers", "lightning",
                "pytorch-lightning", "tensorboard", "scikit-learn", "gitexp")
CUDNN_DISTRIBUTIONS = ("nvidia-cudnn-cu12", "nvidia-cudnn-cu11", "nvidia-cudnn-cu13")
SEED_KEYS = ("seed", "random_seed", "rng_seed")


def user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "")


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


@lru_cache(maxsize=1)
def _dist_info() -> tuple[dict[str, str], bool]:
    """(normalised name -> version) of the distributions installed as `name-version.dist-info`
    folders (what pip writes), the first on `sys.path` winning as in importlib.metadata; and
    whether some other form (`.egg-info`, `.egg`, a zip) is there too. A folder listing per path entry:
    importlib.metadata costs a launch ~30 ms of imports (email, zipfile) before it reads a file."""
    found: dict[str, str] = {}
    other = False
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except NotADirectoryError:  # a zip on the path: its distributions are inside it
            other = True
            continue
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and "-" in name:
                project, version = name[: -len(".dist-info")].split("-", 1)
                found.setdefault(_normalised(project), version)
            elif name.endswith((".egg-info", ".egg")):
                other = True
    return found, other


def _version(distribution: str) -> str | None:
    found, other = _dist_info()
    version = found.get(_normalised(distribution))
    if version is not None or not other:
        return version
    from importlib import metadata  # an egg-style install: the full reader knows those

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def torch_build() -> dict[str, str]:
    """torch's CUDA / HIP build versions, read from torch/version.py without importing torch."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return {}
    found: dict[str, str] = {}
    try:
        text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text()
    except OSError:
        return found
    for name in ("cuda", "hip", "git_version"):
        match = re.search(rf"^{name}\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
        if match:
            found[name] = match.group(1)
    return found


def nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver is loaded (Linux: /proc/driver/nvidia or its device nodes; WSL: /dev/dxg)."""
    return any(os.path.exists(path) for path in ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg"))


@lru_cache(maxsize=1)
def gpus() -> tuple[dict[str, Any], ...]:
    """Name, memory and driver of each NVIDIA GPU (empty without a driver or NVML); asked once per process."""
    if not nvidia_driver_present():
        return ()  # not even loading NVML: `import pynvml` and nvmlInit cost every CPU-only launch
    try:
        import pynvml
    except ImportError:
        return ()
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver / no GPU: NVMLError subclasses
        return ()
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        found = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total
            found.append({"index": index, "name": name.decode() if isinstance(name, bytes) else name,
                          "memory_mib": memory // (1024 * 1024),
                          "driver": driver.decode() if isinstance(driver, bytes) else driver})
        return tuple(found)
    except Exception:
        return ()
    finally:
        pynvml.nvmlShutdown()


def seed_of(params: Mapping[str, Any]) -> Any:
    return next((params[key] for key in SEED_KEYS if key in params), None)


def capture(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The environment block of run.json (the git base commit and branch sit at its top level)."""
    packages = {name: v for name in KEY_PACKAGES if (v := _version(name))}
    env: dict[str, Any] = {
        "python": sys.version.split()[0], "executable": sys.executable,
        "implementation": platform.python_implementation(), "platform": platform.platform(),
        "host": record.hostname(), "user": user(), "packages": packages,
    }
    build = torch_build()
    if build.get("cuda"):
        env["cuda"] = build["cuda"]
    if build.get("hip"):
        env["hip"] = build["hip"]
    cudnn = next((v for name in CUDNN_DISTRIBUTIONS if (v := _version(name))), None)
    if cudnn:
        env["cudnn"] = cudnn
    found = gpus()
    if found:
        env["gpus"] = [dict(gpu) for gpu in found]
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        env["cuda_visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]
    seed = seed_of(params or {})
    if seed is not None:
        env["seed"] = seed
    return env
