"""Synthetic ground truth: a forward-kinematic lower body seen by a pinhole camera.

Joint angles drive a skeleton (pelvis, thighs, shanks, feet with heel and toe,
shoulders) through a joint chain in the Grood & Suntay order — hip flexion,
adduction, rotation; knee flexion, abduction (valgus), tibial rotation — so the
true value of every angle KneeVision reports is known. A camera of chosen
position, yaw/pitch/roll and focal length turns the scene into image landmarks,
with optional noise, dropouts and frame-rate jitter, as a :class:`PoseSequence`.

Body frame: ``X`` = the person's left, ``Y`` = up, ``Z`` = forward (right-handed).
Every rotation is written as "turn vector a toward vector b", so the left and
right legs are exact mirror images and no sign depends on handedness.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kneevision.kinematics.angles import fppa
from kneevision.kinematics.landmarks import JOINTS, SIDES, Side, leg, midpoint, pair
from kneevision.pose.sequence import N_LANDMARKS, PoseSequence

FloatArray = NDArray[np.float64]
LEG_ANGLES = (
    "hip_flexion", "hip_adduction", "hip_rotation",
    "knee_flexion", "knee_abduction", "tibial_rotation",
)  # fmt: skip


@dataclass(frozen=True)
class Body:
    """Segment dimensions in metres."""

    hip_half_width: float = 0.09
    thigh: float = 0.43
    shank: float = 0.42
    trunk: float = 0.52
    shoulder_half_width: float = 0.18
    heel_back: float = 0.05
    toe_forward: float = 0.16
    ankle_height: float = 0.07


def _turn(a: FloatArray, b: FloatArray, deg: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Rotate the orthonormal pair (a, b) in their plane, turning ``a`` toward ``b``."""
    r = np.radians(np.asarray(deg, dtype=float))[..., None]
    c, s = np.cos(r), np.sin(r)
    return c * a + s * b, c * b - s * a


def rotation(yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> FloatArray:
    """Rotation matrix: yaw about Y (up), then pitch about X, then roll about Z."""
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def skeleton(
    angles: dict[Side, dict[str, ArrayLike]],
    pelvis_position: ArrayLike,
    pelvis_rotation: ArrayLike | None = None,
    body: Body | None = None,
) -> FloatArray:
    """Place the landmarks of a lower body driven by joint angles.

    Parameters
    ----------
    angles : dict
        ``angles[side][name]`` in degrees, scalars or arrays of shape (T,), for
        the names in ``LEG_ANGLES`` (missing ones are 0). Positive = flexion,
        adduction, internal rotation (hip and tibia), knee abduction (valgus).
    pelvis_position : array_like, shape (3,) or (T, 3)
        Midpoint of the hip joint centres, metres.
    pelvis_rotation : array_like, shape (3, 3) or (T, 3, 3), optional
        Columns are the body's X (left), Y (up), Z (forward) axes in the world.
    body : Body, optional

    Returns
    -------
    ndarray, shape (T, 33, 3)
        World landmarks; those not modelled (face, arms) are NaN.
    """
    body = body or Body()
    lengths = [np.size(v) for s in angles.values() for v in s.values()]
    pos = np.asarray(pelvis_position, dtype=float)
    n = max([1, *lengths, pos.shape[0] if pos.ndim == 2 else 1])
    pos = np.broadcast_to(pos, (n, 3))
    rot = np.eye(3) if pelvis_rotation is None else np.asarray(pelvis_rotation, dtype=float)
    rot = np.broadcast_to(rot, (n, 3, 3))
    bx, by, bz = rot[..., 0], rot[..., 1], rot[..., 2]
    out = np.full((n, N_LANDMARKS, 3), np.nan)

    for side in SIDES:
        ang = {
            k: np.broadcast_to(np.asarray(angles.get(side, {}).get(k, 0.0), float), (n,))
            for k in LEG_ANGLES
        }
        lateral = bx if side == "left" else -bx
        hip = pos + body.hip_half_width * lateral
        # Femur frame: d = distal along the thigh, a = anterior, m = medial.
        d, a, m = -by, bz, -lateral
        d, a = _turn(d, a, ang["hip_flexion"])
        d, m = _turn(d, m, ang["hip_adduction"])
        a, m = _turn(a, m, ang["hip_rotation"])
        knee = hip + body.thigh * d
        # Tibia frame starts aligned with the femur: t = proximal shank axis.
        t = -d
        t, a = _turn(t, a, ang["knee_flexion"])
        t, m = _turn(t, m, ang["knee_abduction"])
        a, m = _turn(a, m, ang["tibial_rotation"])
        ankle = knee - body.shank * t
        heel = ankle - body.heel_back * a - body.ankle_height * t
        toe = ankle + body.toe_forward * a - body.ankle_height * t
        shoulder = pos + body.trunk * by + body.shoulder_half_width * lateral
        for name, p in (
            ("hip", hip),
            ("knee", knee),
            ("ankle", ankle),
            ("heel", heel),
            ("toe", toe),
            ("shoulder", shoulder),
        ):
            out[:, JOINTS[name][side]] = p
    return out


@dataclass(frozen=True)
class Camera:
    """Pinhole camera: x right, y down, z forward in camera coordinates.

    Attributes
    ----------
    rotation : ndarray (3, 3)
        World→camera rotation (rows: camera x, y, z axes in world coordinates).
    position : ndarray (3,)
        Camera centre in the world, metres.
    focal_px : float
    width, height : int
    """

    rotation: FloatArray
    position: FloatArray
    focal_px: float = 1000.0
    width: int = 1280
    height: int = 720

    @classmethod
    def look_at(
        cls,
        position: ArrayLike,
        target: ArrayLike,
        up: ArrayLike = (0.0, 1.0, 0.0),
        roll_deg: float = 0.0,
        focal_px: float = 1000.0,
        width: int = 1280,
        height: int = 720,
    ) -> Camera:
        """A camera at ``position`` looking at ``target`` with world ``up`` at image top."""
        position = np.asarray(position, dtype=float)
        z = np.asarray(target, dtype=float) - position
        z /= np.linalg.norm(z)
        x = np.cross(z, np.asarray(up, dtype=float))
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        x, y = _turn(x, y, roll_deg)
        return cls(np.stack([x, y, z]), position, focal_px, width, height)

    @classmethod
    def facing(
        cls,
        target: ArrayLike,
        distance: float = 3.0,
        yaw_deg: float = 0.0,
        pitch_deg: float = 0.0,
        roll_deg: float = 0.0,
        azimuth_deg: float = 0.0,
        **kw: float,
    ) -> Camera:
        """A camera in front of a subject facing +Z, moved round it.

        ``yaw_deg`` swings the camera round the subject about the vertical
        (toward the subject's left for positive values), ``pitch_deg`` raises it
        to look down, ``roll_deg`` tilts the image. ``azimuth_deg=90`` gives a
        view of the subject's left side.
        """
        target = np.asarray(target, dtype=float)
        yaw = np.radians(yaw_deg + azimuth_deg)
        pitch = np.radians(pitch_deg)
        direction = np.array(
            [np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)]
        )
        return cls.look_at(target + distance * direction, target, roll_deg=roll_deg, **kw)

    def to_camera(self, points: ArrayLike) -> FloatArray:
        """World points → camera coordinates."""
        return (np.asarray(points, dtype=float) - self.position) @ self.rotation.T

    def project(self, points: ArrayLike) -> FloatArray:
        """World points (..., 3) → pixels (..., 2)."""
        c = self.to_camera(points)
        with np.errstate(invalid="ignore", divide="ignore"):
            u = self.focal_px * c[..., 0] / c[..., 2] + self.width / 2
            v = self.focal_px * c[..., 1] / c[..., 2] + self.height / 2
        return np.stack([u, v], axis=-1)


@dataclass
class Scene:
    """A synthetic movement with its ground truth.

    Attributes
    ----------
    time_s : ndarray (T,)
    world : ndarray (T, 33, 3)
        Scene-frame landmarks (metres).
    truth : dict
        Ground-truth series, e.g. ``left_knee_flexion_deg``, ``left_fppa_deg``
        (the frontal-plane angle of the skeleton itself) and per-rep values.
    anterior : ndarray (T, 3)
        The body's forward axis (normal of its frontal plane).
    """

    time_s: FloatArray
    world: FloatArray
    truth: dict[str, FloatArray] = field(default_factory=dict)
    anterior: FloatArray | None = None
    reps: list[tuple[float, float, float]] = field(default_factory=list)

    def observe(
        self,
        camera: Camera,
        *,
        noise_px: float = 0.0,
        noise_m: float = 0.0,
        dropout: float = 0.0,
        time_jitter: float = 0.0,
        seed: int | None = 0,
    ) -> PoseSequence:
        """What a pose estimator would report for this scene through ``camera``.

        Parameters
        ----------
        camera : Camera
        noise_px : float
            Gaussian noise (sd) added to image landmarks, pixels.
        noise_m : float
            Gaussian noise (sd) added to world landmarks, metres.
        dropout : float
            Fraction of frames with no pose at all (NaN rows).
        time_jitter : float
            Timestamp jitter as a fraction of the frame interval (VFR).
        seed : int or None
        """
        rng = np.random.default_rng(seed)
        image = camera.project(self.world)
        # MediaPipe-like world frame: camera axes, origin at the hip midpoint.
        mid = midpoint(self.world, "hip")
        world = (self.world - mid[:, None]) @ camera.rotation.T
        if noise_px:
            image = image + rng.normal(0.0, noise_px, image.shape)
        if noise_m:
            world = world + rng.normal(0.0, noise_m, world.shape)
        t = self.time_s.copy()
        if time_jitter and len(t) > 1:
            dt = float(np.median(np.diff(t)))
            t = t + rng.uniform(-time_jitter / 2, time_jitter / 2, t.shape) * dt
        vis = np.where(np.isfinite(image[..., 0]), 1.0, 0.0)
        if dropout:
            drop = rng.random(len(t)) < dropout
            image[drop] = np.nan
            world[drop] = np.nan
            vis[drop] = np.nan
        seq = PoseSequence.empty(
            len(t), camera.width, camera.height, _fps(t), model_name="synthetic"
        )
        seq.time_s, seq.image, seq.world = t, image, world
        seq.visibility, seq.presence = vis, vis.copy()
        seen = np.isfinite(image[:, JOINTS["hip"]["left"], 0])
        seq.people = np.where(seen, 1, 0).astype(np.int16)
        return seq


def _fps(t: FloatArray) -> float:
    return float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 30.0


def true_fppa(world: FloatArray, anterior: FloatArray) -> dict[str, FloatArray]:
    """FPPA of a skeleton projected orthographically onto its own frontal plane."""
    out = {}
    for side in SIDES:
        j = leg(world, side)
        out[f"{side}_fppa_deg"] = fppa(
            j["hip"], j["knee"], j["ankle"], j["other_hip"], view_axis=anterior
        )
    return out


def _on_floor(
    angles: dict[Side, dict[str, ArrayLike]],
    rot: FloatArray,
    body: Body,
    stance: Side | None = None,
) -> FloatArray:
    """Skeleton placed so the stance ankle (the lower one by default) sits at ankle height.

    Landmarks are linear in the pelvis position, so the skeleton is built once
    at the origin and then translated: horizontally under the ankles' midpoint,
    vertically onto the floor.
    """
    w = skeleton(angles, np.zeros(3), rot, body)
    if stance is None:
        left, right = pair("ankle")
        low = np.fmin(w[:, left, 1], w[:, right, 1])
    else:
        low = w[:, JOINTS["ankle"][stance], 1]
    mid_ankle = np.nanmean(w[:, pair("ankle")], axis=1)
    shift = np.stack([-mid_ankle[:, 0], body.ankle_height - low, -mid_ankle[:, 2]], axis=-1)
    return w + shift[:, None, :]


def _truth(
    angles: dict[Side, dict[str, ArrayLike]], world: FloatArray, anterior: FloatArray
) -> dict[str, FloatArray]:
    """Driving angles as ``<side>_<angle>_deg`` series, plus the true frontal-plane FPPA."""
    n = len(world)
    truth = {
        f"{s}_{k}_deg": np.broadcast_to(np.asarray(v, float), (n,))
        for s in SIDES
        for k, v in angles[s].items()
    }
    truth.update(true_fppa(world, anterior))
    return truth


def squat_scene(
    n_reps: int = 5,
    *,
    fps: float = 30.0,
    depth_deg: float | ArrayLike = 90.0,
    valgus_deg: dict[Side, ArrayLike] | float = 0.0,
    rep_s: float | ArrayLike = 2.5,
    pause_bottom_s: float | ArrayLike = 0.0,
    pause_top_s: float | ArrayLike = 0.5,
    lead_s: float = 1.0,
    single_leg: Side | None = None,
    yaw_deg: float = 0.0,
    body: Body | None = None,
) -> Scene:
    """Bilateral or single-leg squats with a chosen valgus per rep.

    Parameters
    ----------
    n_reps : int
    fps : float
    depth_deg : float or array (n_reps,)
        Peak knee flexion per rep.
    valgus_deg : float or dict side → array (n_reps,)
        Peak knee abduction (valgus) per rep, reached at the bottom.
    rep_s, pause_bottom_s, pause_top_s : float or array (n_reps,)
        Duration of the down-and-up movement, the pause at the bottom, and the
        rest after each rep.
    lead_s : float
        Standing still before the first rep.
    single_leg : {"left", "right"}, optional
        Stance leg of a single-leg squat (the other foot is lifted).
    yaw_deg : float
        Body heading about the vertical.
    """
    body = body or Body()

    def per_rep(v: float | ArrayLike) -> FloatArray:
        return np.broadcast_to(np.asarray(v, dtype=float), (n_reps,)).copy()

    depth, dur, pb, pt = map(per_rep, (depth_deg, rep_s, pause_bottom_s, pause_top_s))
    if isinstance(valgus_deg, dict):
        valgus = {s: per_rep(valgus_deg.get(s, 0.0)) for s in SIDES}
    else:
        valgus = {s: per_rep(valgus_deg) for s in SIDES}
    total = lead_s + float(np.sum(dur + pb + pt)) + 0.5
    t = np.arange(0.0, total, 1.0 / fps)
    phase = np.zeros_like(t)  # 0 standing … 1 at the bottom
    rep_of = np.full(t.shape, -1)
    reps = []
    t0 = lead_s
    for k in range(n_reps):
        half = dur[k] / 2
        t_bottom_a, t_bottom_b, t_end = t0 + half, t0 + half + pb[k], t0 + dur[k] + pb[k]
        down = (t >= t0) & (t < t_bottom_a)
        phase[down] = (1 - np.cos(np.pi * (t[down] - t0) / half)) / 2
        phase[(t >= t_bottom_a) & (t < t_bottom_b)] = 1.0
        up = (t >= t_bottom_b) & (t < t_end)
        phase[up] = (1 + np.cos(np.pi * (t[up] - t_bottom_b) / half)) / 2
        rep_of[(t >= t0) & (t < t_end)] = k
        reps.append((t0, (t_bottom_a + t_bottom_b) / 2, t_end))
        t0 = t_end + pt[k]
    rk = np.clip(rep_of, 0, None)
    knee = 3.0 + (phase * (depth[rk] - 3.0) * (rep_of >= 0) if n_reps else 0.0 * t)
    angles: dict[Side, dict[str, FloatArray]] = {}
    for s in SIDES:
        angles[s] = {
            "knee_flexion": knee,
            "hip_flexion": 0.9 * knee,
            "knee_abduction": phase * valgus[s][rk] * (rep_of >= 0) if n_reps else 0.0 * t,
        }
    if single_leg is not None:
        swing = "right" if single_leg == "left" else "left"
        angles[swing] = {  # free foot held well clear of the floor
            "knee_flexion": np.full_like(t, 90.0),
            "hip_flexion": np.full_like(t, 45.0),
        }
    rot = np.broadcast_to(rotation(yaw_deg), (len(t), 3, 3))
    world = _on_floor(angles, rot, body, stance=single_leg)
    anterior = rot[..., 2]
    return Scene(t, world, _truth(angles, world, anterior), anterior, reps)


def seated_twist_scene(
    *,
    knee_flexion_deg: float = 90.0,
    internal_deg: dict[Side, float] | float = 20.0,
    external_deg: dict[Side, float] | float = 30.0,
    cycles: int = 3,
    cycle_s: float = 3.0,
    hold_s: float = 1.5,
    fps: float = 30.0,
    legs: tuple[Side, ...] = ("left", "right"),
    together: bool = False,
    knee_abduction_deg: float = 0.0,
    body: Body | None = None,
) -> Scene:
    """Seated twist test: thigh still, shank twisted in and out.

    Each tested leg holds neutral for ``hold_s``, then twists ``cycles`` times to
    ``internal_deg`` (toes toward the midline) and ``external_deg`` (outward).
    Legs are tested one after the other unless ``together``.
    """
    body = body or Body()

    def per_side(v: dict[Side, float] | float) -> dict[Side, float]:
        return {s: float(v.get(s, 0.0)) if isinstance(v, dict) else float(v) for s in SIDES}

    ir, er = per_side(internal_deg), per_side(external_deg)
    seg = hold_s + cycles * cycle_s
    n_seg = 1 if together else len(legs)
    t = np.arange(0.0, n_seg * seg + hold_s, 1.0 / fps)
    rot_curve = {s: np.zeros_like(t) for s in SIDES}
    for i, s in enumerate(legs):
        start = (0 if together else i) * seg + hold_s
        u = (t - start) / cycle_s
        active = (u >= 0) & (u < cycles)
        w = np.sin(2 * np.pi * u)
        rot_curve[s] = np.where(active, np.where(w > 0, ir[s] * w, er[s] * w), 0.0)
    angles = {
        s: {
            "hip_flexion": 90.0,
            "knee_flexion": knee_flexion_deg,
            "knee_abduction": knee_abduction_deg,
            "tibial_rotation": rot_curve[s],
        }
        for s in SIDES
    }
    pos = np.array([0.0, 0.50, 0.0])
    world = skeleton(angles, pos, None, body)
    truth = {f"{s}_tibial_rotation_deg": rot_curve[s] for s in SIDES}
    truth |= {f"{s}_knee_flexion_deg": np.full_like(t, knee_flexion_deg) for s in SIDES}
    return Scene(
        time_s=t, world=world, truth=truth, anterior=np.broadcast_to([0.0, 0.0, 1.0], (len(t), 3))
    )


def lunge_scene(
    n_reps: int = 4,
    *,
    front: Side = "left",
    fps: float = 30.0,
    depth_deg: float = 90.0,
    valgus_deg: float = 0.0,
    rep_s: float = 2.5,
    pause_s: float = 0.5,
    body: Body | None = None,
) -> Scene:
    """Split-squat lunges: front hip and knee flex, rear hip extends, rear knee bends."""
    body = body or Body()
    back = "right" if front == "left" else "left"
    period = rep_s + pause_s
    t = np.arange(0.0, 1.0 + n_reps * period + 0.5, 1.0 / fps)
    u = (t - 1.0) % period
    active = (t >= 1.0) & (t < 1.0 + n_reps * period) & (u < rep_s)
    phase = np.where(active, (1 - np.cos(2 * np.pi * u / rep_s)) / 2, 0.0)
    angles = {
        front: {
            "hip_flexion": 30 + 60 * phase,
            "knee_flexion": 10 + (depth_deg - 10) * phase,
            "knee_abduction": valgus_deg * phase,
        },
        back: {"hip_flexion": -15 - 5 * phase, "knee_flexion": 10 + 80 * phase},
    }
    rot = np.broadcast_to(np.eye(3), (len(t), 3, 3))
    world = _on_floor(angles, rot, body)
    reps = [
        (1.0 + k * period, 1.0 + k * period + rep_s / 2, 1.0 + k * period + rep_s)
        for k in range(n_reps)
    ]
    return Scene(t, world, _truth(angles, world, rot[..., 2]), rot[..., 2], reps)
