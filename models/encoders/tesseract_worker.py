"""A Tesseract process (run as a script: `python tesseract_worker.py TESSDATA LANGUAGES...`, e.g. `eng kor+eng`;
it imports nothing but the standard library): it loads one recogniser per language set once, then reads grayscale
images from stdin and writes their words to stdout as Tesseract's TSV, until stdin closes.

Why a process of its own: libtesseract parallelises with OpenMP in the process's one libgomp, which llama.cpp
shares, and OpenMP's thread limit can be set only once per process, from the environment. Tesseract on 2 cores is
twice as fast with one thread (0.4 s instead of 0.8-1.0 s for a traceback) while llama.cpp needs every core; here
the worker's OMP_THREAD_LIMIT=1 applies to Tesseract alone. A crash on a hostile image also ends only this process.

Protocol, little-endian: a request is the language set's index, the page segmentation mode (6: one block; 3: find
the blocks, as a form's labels and fields need), width, height (uint32 each) then width * height bytes; the reply is a uint32 length then that many bytes of UTF-8 TSV. At start the worker writes one reply: empty when ready, else the error.
"""

import ctypes
import struct
import sys


def _api(languages: str, tessdata: str):
    lib = ctypes.CDLL("libtesseract.so.5")
    p, i, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    for name, args, result in (("TessBaseAPICreate", [], p), ("TessBaseAPIInit3", [p, s, s], i),
                               ("TessBaseAPISetPageSegMode", [p, i], None),
                               ("TessBaseAPISetImage", [p, s, i, i, i, i], None),
                               ("TessBaseAPISetSourceResolution", [p, i], None),
                               ("TessBaseAPIGetTsvText", [p, i], p), ("TessDeleteText", [p], None),
                               ("TessBaseAPIEnd", [p], None), ("TessBaseAPIDelete", [p], None)):
        getattr(lib, name).argtypes, getattr(lib, name).restype = args, result
    api = lib.TessBaseAPICreate()
    if lib.TessBaseAPIInit3(api, tessdata.encode(), languages.encode()) != 0:
        raise RuntimeError(f"Tesseract could not load {languages} from {tessdata}")
    return lib, api


def _reply(out, data: bytes) -> None:
    out.write(struct.pack("<I", len(data)) + data)
    out.flush()


def main() -> None:
    """Serve requests until stdin closes."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    apis = []
    try:
        for languages in sys.argv[2:]:
            lib, api = _api(languages, sys.argv[1])
            apis.append(api)
    except (OSError, RuntimeError) as e:
        _reply(out, str(e).encode())
        return
    _reply(out, b"")
    try:
        _serve(lib, apis, inp, out)
    finally:  # ended, or Tesseract warns of "leaks" as the process exits
        for api in apis:
            lib.TessBaseAPIEnd(api)
            lib.TessBaseAPIDelete(api)


def _serve(lib, apis, inp, out) -> None:
    while len(head := inp.read(16)) == 16:
        which, mode, width, height = struct.unpack("<IIII", head)
        pixels = inp.read(width * height)
        if len(pixels) != width * height or which >= len(apis):
            return
        api = apis[which]
        lib.TessBaseAPISetPageSegMode(api, mode)
        lib.TessBaseAPISetImage(api, pixels, width, height, 1, width)
        lib.TessBaseAPISetSourceResolution(api, 300)
        raw = lib.TessBaseAPIGetTsvText(api, 0)
        tsv = ctypes.string_at(raw) if raw else b""
        if raw:
            lib.TessDeleteText(raw)
        _reply(out, tsv)


if __name__ == "__main__":
    main()
