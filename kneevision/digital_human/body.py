"""The digital human: body shapes, a pose of exact joint angles, and skinning.

A :class:`Pose` sets every joint angle KneeVision measures — pelvis position and
orientation, hip flexion/adduction/rotation, knee flexion, knee abduction (valgus),
tibial axial rotation, ankle dorsiflexion and foot eversion, trunk lean, arms —
and :func:`pose_body` places each segment by forward kinematics in the same joint
order as :func:`kneevision.synthetic.skeleton` (Grood & Suntay: flexion, then
ab/adduction, then axial rotation). Each segment's *anatomical* frame in the
MakeHuman rest mesh (an A-pose: legs 6–9° apart) is taken from its joint centres,
so the zero pose stands straight, feet flat and forward; vertices follow by linear
blend skinning with MakeHuman's own weights, collapsed onto the segments.

World frame: metres, ``Y`` up with the floor at ``y = 0``; the body's own axes
are ``X`` = the person's left, ``Y`` = up, ``Z`` = forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from kneevision.digital_human.assets import SEGMENT_NAMES, Pack, load_pack
from kneevision.kinematics.landmarks import SIDES, Side
from kneevision.synthetic import _turn, rotation

FloatArray = NDArray[np.float64]
_SUFFIX: dict[Side, str] = {"left": "L", "right": "R"}
X, Y, Z = np.eye(3)


def _unit(v: FloatArray) -> FloatArray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _reject(v: FloatArray, axis: FloatArray) -> FloatArray:
    return v - np.sum(v * axis, axis=-1, keepdims=True) * axis


# ----------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class BodyShape:
    """A body built from MakeHuman's shape targets; every slider in [-1, 1] (0 = average).

    Attributes
    ----------
    sex : float
        0 = female, 1 = male (0.5 between).
    ethnicity : str
        ``caucasian``, ``african`` or ``asian`` (face and proportions; the skin tone
        is chosen separately, :attr:`skin`).
    weight, muscle, height : float
        Body mass, muscularity and stature.
    leg_valgus : float
        Build of the legs: + knock-kneed, − bow-legged (``*-leg-valgus-*`` targets).
    thigh_fat, shank_fat, foot_size : float
    skin : str
        Skin tone, one of :data:`SKIN_TONES`.
    """

    sex: float = 0.0
    ethnicity: str = "caucasian"
    weight: float = 0.0
    muscle: float = 0.0
    height: float = 0.0
    leg_valgus: float = 0.0
    thigh_fat: float = 0.0
    shank_fat: float = 0.0
    foot_size: float = 0.0
    skin: str = "light"

    def target_weights(self) -> dict[str, float]:
        """MakeHuman target name → weight for this shape."""
        w: dict[str, float] = {}
        for sex, ws in (("female", 1.0 - self.sex), ("male", self.sex)):
            if ws <= 0:
                continue
            w[f"{self.ethnicity}-{sex}-young"] = ws
            for mus, wm in _slider(self.muscle, "minmuscle", "averagemuscle", "maxmuscle"):
                for wt, ww in _slider(self.weight, "minweight", "averageweight", "maxweight"):
                    w[f"universal-{sex}-young-{mus}-{wt}"] = ws * wm * ww
            if self.height:
                end = "maxheight" if self.height > 0 else "minheight"
                w[f"{sex}-young-averagemuscle-averageweight-{end}"] = ws * abs(self.height)
        for side in "lr":
            for name, value in (
                ("leg-valgus", self.leg_valgus),
                ("upperleg-fat", self.thigh_fat),
                ("lowerleg-fat", self.shank_fat),
                ("foot-scale", self.foot_size),
            ):
                if value:
                    w[f"{side}-{name}-{'incr' if value > 0 else 'decr'}"] = abs(value)
        return {k: v for k, v in w.items() if v > 0}


def _slider(v: float, low: str, mid: str, high: str) -> list[tuple[str, float]]:
    """MakeHuman's macro interpolation: the middle target blended with one end."""
    v = float(np.clip(v, -1.0, 1.0))
    return [(mid, 1.0 - abs(v)), (high if v > 0 else low, abs(v))]


#: Diffuse skin colours (BGR, 0–1), read off the centre of MakeHuman's litspheres.
SKIN_TONES: dict[str, tuple[float, float, float]] = {
    "light": (0.62, 0.70, 0.86),
    "medium": (0.42, 0.55, 0.74),
    "dark": (0.22, 0.30, 0.42),
}

#: Named bodies used by the scenes and the validity table.
BODIES: dict[str, BodyShape] = {
    "female-average": BodyShape(sex=0.0, skin="light"),
    "male-average": BodyShape(sex=1.0, ethnicity="african", skin="dark"),
    "male-heavy": BodyShape(sex=1.0, weight=0.8, muscle=0.3, height=-0.3, skin="medium"),
    "female-slim-tall": BodyShape(
        sex=0.0, ethnicity="asian", weight=-0.6, height=0.3, skin="medium"
    ),
    "female-valgus": BodyShape(sex=0.0, leg_valgus=0.8, thigh_fat=0.5, weight=0.3),
}


# ----------------------------------------------------------------------------- the rigged body


@dataclass(frozen=True)
class RestBody:
    """A shaped body in its rest pose: mesh, joint centres, segment frames (metres)."""

    shape: BodyShape
    vertices: FloatArray
    faces: NDArray[np.int32]
    face_group: NDArray[np.int8]
    weights: NDArray[np.float32]
    joints: dict[str, FloatArray]
    frames: dict[str, tuple[FloatArray, FloatArray]]  # segment → (origin, 3×3 columns)
    heel: dict[Side, FloatArray]
    drawn: NDArray[np.bool_]
    sole_y: float
    lengths: dict[str, float]


@lru_cache(maxsize=16)
def rest_body(shape: BodyShape = BodyShape()) -> RestBody:
    """Apply the shape targets to the base mesh and find the rest frames (cached)."""
    pack: Pack = load_pack()
    v = pack.vertices.copy()
    for name, w in shape.target_weights().items():
        if name not in pack.targets:
            raise ValueError(f"unknown MakeHuman target {name!r}")
        idx, delta = pack.targets[name]
        v[idx] += w * delta
    joints = pack.joint_positions(v)
    drawn = np.zeros(len(v), bool)
    drawn[pack.faces.ravel()] = True  # helper geometry (joint cubes, clothes proxies) is not
    sole_y = float(v[drawn, 1].min())
    seg = {n: i for i, n in enumerate(SEGMENT_NAMES)}
    frames: dict[str, tuple[FloatArray, FloatArray]] = {}
    hips_mid = (joints["hip.L"] + joints["hip.R"]) / 2
    frames["pelvis"] = (hips_mid, np.eye(3))
    frames["trunk"] = (joints["lumbar"], np.eye(3))
    frames["head"] = (joints["neck"], np.eye(3))
    heel: dict[Side, FloatArray] = {}
    lengths: dict[str, float] = {}
    for side in SIDES:
        s = _SUFFIX[side]
        medial = -X if side == "left" else X
        hip, knee, ankle = joints[f"hip.{s}"], joints[f"knee.{s}"], joints[f"ankle.{s}"]
        frames[f"thigh.{s}"] = (hip, _frame(_unit(knee - hip), Z, medial))
        frames[f"shank.{s}"] = (knee, _frame(_unit(knee - ankle), Z, medial))
        frames[f"foot.{s}"] = (ankle, _frame(Y, Z, medial))
        sh, el, wr = joints[f"shoulder.{s}"], joints[f"elbow.{s}"], joints[f"wrist.{s}"]
        frames[f"upperarm.{s}"] = (sh, _frame(_unit(el - sh), Z, medial))
        frames[f"forearm.{s}"] = (el, _frame(_unit(wr - el), Z, medial))
        # The heel landmark: the back of the heel, a finger's width above the sole.
        foot_v = v[(pack.weights[:, seg[f"foot.{s}"]] > 0.9) & drawn]
        back = foot_v[foot_v[:, 2] < foot_v[:, 2].min() + 0.01]
        heel[side] = np.array([ankle[0], sole_y + 0.02, back[:, 2].mean()])
        lengths[f"thigh.{s}"] = float(np.linalg.norm(knee - hip))
        lengths[f"shank.{s}"] = float(np.linalg.norm(ankle - knee))
    return RestBody(
        shape=shape,
        vertices=v,
        faces=pack.faces,
        face_group=pack.face_group,
        weights=pack.weights,
        joints=joints,
        frames=frames,
        heel=heel,
        drawn=drawn,
        sole_y=sole_y,
        lengths=lengths,
    )


def _frame(axis: FloatArray, anterior: FloatArray, medial: FloatArray) -> FloatArray:
    """Columns (axis, anterior, medial), orthonormal, anterior and medial made ⊥ axis."""
    a = _unit(_reject(anterior, axis))
    m = _unit(_reject(_reject(medial, axis), a))
    return np.stack([axis, a, m], axis=-1)


# ----------------------------------------------------------------------------- poses


@dataclass(frozen=True)
class LegPose:
    """One leg's joint angles, degrees.

    Positive = hip flexion, adduction (knee toward the midline), internal rotation;
    knee flexion, abduction (valgus: ankle lateral of the knee), tibial internal
    rotation (the shank's front turning toward the midline about the knee→ankle
    axis); ankle dorsiflexion (toes up), foot eversion (sole turned outward).
    ``planted`` puts the foot flat on the floor, its heading following the shank's
    front, whatever the ankle angles say.
    """

    hip_flexion: float = 0.0
    hip_adduction: float = 0.0
    hip_rotation: float = 0.0
    knee_flexion: float = 0.0
    knee_abduction: float = 0.0
    tibial_rotation: float = 0.0
    ankle_dorsiflexion: float = 0.0
    foot_eversion: float = 0.0
    planted: bool = False


@dataclass(frozen=True)
class ArmPose:
    """Shoulder flexion (forward) and abduction (sideways) from hanging, elbow flexion."""

    shoulder_flexion: float = 0.0
    shoulder_abduction: float = 15.0
    elbow_flexion: float = 10.0


@dataclass(frozen=True)
class Pose:
    """A whole-body pose.

    Attributes
    ----------
    position : tuple of float
        Where the pelvis (midpoint of the hip joint centres) is, metres. With
        :attr:`floor`, ``(x, z)`` is where the planted ankles' midpoint stands
        instead, and the height is found (the lowest planted foot rests on the floor).
    yaw, pitch, roll : float
        Pelvis orientation (degrees): yaw turns the body toward its left about the
        vertical, pitch tilts it forward (anterior tilt), roll lifts its left hip.
    trunk_flexion, trunk_side_lean : float
        Trunk against the pelvis: forward lean; lean toward the left.
    legs, arms : dict
        Per side.
    floor : bool
        Drop the body onto the floor (see :attr:`position`).
    base_height : float
        Height of what the planted feet stand on (a step), metres.
    """

    position: tuple[float, float, float] = (0.0, 0.95, 0.0)
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    trunk_flexion: float = 0.0
    trunk_side_lean: float = 0.0
    legs: dict[Side, LegPose] = field(default_factory=lambda: {s: LegPose() for s in SIDES})
    arms: dict[Side, ArmPose] = field(default_factory=lambda: {s: ArmPose() for s in SIDES})
    floor: bool = True
    base_height: float = 0.0

    def with_leg(self, side: Side, **angles: float) -> Pose:
        """A copy with some of one leg's angles changed."""
        legs = dict(self.legs)
        legs[side] = replace(legs[side], **angles)
        return replace(self, legs=legs)


@dataclass(frozen=True)
class PosedBody:
    """Where everything is in one frame: segment transforms and the skeleton's points.

    ``points`` holds joint centres and foot points by name (``hip.L``, ``knee.L``,
    ``ankle.L``, ``heel.L``, ``toe.L``, ``shoulder.L``, …) and the shank's and
    thigh's anatomical axes as ``shank_front.L`` etc. (unit vectors), metres.
    """

    rotations: dict[str, FloatArray]
    origins: dict[str, FloatArray]
    points: dict[str, FloatArray]
    frames: dict[str, FloatArray]


def pose_body(rest: RestBody, pose: Pose) -> PosedBody:
    """Forward kinematics: each segment's posed frame and the skeleton's points."""
    rp = rotation(pose.yaw, pose.pitch, pose.roll)
    bx, by, bz = rp[:, 0], rp[:, 1], rp[:, 2]
    frames: dict[str, FloatArray] = {"pelvis": rp}
    o_rest = rest.frames["pelvis"][0]
    origins: dict[str, FloatArray] = {"pelvis": np.zeros(3)}

    def rigid(p: FloatArray) -> FloatArray:  # a point carried by the pelvis
        return rp @ (p - o_rest)

    trunk = rp @ rotation(0.0, pose.trunk_flexion, -pose.trunk_side_lean)
    frames["trunk"] = frames["head"] = trunk
    origins["trunk"] = rigid(rest.frames["trunk"][0])
    origins["head"] = origins["trunk"] + trunk @ (rest.frames["head"][0] - rest.frames["trunk"][0])
    points: dict[str, FloatArray] = {}
    for side in SIDES:
        s, lp = _SUFFIX[side], pose.legs[side]
        lateral = bx if side == "left" else -bx
        hip = rigid(rest.joints[f"hip.{s}"])
        d, a, m = -by, bz, -lateral
        d, a = _turn(d, a, lp.hip_flexion)
        d, m = _turn(d, m, lp.hip_adduction)
        a, m = _turn(a, m, lp.hip_rotation)
        frames[f"thigh.{s}"] = np.stack([d, a, m], axis=-1)
        knee = hip + rest.lengths[f"thigh.{s}"] * d
        t = -d
        t, a = _turn(t, a, lp.knee_flexion)
        t, m = _turn(t, m, lp.knee_abduction)
        a, m = _turn(a, m, lp.tibial_rotation)
        frames[f"shank.{s}"] = np.stack([t, a, m], axis=-1)
        ankle = knee - rest.lengths[f"shank.{s}"] * t
        if lp.planted:
            fa = _unit(_reject(a, Y))
            fm = _unit(_reject(m, Y) - np.dot(_reject(m, Y), fa) * fa)
            ft = Y
        else:
            ft, fa, fm = t, a, m
            fa, ft = _turn(fa, ft, lp.ankle_dorsiflexion)
            fm, ft_neg = _turn(fm, -ft, lp.foot_eversion)
            ft = -ft_neg
        frames[f"foot.{s}"] = np.stack([ft, fa, fm], axis=-1)
        origins[f"thigh.{s}"], origins[f"shank.{s}"], origins[f"foot.{s}"] = hip, knee, ankle
        points[f"hip.{s}"], points[f"knee.{s}"], points[f"ankle.{s}"] = hip, knee, ankle
        points[f"shank_front.{s}"] = a
        points[f"thigh_front.{s}"] = frames[f"thigh.{s}"][:, 1]

        ap = pose.arms[side]
        shoulder = origins["trunk"] + trunk @ (rest.joints[f"shoulder.{s}"] - rest.joints["lumbar"])
        tx, ty, tz = trunk[:, 0], trunk[:, 1], trunk[:, 2]
        tlat = tx if side == "left" else -tx
        d, a, m = -ty, tz, -tlat
        d, m = _turn(d, -m, ap.shoulder_abduction)
        m = -m
        d, a = _turn(d, a, ap.shoulder_flexion)
        frames[f"upperarm.{s}"] = np.stack([d, a, m], axis=-1)
        rest_arm = rest.joints[f"elbow.{s}"] - rest.joints[f"shoulder.{s}"]
        elbow = shoulder + np.linalg.norm(rest_arm) * d
        d, a = _turn(d, a, ap.elbow_flexion)
        frames[f"forearm.{s}"] = np.stack([d, a, m], axis=-1)
        origins[f"upperarm.{s}"], origins[f"forearm.{s}"] = shoulder, elbow
        rest_fore = rest.joints[f"wrist.{s}"] - rest.joints[f"elbow.{s}"]
        points[f"shoulder.{s}"], points[f"elbow.{s}"] = shoulder, elbow
        points[f"wrist.{s}"] = elbow + np.linalg.norm(rest_fore) * d

    rotations = {k: frames[k] @ rest.frames[k][1].T for k in SEGMENT_NAMES}
    for side in SIDES:  # foot points ride on the foot segment
        s = _SUFFIX[side]
        r, o = rotations[f"foot.{s}"], origins[f"foot.{s}"]
        o_r = rest.frames[f"foot.{s}"][0]
        points[f"heel.{s}"] = o + r @ (rest.heel[side] - o_r)
        points[f"toe.{s}"] = o + r @ (rest.joints[f"toe.{s}"] - o_r)
        points[f"sole.{s}"] = o + r @ (np.array([o_r[0], rest.sole_y, o_r[2]]) - o_r)
    shift = np.asarray(pose.position, dtype=float)
    posed = PosedBody(rotations=rotations, origins=origins, points=points, frames=frames)
    if pose.floor:  # the lowest vertex of a planted foot (or of any foot) on the floor
        planted = [s for s in SIDES if pose.legs[s].planted] or list(SIDES)
        cols = [SEGMENT_NAMES.index(f"foot.{_SUFFIX[s]}") for s in planted]
        feet = (rest.weights[:, cols].max(axis=1) > 0.3) & rest.drawn
        low = float(skin(rest, posed, feet)[:, 1].min())
        # The planted ankles' midpoint goes to (x, z): the feet stay where they are.
        mid = np.mean([points[f"ankle.{_SUFFIX[s]}"] for s in planted], axis=0)
        shift = np.array([shift[0] - mid[0], pose.base_height - low, shift[2] - mid[2]])
    return PosedBody(
        rotations=rotations,
        origins={k: o + shift for k, o in origins.items()},
        points={k: p if "_front." in k else p + shift for k, p in points.items()},
        frames=frames,
    )


def skin(rest: RestBody, posed: PosedBody, subset: NDArray[np.bool_] | None = None) -> FloatArray:
    """Linear blend skinning: the posed mesh vertices, shape (N, 3), metres.

    ``subset`` (a vertex mask) skins only those vertices.
    """
    rots = np.stack([posed.rotations[k] for k in SEGMENT_NAMES])  # (S, 3, 3)
    offs = np.stack(
        [posed.origins[k] - posed.rotations[k] @ rest.frames[k][0] for k in SEGMENT_NAMES]
    )
    w, v = rest.weights, rest.vertices
    if subset is not None:
        w, v = w[subset], v[subset]
    a = np.einsum("ns,sij->nij", w, rots)
    return np.einsum("nij,nj->ni", a, v) + w @ offs


def blend(p: Pose, q: Pose, a: float) -> Pose:
    """The pose a fraction ``a`` of the way from ``p`` to ``q`` (every angle linearly).

    Used for motion blur across an exposure; flags (``planted``, ``floor``) come
    from the nearer pose.
    """

    def mix(x: object, y: object) -> object:
        if isinstance(x, bool) or not isinstance(x, int | float):
            return x if a < 0.5 else y
        return x + a * (y - x)  # type: ignore[operator]

    def fields(u: object, w: object) -> dict:
        return {k: mix(getattr(u, k), getattr(w, k)) for k in u.__dataclass_fields__}

    return replace(
        p,
        **{k: v for k, v in fields(p, q).items() if k not in ("position", "legs", "arms")},
        position=tuple(x + a * (y - x) for x, y in zip(p.position, q.position, strict=True)),
        legs={s: replace(p.legs[s], **fields(p.legs[s], q.legs[s])) for s in SIDES},
        arms={s: replace(p.arms[s], **fields(p.arms[s], q.arms[s])) for s in SIDES},
    )
