"""The MakeHuman body, packed once into one small NumPy archive.

MakeHuman ships its CC0 body as text files: an OBJ mesh in decimetres, a JSON
skeleton whose joints are means of listed mesh vertices, JSON skin weights per
bone, and morph targets (vertex index, dx, dy, dz per line). :func:`build_pack`
reads the few of them the renderer needs, converts to metres, collapses the 163
bones into the segments KneeVision poses, and writes ``makehuman_body.npz``
(about 2 MB) next to this module; :func:`load_pack` reads it back.

Provenance and licence: ``data/PROVENANCE.md`` and ``data/LICENSE.ASSETS.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

DATA = Path(__file__).with_name("data")
PACK = DATA / "makehuman_body.npz"

#: Posed segments, each the union of MakeHuman bones moving rigidly together here.
SEGMENTS: dict[str, tuple[str, ...]] = {
    "pelvis": ("root", "pelvis.L", "pelvis.R", "spine05", "spine04"),
    "trunk": ("spine03", "spine02", "spine01", "breast.L", "breast.R", "clavicle.L",
              "clavicle.R", "shoulder01.L", "shoulder01.R"),
    "head": ("neck01", "neck02", "neck03", "head"),
    "upperarm.L": ("upperarm01.L", "upperarm02.L"),
    "upperarm.R": ("upperarm01.R", "upperarm02.R"),
    "forearm.L": ("lowerarm01.L", "lowerarm02.L", "wrist.L"),
    "forearm.R": ("lowerarm01.R", "lowerarm02.R", "wrist.R"),
    "thigh.L": ("upperleg01.L", "upperleg02.L"),
    "thigh.R": ("upperleg01.R", "upperleg02.R"),
    "shank.L": ("lowerleg01.L", "lowerleg02.L"),
    "shank.R": ("lowerleg01.R", "lowerleg02.R"),
    "foot.L": ("foot.L",),
    "foot.R": ("foot.R",),
}  # fmt: skip
SEGMENT_NAMES = tuple(SEGMENTS)

#: Skeleton joints kept, by MakeHuman joint name (bone head/tail), in metres after packing.
JOINT_NAMES: dict[str, str] = {
    **{f"hip.{s}": f"upperleg01.{s}____head" for s in "LR"},
    **{f"knee.{s}": f"lowerleg01.{s}____head" for s in "LR"},
    **{f"ankle.{s}": f"foot.{s}____head" for s in "LR"},
    **{f"toe.{s}": f"toe2-1.{s}____tail" for s in "LR"},
    **{f"shoulder.{s}": f"upperarm01.{s}____head" for s in "LR"},
    **{f"elbow.{s}": f"lowerarm01.{s}____head" for s in "LR"},
    **{f"wrist.{s}": f"wrist.{s}____head" for s in "LR"},
    "lumbar": "spine03____head",
    "neck": "neck01____head",
    "head_top": "head____tail",
}

#: Faces drawn: the skin, and the eyes (the pose model looks for a face).
DRAWN_GROUPS = ("body", "helper-l-eye", "helper-r-eye")


def _target_files(src: Path) -> list[Path]:
    macro = src / "targets" / "macrodetails"
    files = sorted(macro.glob("universal-*.target")) + sorted(macro.glob("*-young.target"))
    files += sorted((macro / "height").glob("*.target"))
    files += sorted((src / "targets" / "armslegs").glob("*.target"))
    return files


def _read_target(path: Path) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    rows = [ln.split() for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    idx = np.array([int(r[0]) for r in rows], dtype=np.int32)
    delta = np.array([[float(x) for x in r[1:4]] for r in rows], dtype=np.float32).reshape(-1, 3)
    delta *= 0.1
    return idx, delta


def build_pack(src: str | Path, out: str | Path = PACK) -> Path:
    """Read the MakeHuman files under ``src`` and write the compact archive.

    Parameters
    ----------
    src : path
        A copy of MakeHuman's ``makehuman/data`` folder holding ``3dobjs/base.obj``,
        ``rigs/default.mhskel``, ``rigs/default_weights.mhw`` and ``targets/``.
    out : path
        The ``.npz`` to write.

    Returns
    -------
    Path
        ``out``.
    """
    src = Path(src)
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    groups: list[int] = []
    group = ""
    for line in (src / "3dobjs" / "base.obj").read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("g "):
            group = line.split()[1]
        elif line.startswith("f ") and group in DRAWN_GROUPS:
            quad = [int(t.split("/")[0]) - 1 for t in line.split()[1:]]
            faces += [quad[:3], [quad[0], quad[2], quad[3]]] if len(quad) == 4 else [quad]
            groups += [DRAWN_GROUPS.index(group)] * (2 if len(quad) == 4 else 1)
    vertices = np.asarray(verts, dtype=np.float64) * 0.1  # decimetres → metres

    skel = json.loads((src / "rigs" / "default.mhskel").read_text())
    joint_idx = [np.asarray(skel["joints"][JOINT_NAMES[k]], dtype=np.int32) for k in JOINT_NAMES]

    bone_weights = json.loads((src / "rigs" / "default_weights.mhw").read_text())["weights"]
    seg_of_bone = {b: i for i, bones in enumerate(SEGMENTS.values()) for b in bones}
    weights = np.zeros((len(vertices), len(SEGMENTS)), dtype=np.float64)
    for bone, pairs in bone_weights.items():
        seg = seg_of_bone.get(bone)
        if seg is None:  # face, fingers and toes move with their segment's parent
            seg = _segment_of_descendant(bone, skel["bones"], seg_of_bone)
        for v, w in pairs:
            weights[v, seg] += w
    total = weights.sum(1, keepdims=True)
    weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    weights[total[:, 0] == 0, SEGMENT_NAMES.index("pelvis")] = 1.0

    targets = _target_files(src)
    tidx, tdel = zip(*(_read_target(p) for p in targets), strict=True)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        vertices=vertices.astype(np.float32),
        faces=np.asarray(faces, dtype=np.int32),
        face_group=np.asarray(groups, dtype=np.int8),
        joint_names=np.asarray(list(JOINT_NAMES)),
        joint_vertices=np.concatenate(joint_idx),
        joint_offsets=np.cumsum([0] + [len(j) for j in joint_idx]).astype(np.int32),
        weights=weights.astype(np.float16),
        target_names=np.asarray([p.stem for p in targets]),
        target_vertices=np.concatenate(tidx),
        target_deltas=np.concatenate(tdel).astype(np.float16),
        target_offsets=np.cumsum([0] + [len(i) for i in tidx]).astype(np.int64),
    )
    return out


def _segment_of_descendant(bone: str, bones: dict, seg_of_bone: dict[str, int]) -> int:
    parent = bones[bone]["parent"]
    while parent is not None and parent not in seg_of_bone:
        parent = bones[parent]["parent"]
    return seg_of_bone.get(parent, SEGMENT_NAMES.index("pelvis"))


@dataclass(frozen=True)
class Pack:
    """The packed body: rest mesh, joints, segment weights and morph targets (metres)."""

    vertices: NDArray[np.float64]
    faces: NDArray[np.int32]
    face_group: NDArray[np.int8]
    joints: dict[str, NDArray[np.int32]]
    weights: NDArray[np.float32]
    targets: dict[str, tuple[NDArray[np.int32], NDArray[np.float32]]]

    def joint_positions(self, vertices: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        """Each joint as the mean of its vertices (MakeHuman's definition)."""
        return {k: vertices[v].mean(axis=0) for k, v in self.joints.items()}


@lru_cache(maxsize=1)
def load_pack(path: str | Path = PACK) -> Pack:
    """Load the archive written by :func:`build_pack` (cached)."""
    z = np.load(path)
    jo, to = z["joint_offsets"], z["target_offsets"]
    joints = {
        str(n): z["joint_vertices"][jo[i] : jo[i + 1]] for i, n in enumerate(z["joint_names"])
    }
    targets = {
        str(n): (
            z["target_vertices"][to[i] : to[i + 1]],
            z["target_deltas"][to[i] : to[i + 1]].astype(np.float32),
        )
        for i, n in enumerate(z["target_names"])
    }
    return Pack(
        vertices=z["vertices"].astype(np.float64),
        faces=z["faces"],
        face_group=z["face_group"],
        joints=joints,
        weights=z["weights"].astype(np.float32),
        targets=targets,
    )
