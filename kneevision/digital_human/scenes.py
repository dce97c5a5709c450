"""Scenes: the movements of each protocol as exact poses over time.

Each scene function returns a :class:`Scene`: one :class:`~.body.Pose` per frame,
the seat or step it needs, what the analysis should find (protocol, view,
repetitions) and the parameters that made it. Angles follow smooth cosine
ramps, as people move; nothing here is random unless a seed is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from kneevision.digital_human.body import ArmPose, LegPose, Pose, RestBody, pose_body
from kneevision.digital_human.render import Mesh
from kneevision.kinematics.landmarks import SIDES, Side, other

FloatArray = NDArray[np.float64]


@dataclass
class Scene:
    """A rendered movement's script and what it should be found to be."""

    name: str
    fps: float
    poses: list[Pose]
    protocol: str
    reps: list[dict] = field(default_factory=list)
    props: Callable[[RestBody, Pose], tuple[Mesh, ...]] | None = None
    params: dict = field(default_factory=dict)

    @property
    def time_s(self) -> FloatArray:
        """Frame times, seconds."""
        return np.arange(len(self.poses)) / self.fps


def _ramp(t: FloatArray, t0: float, t1: float) -> FloatArray:
    """0 before ``t0``, 1 after ``t1``, a half-cosine between."""
    x = np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _pulse(t: FloatArray, start: float, down: float, hold: float, up: float) -> FloatArray:
    """0 → 1 over ``down`` s, held ``hold`` s, back to 0 over ``up`` s."""
    return _ramp(t, start, start + down) - _ramp(t, start + down + hold, start + down + hold + up)


def _timeline(
    n_reps: int, lead: float, descent_s: float, ascent_s: float, pause_s: float, fps: float,
    sides: tuple[Side, ...],
) -> tuple[FloatArray, FloatArray, NDArray[np.int64], list[dict]]:  # fmt: skip
    """Frame times, depth (0 standing → 1 bottom), repetition index per frame and the reps.

    Each repetition: down over ``descent_s``, 0.15 s at the bottom, up over ``ascent_s``,
    then ``pause_s`` standing; ``lead`` s standing first.
    """
    rep_s = descent_s + 0.15 + ascent_s + pause_s
    t = np.arange(int((lead + n_reps * rep_s + 0.6) * fps)) / fps
    depth = np.zeros_like(t)
    rep_of = np.full(len(t), -1)
    reps = []
    for r in range(n_reps):
        s0 = lead + r * rep_s
        depth += _pulse(t, s0, descent_s, 0.15, ascent_s)
        rep_of[(t >= s0) & (t < s0 + rep_s)] = r
        reps += [{"side": side, "rep": r + 1, "start_s": s0, "bottom_s": s0 + descent_s + 0.075,
                  "end_s": s0 + descent_s + 0.15 + ascent_s} for side in sides]  # fmt: skip
    return t, depth, rep_of, reps


def _per_rep(value: float | list[float] | dict, side: Side, n: int) -> list[float]:
    v = value.get(side, 0.0) if isinstance(value, dict) else value
    return list(v) if isinstance(v, list | tuple) else [float(v)] * n


# ----------------------------------------------------------------------------- props


def box(
    x0: float, x1: float, y0: float, y1: float, z0: float, z1: float,
    color: tuple[float, float, float] = (0.30, 0.33, 0.38), cells: int = 6,
) -> Mesh:  # fmt: skip
    """A box (seat or step), its faces finely tessellated for the rasteriser."""
    verts, faces = [], []
    lo, hi = np.array([x0, y0, z0]), np.array([x1, y1, z1])
    for axis in range(3):
        for end in (0, 1):
            u, w = [a for a in range(3) if a != axis]
            g = np.linspace(0, 1, cells + 1)
            uu, ww = np.meshgrid(g, g, indexing="ij")
            p = np.zeros((cells + 1, cells + 1, 3))
            p[..., axis] = (lo if end == 0 else hi)[axis]
            p[..., u] = lo[u] + uu * (hi[u] - lo[u])
            p[..., w] = lo[w] + ww * (hi[w] - lo[w])
            base = len(verts) and sum(len(v) for v in verts)
            verts.append(p.reshape(-1, 3))
            i = np.arange((cells + 1) ** 2).reshape(cells + 1, cells + 1) + base
            a, b, c, d = i[:-1, :-1], i[1:, :-1], i[1:, 1:], i[:-1, 1:]
            # Counter-clockwise seen from outside: the winding flips with the face's end
            # and with the (u, w) order relative to the axis.
            flip = (end == 0) != (axis == 1)
            t1 = np.stack([a, b, c], -1) if not flip else np.stack([a, c, b], -1)
            t2 = np.stack([a, c, d], -1) if not flip else np.stack([a, d, c], -1)
            faces.append(np.concatenate([t1.reshape(-1, 3), t2.reshape(-1, 3)]))
    return Mesh(np.concatenate(verts), np.concatenate(faces).astype(np.int64), color)


def _seat_for(rest: RestBody, pose: Pose) -> Mesh:
    """A bench under the thighs of a seated pose, its top where the thighs rest."""
    from kneevision.digital_human.assets import SEGMENT_NAMES
    from kneevision.digital_human.body import skin

    posed = pose_body(rest, pose)
    w = rest.weights
    cols = [SEGMENT_NAMES.index(n) for n in ("pelvis", "thigh.L", "thigh.R")]
    v = skin(rest, posed, w[:, cols].sum(axis=1) > 0.6)
    knees_z = min(posed.points["knee.L"][2], posed.points["knee.R"][2])
    back_z = posed.points["hip.L"][2] - 0.25
    under = v[(v[:, 2] < knees_z - 0.12) & (v[:, 2] > back_z)]
    top = float(np.percentile(under[:, 1], 3))
    return box(-0.32, 0.32, 0.0, top, back_z, knees_z - 0.12)


# ----------------------------------------------------------------------------- scenes


SEATED_ARMS = {s: ArmPose(shoulder_flexion=8.0, shoulder_abduction=22.0, elbow_flexion=25.0)
               for s in SIDES}  # fmt: skip


def seated_twist(
    knee_flexion: float = 90.0,
    internal: dict[Side, float] | None = None,
    external: dict[Side, float] | None = None,
    *,
    order: str = "one-after-other",
    cycles: int = 2,
    fps: float = 30.0,
    ramp_s: float = 0.8,
    hold_s: float = 0.4,
) -> Scene:
    """Seated twist test: sitting, each shank turned in and out with the foot on the floor.

    Parameters
    ----------
    knee_flexion : float
        Knee angle held (70, 90, 110° are the test's usual ones).
    internal, external : dict
        Per leg, the largest internal and external tibial rotation (degrees, both > 0).
    order : {"one-after-other", "both"}
        Left leg then right leg, or both legs together.
    cycles : int
        In–out cycles per leg.
    """
    internal = internal or {"left": 18.0, "right": 8.0}
    external = external or {"left": 28.0, "right": 26.0}
    cycle = 4 * ramp_s + 2 * hold_s + 0.2
    lead = 1.5
    legs_order = [list(SIDES)] if order == "both" else [["left"], ["right"]]
    total = lead + len(legs_order) * (cycles * cycle + 0.8) + 0.8
    t = np.arange(int(total * fps)) / fps
    rot = {s: np.zeros_like(t) for s in SIDES}
    start = lead
    for group in legs_order:
        for _ in range(cycles):
            for s in group:
                ir = _pulse(t, start, ramp_s, hold_s, ramp_s)
                er = _pulse(t, start + 2 * ramp_s + hold_s + 0.2, ramp_s, hold_s, ramp_s)
                rot[s] += internal[s] * ir - external[s] * er
            start += cycle
        start += 0.8
    base = Pose(
        arms=SEATED_ARMS,
        legs={s: LegPose(hip_flexion=90.0, hip_adduction=-4.0, knee_flexion=knee_flexion,
                         planted=True) for s in SIDES},
    )  # fmt: skip
    poses = [
        replace(base, legs={s: replace(base.legs[s], tibial_rotation=float(rot[s][i]))
                            for s in SIDES})
        for i in range(len(t))
    ]  # fmt: skip
    return Scene(
        "seated-twist", fps, poses, "seated-twist",
        props=lambda rest, pose: (_seat_for(rest, base),),
        params={"knee_flexion_deg": knee_flexion, "internal_deg": internal,
                "external_deg": external, "order": order, "cycles": cycles},
    )  # fmt: skip


def _squat_leg(k: float, valgus: float, toe_out: float, stance: float) -> LegPose:
    """A planted leg at knee flexion ``k``: shank tilted forward ~0.42 k, knee ``valgus``."""
    shank = 0.42 * k
    thigh = k - shank
    return LegPose(
        hip_flexion=thigh + 0.3 * thigh,  # the pelvis tilts forward by 0.3 of the thigh
        hip_adduction=-stance + valgus,
        hip_rotation=0.6 * valgus,
        knee_flexion=k,
        tibial_rotation=-toe_out,
        planted=True,
    )


def _hold_ankle(rest: RestBody, pose: Pose, side: Side, target: float) -> Pose:
    """Adjust knee abduction so the ankle keeps its place sideways (the foot stays put)."""

    def lateral(ab: float) -> float:
        p = pose_body(rest, replace(pose.with_leg(side, knee_abduction=ab), floor=False))
        return float(p.points[f"ankle.{'L' if side == 'left' else 'R'}"][0])

    a0, a1 = 0.0, 2.0
    f0, f1 = lateral(a0) - target, lateral(a1) - target
    for _ in range(4):
        if abs(f1 - f0) < 1e-9:
            break
        a0, a1, f0 = a1, a1 - f1 * (a1 - a0) / (f1 - f0), f1
        f1 = lateral(a1) - target
    return pose.with_leg(side, knee_abduction=a1)


def squat(
    n_reps: int = 5,
    depth: float = 70.0,
    *,
    valgus: float | list[float] | dict = 0.0,
    toe_out: float = 8.0,
    stance: float = 5.0,
    descent_s: float = 1.0,
    ascent_s: float = 1.0,
    pause_s: float = 0.6,
    fps: float = 30.0,
    rest: RestBody | None = None,
) -> Scene:
    """Bilateral squats.

    Parameters
    ----------
    n_reps : int
    depth : float
        Peak knee flexion (degrees).
    valgus : float, list or dict
        Knee cave-in at the bottom, as hip adduction (degrees) with the ankle held in
        place; per side (``{"left": 8}``) and/or per repetition (a list).
    toe_out, stance : float
        Feet turned out; legs apart (hip abduction), degrees.
    """
    from kneevision.digital_human.body import BodyShape, rest_body

    rest = rest or rest_body(BodyShape())
    t, depth_t, rep_of, reps = _timeline(n_reps, 1.0, descent_s, ascent_s, pause_s, fps, SIDES)
    v = {s: _per_rep(valgus, s, n_reps) for s in SIDES}
    arms = {s: ArmPose(shoulder_flexion=0.0, shoulder_abduction=12.0, elbow_flexion=10.0)
            for s in SIDES}  # fmt: skip
    poses = []
    for i, ti in enumerate(t):
        f = float(depth_t[i])
        k = depth * f
        legs = {}
        for s in SIDES:
            vv = v[s][rep_of[i]] * f if rep_of[i] >= 0 else 0.0
            legs[s] = _squat_leg(k, vv, toe_out, stance)
        # Arms reach forward as the hips go back (counterbalance), as people do.
        arms = {s: ArmPose(shoulder_flexion=80.0 * f, shoulder_abduction=12.0 * (1 - f),
                           elbow_flexion=10.0) for s in SIDES}  # fmt: skip
        pose = Pose(pitch=0.3 * (k - 0.42 * k), trunk_flexion=0.25 * k, legs=legs, arms=arms)
        for s in SIDES:
            if legs[s].hip_adduction != -stance:
                ref = pose_body(
                    rest,
                    replace(pose.with_leg(s, hip_adduction=-stance, hip_rotation=0.0), floor=False),
                )
                x = float(ref.points[f"ankle.{'L' if s == 'left' else 'R'}"][0])
                pose = _hold_ankle(rest, pose, s, x)
        poses.append(pose)
        del ti
    return Scene(
        "squat", fps, poses, "squat", reps=reps,
        params={"n_reps": n_reps, "depth_deg": depth, "valgus_deg": v, "toe_out_deg": toe_out,
                "stance_deg": stance},
    )  # fmt: skip


def single_leg_squat(
    n_reps: int = 4,
    depth: float = 55.0,
    side: Side = "left",
    *,
    valgus: float | list[float] = 0.0,
    pelvic_drop: float = 0.0,
    step: float = 0.0,
    descent_s: float = 1.1,
    ascent_s: float = 1.1,
    pause_s: float = 0.7,
    fps: float = 30.0,
    rest: RestBody | None = None,
) -> Scene:
    """Single-leg squats on ``side`` (``step`` > 0: a step-down from a box that high).

    ``pelvic_drop`` lowers the free side's hip at the bottom (degrees of pelvic roll).
    """
    from kneevision.digital_human.body import BodyShape, rest_body

    rest = rest or rest_body(BodyShape())
    t, depth_t, rep_of, reps = _timeline(n_reps, 1.2, descent_s, ascent_s, pause_s, fps, (side,))
    vv = _per_rep(valgus, side, n_reps)
    free = other(side)
    lift = _ramp(t, 0.2, 0.9)  # the free foot comes off the floor first
    poses = []
    for i in range(len(t)):
        f = float(depth_t[i])
        k = depth * f
        val = vv[rep_of[i]] * f if rep_of[i] >= 0 else 0.0
        stance_leg = _squat_leg(k, val, 5.0, 2.0)
        if step:  # the free leg reaches down in front of the step
            free_leg = LegPose(hip_flexion=25.0 * f + 5, knee_flexion=10.0 * f + 5,
                               ankle_dorsiflexion=-20.0)  # fmt: skip
        else:  # the free foot held off the floor behind
            free_leg = LegPose(hip_flexion=15.0 * lift[i] + 10 * f,
                               knee_flexion=75.0 * lift[i], ankle_dorsiflexion=-25.0)  # fmt: skip
        roll = pelvic_drop * f * (1 if free == "right" else -1)
        pose = Pose(pitch=0.3 * 0.58 * k, trunk_flexion=0.3 * k, roll=roll,
                    legs={side: stance_leg, free: free_leg}, base_height=step,
                    arms={s: ArmPose(shoulder_flexion=40.0 * f, shoulder_abduction=30.0)
                          for s in SIDES})  # fmt: skip
        poses.append(pose)
    name = "step-down" if step else "single-leg-squat"
    props = _step_props(side, step) if step else None
    return Scene(name, fps, poses, name, reps=reps, props=props,
                 params={"n_reps": n_reps, "depth_deg": depth, "side": side, "valgus_deg": vv,
                         "pelvic_drop_deg": pelvic_drop, "step_m": step})  # fmt: skip


def _step_props(side: Side, height: float) -> Callable[[RestBody, Pose], tuple[Mesh, ...]]:
    def props(rest: RestBody, pose: Pose) -> tuple[Mesh, ...]:
        posed = pose_body(rest, pose)
        ankle = posed.points[f"ankle.{'L' if side == 'left' else 'R'}"]
        return (box(ankle[0] - 0.17, ankle[0] + 0.17, 0.0, height, ankle[2] - 0.2, ankle[2] + 0.2),)

    return props


def lunge(
    n_reps: int = 4,
    *,
    kind: str = "alternating",
    first: Side = "left",
    depth: float = 90.0,
    descent_s: float = 1.0,
    ascent_s: float = 1.0,
    pause_s: float = 0.8,
    fps: float = 30.0,
) -> Scene:
    """Lunges: ``forward``/``reverse`` keep ``first`` leading; ``alternating`` switches.

    The leading (front) foot stays planted; the back leg steps back and bends until its
    knee nears the floor, heel up, then both return to standing between repetitions.
    """
    rep_s = descent_s + 0.2 + ascent_s + pause_s
    lead = 1.0
    t = np.arange(int((lead + n_reps * rep_s + 0.6) * fps)) / fps
    poses, reps = [], []
    for r in range(n_reps):
        front = first if kind != "alternating" or r % 2 == 0 else other(first)
        s0 = lead + r * rep_s
        reps.append({"side": front, "rep": r + 1, "start_s": s0,
                     "bottom_s": s0 + descent_s + 0.1,
                     "end_s": s0 + descent_s + 0.2 + ascent_s})  # fmt: skip
    for ti in t:
        r = int(np.clip((ti - lead) // rep_s, 0, n_reps - 1))
        front = reps[r]["side"]
        f = float(_pulse(np.array([ti]), reps[r]["start_s"], descent_s, 0.2, ascent_s)[0])
        back = other(front)
        fk = depth * f
        legs = {
            front: LegPose(hip_flexion=0.85 * fk, hip_adduction=-3.0, knee_flexion=fk,
                           tibial_rotation=-5.0, planted=True),
            back: LegPose(hip_flexion=-18.0 * f, hip_adduction=-3.0, knee_flexion=0.95 * fk,
                          ankle_dorsiflexion=-35.0 * f, tibial_rotation=-5.0,
                          planted=f < 0.05),
        }  # fmt: skip
        # Forward: the front foot lands 30 cm ahead of where it stood (the body moves toward
        # the camera); reverse and alternating: the back foot steps back, the front stays.
        ahead = 0.3 * f if kind == "forward" else 0.0
        poses.append(Pose(position=(0.0, 0.95, ahead), trunk_flexion=5.0 * f, legs=legs,
                          arms={s: ArmPose(shoulder_abduction=14.0, elbow_flexion=20.0)
                                for s in SIDES}))  # fmt: skip
    return Scene(
        "lunge",
        fps,
        poses,
        "lunge",
        reps=reps,
        params={"n_reps": n_reps, "kind": kind, "first": first, "depth_deg": depth},
    )


def balance(
    side: Side = "left",
    duration_s: float = 7.0,
    *,
    sway_deg: float = 2.0,
    touch_down_s: float | None = None,
    fps: float = 30.0,
) -> Scene:
    """Single-leg balance on ``side``: the free foot lifted, the body swaying a little.

    ``touch_down_s``: the free foot touches the floor then (for 0.6 s).
    """
    t = np.arange(int(duration_s * fps)) / fps
    free = other(side)
    lift = _ramp(t, 0.3, 1.0)
    if touch_down_s is not None:
        lift = lift * (1 - _pulse(t, touch_down_s - 0.25, 0.25, 0.6, 0.25))
    poses = []
    for i, ti in enumerate(t):
        sway = sway_deg * np.sin(2 * np.pi * 0.6 * ti) * lift[i]
        legs = {
            side: LegPose(hip_flexion=5.0, hip_adduction=sway, knee_flexion=8.0 + 2.0 * np.sin(
                2 * np.pi * 0.4 * ti), tibial_rotation=-6.0, planted=True),
            free: LegPose(hip_flexion=45.0 * lift[i], hip_adduction=-3.0,
                          knee_flexion=85.0 * lift[i], ankle_dorsiflexion=-20.0 * lift[i],
                          planted=bool(lift[i] < 0.02)),
        }  # fmt: skip
        poses.append(Pose(legs=legs, roll=0.5 * sway,
                          arms={s: ArmPose(shoulder_abduction=35.0, elbow_flexion=15.0)
                                for s in SIDES}))  # fmt: skip
    return Scene("balance", fps, poses, "balance",
                 params={"side": side, "duration_s": duration_s, "sway_deg": sway_deg,
                         "touch_down_s": touch_down_s})  # fmt: skip


def knee_to_wall(
    n_reps: int = 3, side: Side = "left", *, shank_angle: float = 38.0, fps: float = 30.0
) -> Scene:
    """Knee-to-wall test: the front knee driven forward over the planted foot.

    ``shank_angle``: the largest forward tilt of the front shank from vertical (degrees).
    """
    rep_s = 1.2 + 0.4 + 1.2 + 0.7
    lead = 1.0
    t = np.arange(int((lead + n_reps * rep_s + 0.5) * fps)) / fps
    back = other(side)
    reps, poses = [], []
    for r in range(n_reps):
        s0 = lead + r * rep_s
        reps.append({"side": side, "rep": r + 1, "start_s": s0, "bottom_s": s0 + 1.4,
                     "end_s": s0 + 2.8})  # fmt: skip
    f_all = sum(_pulse(t, rp["start_s"], 1.2, 0.4, 1.2) for rp in reps)
    pitch = 5.0
    for i in range(len(t)):
        f = float(f_all[i])
        sa = shank_angle * f  # the front shank's forward tilt from vertical
        thigh = 25.0 + 20.0 * f  # the front thigh's forward tilt from vertical
        legs = {
            side: LegPose(hip_flexion=thigh + pitch, knee_flexion=thigh + sa, planted=True),
            back: LegPose(hip_flexion=-15.0, knee_flexion=10.0 + 15.0 * f,
                          ankle_dorsiflexion=-20.0),
        }  # fmt: skip
        poses.append(Pose(pitch=pitch, legs=legs))
    return Scene(
        "knee-to-wall",
        fps,
        poses,
        "ankle",
        reps=reps,
        params={"n_reps": n_reps, "side": side, "shank_angle_deg": shank_angle},
    )


SCENES: dict[str, Callable[..., Scene]] = {
    "seated-twist": seated_twist,
    "squat": squat,
    "single-leg-squat": single_leg_squat,
    "step-down": lambda **kw: single_leg_squat(step=kw.pop("step", 0.2), **kw),
    "lunge": lunge,
    "balance": balance,
    "knee-to-wall": knee_to_wall,
}
