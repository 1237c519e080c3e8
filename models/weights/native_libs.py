"""Load the big native libraries behind torch and Whisper ahead of their Python imports, with the GIL released.

Importing torch dlopens about a gigabyte of shared libraries (libtorch_cpu, libtorch_cuda, the CUDA wheels) and
openai-whisper pulls in numba's LLVM. CPython's own dlopen (ctypes.CDLL, extension modules) holds the GIL while the
dynamic linker maps, relocates and runs static constructors, so a window's event loop on another thread stops for
hundreds of milliseconds. A ctypes call into libc's dlopen releases the GIL for the same work. Afterwards the imports
find the libraries loaded and only bump reference counts. Nothing here imports torch, and nothing is ever unloaded.

Best effort: a library that is missing or fails to load is skipped, and the real import reports any problem as usual.
"""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import sys
import threading
from pathlib import Path

# torch's own order (torch/__init__.py, _load_global_deps and _preload_cuda_deps): its global deps first, then the
# CUDA wheels it preloads so they win the soname lookups of libtorch_cpu, then libtorch itself.
_CUDA_WHEEL_LIBS = ("libcublasLt.so.*[0-9]", "libcublas.so.*[0-9]", "libcudnn.so.*[0-9]", "libnvrtc.so.*[0-9]",
                    "libnvrtc-builtins.so.*[0-9]", "libcudart.so.*[0-9]", "libcupti.so.*[0-9]", "libcufft.so.*[0-9]",
                    "libcurand.so.*[0-9]", "libnvJitLink.so.*[0-9]", "libcusparse.so.*[0-9]",
                    "libcusparseLt.so.*[0-9]", "libcusolver.so.*[0-9]", "libnccl.so.*[0-9]",
                    "libnvshmem_host.so.*[0-9]", "libcufile.so.*[0-9]")
_TORCH_LIBS = ("libc10.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so")

_done: set[str] = set()
_lock = threading.Lock()


def _package_dir(name: str) -> Path | None:
    """Where an installed top-level package lives, found without importing it."""
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec is not None and spec.origin else None


def library_plan(package: str) -> list[tuple[Path, int]]:
    """(path, dlopen flags) of the libraries to load ahead of importing `package` ("torch" or "whisper"), in order;
    empty where the package is not installed or not laid out as expected (not Linux, another build)."""
    if not sys.platform.startswith("linux"):
        return []
    if package == "whisper":  # openai-whisper imports numba, whose llvmlite binds LLVM through ctypes
        llvm = _package_dir("llvmlite")
        path = llvm / "binding" / "libllvmlite.so" if llvm else None
        return [(path, os.RTLD_NOW)] if path and path.is_file() else []
    torch = _package_dir("torch") if package == "torch" else None
    if torch is None or not (torch / "lib" / "libtorch_global_deps.so").is_file():
        return []
    plan = [(torch / "lib" / "libtorch_global_deps.so", os.RTLD_NOW | os.RTLD_GLOBAL)]
    nvidia = torch.parent / "nvidia"
    for pattern in _CUDA_WHEEL_LIBS if nvidia.is_dir() else ():
        found = sorted(glob.glob(str(nvidia / "*" / "lib" / pattern)))
        plan += [(Path(found[0]), os.RTLD_NOW)] if found else []
    return plan + [(torch / "lib" / name, os.RTLD_NOW) for name in _TORCH_LIBS if (torch / "lib" / name).is_file()]


def preload(package: str) -> int:
    """Load `package`'s native libraries (see library_plan) with the GIL released, once per process, unless the
    package is already imported. Returns how many libraries were loaded now."""
    with _lock:
        if package in _done or package in sys.modules:
            return 0
        _done.add(package)
        plan = library_plan(package)
    if not plan:
        return 0
    libc = ctypes.CDLL(None)  # a foreign call: ctypes releases the GIL around it
    dlopen = libc.dlopen
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]
    loaded = 0
    for path, flags in plan:
        if not dlopen(os.fsencode(path), flags):
            break  # the import will load (and report) it the usual way
        loaded += 1
    return loaded
