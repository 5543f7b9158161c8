"""Minimal safetensors reader/writer (F32, F16, BF16), with no dependency beyond numpy.

The `safetensors` Python package is not available as a Debian package, so the format is
implemented here directly. Layout of a file:

    8 bytes     little-endian uint64 N = length of the JSON header in bytes
    N bytes     JSON header: {"<name>": {"dtype": "F32", "shape": [...],
                                         "data_offsets": [begin, end]}, ...,
                              "__metadata__": {"<str>": "<str>"}}   (metadata optional)
    rest        raw little-endian tensor data; offsets are relative to the first byte
                after the header, tensors are contiguous with no gaps

The header is padded with spaces to a multiple of 8 bytes so the data section is aligned,
which is what the reference implementation does too.

BF16 conversion rounds float32 to nearest with ties to even using integer operations on the
raw bits, so results are bit-identical across machines (and match torch's own rounding).
"""

import json
import os
import struct

import numpy as np

# Bytes per element and the little-endian numpy type used to store each dtype.
# BF16 has no numpy type; its raw bits are stored as uint16.
_STORAGE = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
}


def _as_float32_numpy(t):
    """Accepts a numpy array or a torch tensor; returns a C-contiguous float32 numpy array."""
    if hasattr(t, "detach"):  # torch tensor, without importing torch here
        t = t.detach().to("cpu").float().contiguous().numpy()
    return np.ascontiguousarray(np.asarray(t, dtype=np.float32))


def float32_to_bf16_bits(x):
    """Rounds float32 values to bfloat16 (round to nearest, ties to even); returns uint16 bits.

    bfloat16 is the upper half of a float32. Adding 0x7FFF plus the lowest kept bit before
    truncating implements round-half-to-even. NaNs are mapped to a quiet NaN explicitly,
    because the rounding add could otherwise carry a NaN payload into an infinity.
    """
    x = _as_float32_numpy(x)
    bits = x.view(np.uint32).astype(np.uint64)  # 64-bit so the add can never overflow
    lsb = (bits >> np.uint64(16)) & np.uint64(1)
    rounded = ((bits + np.uint64(0x7FFF) + lsb) >> np.uint64(16)).astype(np.uint16)
    nan_bits = ((bits >> np.uint64(16)).astype(np.uint16) | np.uint16(0x0040))
    return np.where(np.isnan(x), nan_bits, rounded).astype(np.uint16)


def bf16_bits_to_float32(bits):
    """Exact widening of bfloat16 bits (uint16) to float32."""
    bits = np.asarray(bits, dtype=np.uint16)
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def round_to_dtype(x, dtype):
    """Returns float32 values exactly as they read back after storing them as `dtype`.

    Used to compute reference outputs from the weights a reader will actually see.
    """
    x = _as_float32_numpy(x)
    if dtype == "F32":
        return x.copy()
    if dtype == "F16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "BF16":
        return bf16_bits_to_float32(float32_to_bf16_bits(x)).reshape(x.shape)
    raise ValueError(f"unsupported dtype {dtype}")


def _encode(x, dtype):
    """Raw little-endian bytes of a float32 array stored as `dtype`."""
    if dtype == "F32":
        return x.astype("<f4").tobytes()
    if dtype == "F16":
        return x.astype("<f2").tobytes()
    if dtype == "BF16":
        return float32_to_bf16_bits(x).astype("<u2").tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    """Writes {name: array} to `path`, every tensor converted to `dtype`.

    `dtype` may also be a dict {name: dtype} for mixed files. Tensors are written in the
    order given, which keeps the files byte-for-byte reproducible.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        dt = dtype[name] if isinstance(dtype, dict) else dtype
        x = _as_float32_numpy(t)
        blob = _encode(x, dt)
        header[name] = {
            "dtype": dt,
            "shape": list(x.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)
    return offset  # number of tensor-data bytes, as used in index.json "total_size"


def write_sharded_safetensors(folder, tensors, dtype, num_shards, metadata=None):
    """Splits tensors (in order) into `num_shards` files named like Hugging Face shards,
    model-00001-of-0000N.safetensors, and writes model.safetensors.index.json mapping
    every tensor to its file. Shards are balanced by byte size, never splitting a tensor.
    """
    names = list(tensors.keys())
    itemsize = _STORAGE[dtype].itemsize
    sizes = [int(_as_float32_numpy(tensors[n]).size) * itemsize for n in names]
    total = sum(sizes)
    shards = [[] for _ in range(num_shards)]
    running = 0
    for name, size in zip(names, sizes):
        # Shard index from the midpoint of the tensor's byte range.
        k = min(num_shards - 1, int((running + size / 2) * num_shards // total))
        shards[k].append(name)
        running += size
    if any(not s for s in shards):
        raise ValueError("too few tensors for the requested number of shards")
    weight_map = {}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{num_shards:05d}.safetensors"
        write_safetensors(os.path.join(folder, fname), {n: tensors[n] for n in shard}, dtype,
                          metadata)
        for n in shard:
            weight_map[n] = fname
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    return index


def read_safetensors(path):
    """Reads a safetensors file; returns ({name: float32 array}, {name: dtype}, metadata).

    Also validates the layout rules (contiguous, gap-free, in-bounds), so it doubles as a
    checker for files written by write_safetensors.
    """
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors, dtypes = {}, {}
    spans = []
    for name, info in header.items():
        dt = info["dtype"]
        begin, end = info["data_offsets"]
        storage = _STORAGE[dt]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if end - begin != count * storage.itemsize:
            raise ValueError(f"{name}: data size does not match shape")
        raw = np.frombuffer(body[begin:end], dtype=storage)
        x = bf16_bits_to_float32(raw) if dt == "BF16" else raw.astype(np.float32)
        tensors[name] = x.reshape(info["shape"])
        dtypes[name] = dt
        spans.append((begin, end))
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            raise ValueError("tensor data is not contiguous")
        pos = end
    if pos != len(body):
        raise ValueError("trailing bytes after tensor data")
    return tensors, dtypes, metadata


def read_model_folder(folder):
    """Reads model.safetensors or a sharded model (via model.safetensors.index.json)."""
    index_path = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
        tensors, dtypes = {}, {}
        for fname in sorted(set(index["weight_map"].values())):
            t, d, _ = read_safetensors(os.path.join(folder, fname))
            tensors.update(t)
            dtypes.update(d)
        if set(tensors) != set(index["weight_map"]):
            raise ValueError("index weight_map does not match the shard contents")
        return tensors, dtypes
    tensors, dtypes, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    return tensors, dtypes
