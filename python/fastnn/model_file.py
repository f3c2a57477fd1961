"""The file format under ``save``/``load_model``: safetensors, written durably, read strictly.

A file holds named tensors and string metadata in the safetensors layout (an
8-byte little-endian header size, a JSON header, the raw bytes), plus a CRC32
of each tensor and of the metadata, so that a flipped bit anywhere is caught
instead of loading as a model with different weights. ``read`` parses the
header itself rather than through the safetensors package, to refuse every
malformed file with one ``ValueError`` that starts with the path.
"""
from __future__ import annotations

import json
import math
import os
import re
import secrets
import stat
import warnings
import zlib

import numpy as np

CHECKSUM_KEY = "crc32"
MAX_HEADER_BYTES = 100_000_000   # the safetensors package's own limit
MAX_JSON_DEPTH = 64              # fastnn's configs nest about 6 deep
MAX_INT = 2**62                  # epoch, iterations: any real count, no overflow downstream
MAX_ELEMENTS = 2**40             # bound on a shape's element count (8 TiB of float64)

# safetensors dtype names <-> NumPy (little-endian, as the format requires)
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def write(path, tensors, metadata):
    """Write ``tensors`` (name -> array) and ``metadata`` (str -> str) to ``path``, durably.

    The bytes go to a temporary file in the same directory, which is fsynced,
    renamed over ``path`` and the directory fsynced: a crash at any moment
    leaves either the old file or the new one, never a torn one.
    """
    path = os.fspath(path)
    if CHECKSUM_KEY in metadata:
        raise ValueError(f"metadata: the key {CHECKSUM_KEY!r} is reserved for the checksums")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("metadata: expected a dict of str to str")
    arrays = {name: _contiguous(t) for name, t in tensors.items()}
    header, offset = {}, 0
    for name, t in arrays.items():
        if t.dtype not in _NAMES:
            raise TypeError(f"tensors: {name}: dtype {t.dtype} cannot be stored")
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    checksums = {"tensors": {name: _crc(t) for name, t in arrays.items()}, "metadata": _metadata_crc(metadata)}
    header["__metadata__"] = {**metadata, CHECKSUM_KEY: json.dumps(checksums)}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # the data starts 8-byte aligned, as safetensors writes it

    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(len(blob).to_bytes(8, "little"))
            f.write(blob)
            for t in arrays.values():
                f.write(memoryview(t.reshape(-1)).cast("B"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # makes the rename itself durable
    finally:
        os.close(dir_fd)


def read(path, metadata_keys=None):
    """Read a file written by ``write``: ``(metadata, tensors)``, checksums verified.

    ``metadata_keys``, if given, are the only metadata keys allowed. Raises ``ValueError`` (message starting with the path) for anything that is
    not a well-formed, intact file; a file without checksums (saved by an older
    fastnn) loads with a warning.
    """
    where = os.fspath(path)
    st = os.stat(where)
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{where}: not a fastnn model file (a directory)")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{where}: not a fastnn model file (not a regular file)")
    with open(where, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header_size = int.from_bytes(f.read(8), "little") if size >= 8 else -1
        if not 2 <= header_size <= min(MAX_HEADER_BYTES, size - 8):
            raise ValueError(f"{where}: not a fastnn model file (safetensors header unreadable)")
        header = parse_json(where, "header", f.read(header_size))
        data = bytearray(size - 8 - header_size)
        if f.readinto(data) != len(data):
            raise ValueError(f"{where}: the file is truncated")
    if not isinstance(header, dict):
        raise ValueError(f"{where}: not a fastnn model file (safetensors header unreadable)")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{where}: metadata: expected a dict of str to str")
    unknown = sorted(set(metadata) - set(metadata_keys) - {CHECKSUM_KEY}) if metadata_keys is not None else []
    if unknown:
        raise ValueError(f"{where}: unknown metadata key {unknown[0]!r}")
    tensors = _tensors(where, header, data)
    checksums = metadata.pop(CHECKSUM_KEY, None)
    if checksums is None:
        warnings.warn(f"{where}: no checksums (saved by an older fastnn): corruption cannot be detected",
                      stacklevel=2)
    else:
        _verify(where, parse_json(where, CHECKSUM_KEY, checksums), metadata, tensors)
    return metadata, tensors


def check_tensors(path, tensors, expected):
    """Check that ``tensors`` holds exactly the names of ``expected`` (name -> (dtype, shape)),
    each with that dtype and shape: no casting, no broadcasting, no extras."""
    where = os.fspath(path)
    missing = [n for n in expected if n not in tensors]
    if missing:
        raise ValueError(f"{where}: tensor {missing[0]} is missing")
    extra = [n for n in tensors if n not in expected]
    if extra:
        raise ValueError(f"{where}: unexpected tensor {extra[0]}")
    for name, (dtype, shape) in expected.items():
        t = tensors[name]
        want, got = (np.dtype(dtype), tuple(shape)), (t.dtype, tuple(t.shape))
        if want != got:
            raise ValueError(f"{where}: tensor {name}: expected {want[0]} {want[1]}, got {got[0]} {got[1]}")


def parse_json(path, key, text):
    """``json.loads(text)`` with duplicate keys and nesting deeper than ``MAX_JSON_DEPTH`` refused."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key")
        return dict(pairs)

    try:
        value = json.loads(text, object_pairs_hook=no_duplicates)
        if _depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH}")
    except (ValueError, RecursionError, UnicodeDecodeError) as e:
        what = "safetensors header unreadable" if key == "header" else f"{key}: invalid JSON ({e})"
        raise ValueError(f"{path}: not a fastnn model file ({what})") from None
    return value


MODEL_METADATA_KEYS = ("format", "config", "epoch", "rng", "compile", "iterations")


def check_model_metadata(path, metadata, format_name):
    """The metadata of a saved ``Sequential``: ``(epoch, iterations, config)``, each checked."""
    where = os.fspath(path)
    if metadata.get("format") != format_name:
        raise ValueError(f"{where}: not a fastnn model file (format {metadata.get('format')!r})")
    required = ("config", "epoch", "rng") + (("iterations",) if "compile" in metadata else ())
    missing = [k for k in required if k not in metadata]
    if missing:
        raise ValueError(f"{where}: metadata key {missing[0]!r} is missing")
    epoch = check_int(where, "epoch", metadata["epoch"])
    iterations = check_int(where, "iterations", metadata["iterations"]) if "compile" in metadata else 0
    return epoch, iterations, parse_json(where, "config", metadata["config"])


def check_model_config(path, config, layer_classes):
    """The structure of a ``Sequential`` config, its layer class names (keys of ``layer_classes``),
    dtype and input shape: returns ``(dtype, input_shape)``. The layers check their own arguments."""
    where = os.fspath(path)
    if (not isinstance(config, dict) or set(config) != {"name", "dtype", "seed", "input_shape", "layers"}
            or not isinstance(config["layers"], list)
            or not all(isinstance(l, dict) and set(l) == {"class_name", "config"} and isinstance(l["config"], dict)
                       for l in config["layers"])):
        raise ValueError(f"{where}: config: expected name, dtype, seed, input_shape and "
                         "layers [{class_name, config}, ...]")
    for layer in config["layers"]:
        if not isinstance(layer["class_name"], str) or layer["class_name"] not in layer_classes:
            raise ValueError(f"{where}: config: unknown layer class {layer['class_name']!r}")
    return (check_choice(where, "config: dtype", config["dtype"], ("float32", "float64")),
            check_shape(where, "config: input_shape", config["input_shape"]))


def check_int(path, key, text, lo=0, hi=MAX_INT):
    """A decimal integer stored as a string (``"12"``), within ``lo`` <= value <= ``hi``."""
    if not isinstance(text, str) or not re.fullmatch(r"-?[0-9]{1,20}", text) or not lo <= int(text) <= hi:
        raise ValueError(f"{os.fspath(path)}: {key}: expected an int in [{lo}, {hi}], got {text!r}")
    return int(text)


def check_choice(path, key, value, choices):
    """``value`` if it is one of ``choices`` (a dtype name, a loss name, ...)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{os.fspath(path)}: {key}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def check_shape(path, key, value, max_elements=MAX_ELEMENTS):
    """A list of positive ints whose product is at most ``max_elements``, as a tuple."""
    if (not isinstance(value, list) or not 1 <= len(value) <= 8
            or not all(type(d) is int and 1 <= d <= max_elements for d in value)
            or math.prod(value) > max_elements):
        raise ValueError(f"{os.fspath(path)}: {key}: expected a list of 1 to 8 positive ints with at most "
                         f"{max_elements} elements in all, got {value!r}")
    return tuple(value)


def _tensors(where, header, data):
    """The arrays the header describes, which must tile the data region exactly."""
    spans, tensors = [], {}
    for name, entry in header.items():
        if (not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}
                or entry["dtype"] not in _DTYPES or not isinstance(entry["shape"], list)
                or not all(type(d) is int and d >= 0 for d in entry["shape"])
                or not isinstance(entry["data_offsets"], list) or len(entry["data_offsets"]) != 2
                or not all(type(o) is int for o in entry["data_offsets"])):
            raise ValueError(f"{where}: not a fastnn model file (safetensors header unreadable: entry {name!r})")
        dtype = np.dtype(_DTYPES[entry["dtype"]])
        begin, end = entry["data_offsets"]
        if not 0 <= begin <= end <= len(data) or end - begin != math.prod(entry["shape"]) * dtype.itemsize:
            raise ValueError(f"{where}: tensor {name}: its header's size and offsets disagree with the data")
        spans.append((begin, end))
        t = np.frombuffer(data, dtype, count=(end - begin) // dtype.itemsize, offset=begin)
        tensors[name] = (t if t.flags.aligned else t.copy()).reshape(entry["shape"])
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise ValueError(f"{where}: not a fastnn model file (tensors overlap or leave gaps in the data)")
        position = end
    if position != len(data):
        raise ValueError(f"{where}: not a fastnn model file ({len(data) - position} bytes after the last tensor)")
    return tensors


def _verify(where, checksums, metadata, tensors):
    if not isinstance(checksums, dict) or set(checksums) != {"tensors", "metadata"} \
            or not isinstance(checksums["tensors"], dict):
        raise ValueError(f"{where}: {CHECKSUM_KEY}: malformed checksums: the file is corrupted")
    if checksums["metadata"] != _metadata_crc(metadata):
        raise ValueError(f"{where}: checksum mismatch in the metadata: the file is corrupted")
    for name in sorted(set(tensors) | set(checksums["tensors"])):
        if name not in tensors or checksums["tensors"].get(name) != _crc(tensors[name]):
            raise ValueError(f"{where}: checksum mismatch in {name}: the file is corrupted")


def _crc(array):
    return zlib.crc32(memoryview(_contiguous(array).reshape(-1)).cast("B"))


def _contiguous(array):
    """``array`` in C order, keeping its shape (``np.ascontiguousarray`` turns 0-d into 1-d)."""
    array = np.asarray(array)
    return array if array.flags.c_contiguous else array.copy(order="C")


def _metadata_crc(metadata):
    return zlib.crc32(json.dumps(sorted(metadata.items())).encode())


def _depth(value):
    """Nesting depth of parsed JSON, iteratively (a recursive walk could itself overflow)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            if deepest > MAX_JSON_DEPTH:
                break
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest
