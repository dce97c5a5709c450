"""Render the digital human like a phone camera: room, light, shadows, noise, blur.

One :class:`Renderer` per clip: it holds the shaped body, its clothing colours,
the camera and the room (whose picture is computed once, the camera being
still), and turns a :class:`~kneevision.digital_human.body.Pose` into a BGR
frame. The body, the seat and any printed markers go through one z-buffer
(:mod:`~kneevision.digital_human.raster`) on a supersampled grid; the room is
ray-cast at the output resolution and the two are blended by coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from kneevision.digital_human.assets import SEGMENT_NAMES
from kneevision.digital_human.body import (
    SKIN_TONES,
    BodyShape,
    Pose,
    PosedBody,
    RestBody,
    pose_body,
    rest_body,
    skin,
)
from kneevision.digital_human.raster import rasterize
from kneevision.synthetic import Camera

FloatArray = NDArray[np.float64]
BGR = tuple[float, float, float]
_GAMMA = (np.linspace(0.0, 1.0, 4096, dtype=np.float32) ** (1 / 2.2) * 255.0).astype(np.float32)


@dataclass(frozen=True)
class PhoneCamera:
    """Where the phone stands and what it records.

    Attributes
    ----------
    width, height : int
        Frame size (portrait when ``height > width``).
    fov_deg : float
        Field of view across the frame's long side (a phone's main camera: 65–75°).
    fps : float
    distance : float
        Horizontal distance from the subject, metres.
    height_m : float
        Lens height above the floor.
    azimuth : float
        Where round the subject: 0 = in front, 90 = at the subject's left side,
        −90 = right side (degrees, about the vertical).
    pitch : float or None
        Downward tilt (degrees); None aims at :attr:`aim_height` over the subject.
    roll : float
        Image tilt (degrees).
    aim_height : float
        Height aimed at when ``pitch`` is None.
    """

    width: int = 1280
    height: int = 720
    fov_deg: float = 65.0
    fps: float = 30.0
    distance: float = 3.0
    height_m: float = 0.6
    azimuth: float = 0.0
    pitch: float | None = None
    roll: float = 0.0
    aim_height: float = 0.6

    @property
    def focal_px(self) -> float:
        """Focal length in pixels from the field of view."""
        return max(self.width, self.height) / 2 / np.tan(np.radians(self.fov_deg) / 2)

    def camera(self, subject: tuple[float, float] = (0.0, 0.0)) -> Camera:
        """The pinhole camera (world → pixels) for a subject standing at ``(x, z)``."""
        az = np.radians(self.azimuth)
        sx, sz = subject
        pos = np.array(
            [sx + self.distance * np.sin(az), self.height_m, sz + self.distance * np.cos(az)]
        )
        if self.pitch is None:
            target = np.array([sx, self.aim_height, sz])
        else:
            horiz = np.array([sx, self.height_m, sz]) - pos
            horiz /= np.linalg.norm(horiz)
            target = pos + np.cos(np.radians(self.pitch)) * horiz
            target[1] -= np.sin(np.radians(self.pitch))
        return Camera.look_at(
            pos, target, roll_deg=self.roll, focal_px=self.focal_px,
            width=self.width, height=self.height,
        )  # fmt: skip


@dataclass(frozen=True)
class Lighting:
    """A key light (direction and strength) over a soft ambient fill.

    ``azimuth`` 0 lights the subject from its front, +90 from its left; ``elevation``
    above the horizon. ``shadow`` is how dark the floor gets in full shadow.
    """

    azimuth: float = 25.0
    elevation: float = 55.0
    strength: float = 0.75
    ambient: float = 0.38
    shadow: float = 0.45

    @property
    def direction(self) -> FloatArray:
        """Unit vector toward the light."""
        az, el = np.radians([self.azimuth, self.elevation])
        return np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])


#: Floor textures the room can have.
FLOORS = ("wood", "tiles", "carpet")


@dataclass(frozen=True)
class Look:
    """Clothing and surroundings (colours BGR in 0–1).

    Attributes
    ----------
    top, shorts, shoes : BGR
        Shirt (trunk and upper arms), shorts, and foot colour (``None`` = barefoot).
    shorts_length : float
        How far down the thigh the shorts reach (0 = briefs, 1 = to the knee).
    floor : str
        ``wood``, ``tiles`` or ``carpet``.
    wall : BGR
    wall_gap : float
        Wall distance behind the subject (seen from the camera), metres.
    noise : float
        Sensor noise, standard deviation in 8-bit levels.
    """

    top: BGR = (0.55, 0.35, 0.20)
    shorts: BGR = (0.18, 0.18, 0.22)
    shoes: BGR | None = None
    shorts_length: float = 0.45
    floor: str = "wood"
    wall: BGR = (0.78, 0.80, 0.82)
    wall_gap: float = 1.6
    noise: float = 2.0

    def __post_init__(self) -> None:
        if self.floor not in FLOORS:
            raise ValueError(f"unknown floor {self.floor!r}; choose from {', '.join(FLOORS)}")


@dataclass(frozen=True)
class Mesh:
    """Extra geometry rendered with the body (a seat, printed markers).

    ``vertices`` (N, 3) world metres, ``faces`` (F, 3) counter-clockwise seen from
    outside, ``color`` BGR; ``uv`` (N, 2) and ``texture`` (grey, 0–255) for a
    textured quad.
    """

    vertices: FloatArray
    faces: NDArray[np.int64]
    color: BGR = (0.5, 0.5, 0.5)
    uv: FloatArray | None = None
    texture: NDArray[np.uint8] | None = None


@dataclass
class Renderer:
    """Renders one clip's frames (body, camera, light, look fixed; the pose changes)."""

    shape: BodyShape = field(default_factory=BodyShape)
    camera: PhoneCamera = field(default_factory=PhoneCamera)
    lighting: Lighting = field(default_factory=Lighting)
    look: Look = field(default_factory=Look)
    supersample: int = 2
    subject: tuple[float, float] = (0.0, 0.0)
    seed: int = 0

    def __post_init__(self) -> None:
        self.rest: RestBody = rest_body(self.shape)
        self.cam = self.camera.camera(self.subject)
        self._colors = _vertex_colors(self.rest, self.look)
        self._background, self._floor_mask = _room(self.cam, self.look, self.lighting, self.subject)
        self._rng = np.random.default_rng(self.seed)

    def pose(self, pose: Pose) -> PosedBody:
        """Forward kinematics for this body."""
        return pose_body(self.rest, pose)

    def frame(
        self, posed: PosedBody | list[PosedBody], extras: tuple[Mesh, ...] = ()
    ) -> NDArray[np.uint8]:
        """One BGR frame; a list of poses is averaged (motion blur over the exposure)."""
        poses = posed if isinstance(posed, list) else [posed]
        acc = np.zeros((self.camera.height, self.camera.width, 3), np.float32)
        for p in poses:
            acc += self._linear(p, extras)
        if len(poses) > 1:
            acc /= len(poses)
        # Linear light → display through a 12-bit table (a power law per pixel is slow).
        img = _GAMMA[np.clip(acc * 4095.0 + 0.5, 0, 4095).astype(np.int16)]
        if self.look.noise:
            img = img + self.look.noise * self._rng.standard_normal(img.shape, np.float32)
        return np.clip(img + 0.5, 0, 255).astype(np.uint8)

    def _linear(self, posed: PosedBody, extras: tuple[Mesh, ...]) -> NDArray[np.float32]:
        verts = skin(self.rest, posed)
        normals = _vertex_normals(verts, self.rest.faces)
        w, h, ss = self.camera.width, self.camera.height, self.supersample
        img = self._background.copy()
        shadow = self._shadow(verts)
        img *= (1.0 - self.lighting.shadow * shadow * self._floor_mask)[..., None]

        # Everything rendered on the supersampled raster, inside the body's box.
        parts = [(verts, self.rest.faces, normals, self._colors, None, None)]
        for m in extras:
            n = _vertex_normals(m.vertices, m.faces)
            col = np.broadcast_to(np.asarray(m.color, np.float32), (len(m.vertices), 3))
            parts.append((m.vertices, m.faces, n, col, m.uv, m.texture))
        cam_pts = [self.cam.to_camera(p[0]) for p in parts]
        px = [self.cam.project(p[0]) for p in parts]
        box = _box(np.concatenate(px), w, h)
        if box is None:
            return img
        x0, y0, x1, y1 = box
        bw, bh = (x1 - x0) * ss, (y1 - y0) * ss
        tri_xy, tri_z, owner = [], [], []
        for k, ((_, faces, *_rest), c, p) in enumerate(zip(parts, cam_pts, px, strict=True)):
            q = (p - [x0, y0]) * ss
            tri_xy.append(q[faces])
            tri_z.append(c[faces, 2])
            owner.append(np.full(len(faces), k))
        fr = rasterize(np.concatenate(tri_xy), np.concatenate(tri_z), bw, bh)
        if not len(fr.pixel):
            return img
        owner_all = np.concatenate(owner)
        starts = np.cumsum([0] + [len(p[1]) for p in parts])
        color = np.zeros((len(fr.pixel), 3), np.float32)
        light = self.lighting
        ldir = light.direction.astype(np.float32)
        for k, (_verts, faces, norms, cols, uv, tex) in enumerate(parts):
            sel = owner_all[fr.triangle] == k
            if not sel.any():
                continue
            tri = faces[fr.triangle[sel] - starts[k]]
            b = fr.bary[sel][..., None]
            n = np.sum(norms[tri] * b, axis=1)
            n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
            if tex is not None and uv is not None:
                st = np.sum(uv[tri] * b, axis=1)
                albedo = _sample(tex, st)[:, None].repeat(3, axis=1) * 0.85
            else:
                albedo = np.sum(cols[tri] * b, axis=1)
            lambert = np.clip(n @ ldir, 0.0, None)
            sky = light.ambient * (0.65 + 0.35 * n[:, 1])
            color[sel] = albedo * (sky + light.strength * lambert)[:, None]
        # Average the supersampled raster down to pixels, weighting by coverage.
        cov = np.zeros(bw * bh, np.float32)
        cov[fr.pixel] = 1.0
        rgb = np.zeros((bw * bh, 3), np.float32)
        rgb[fr.pixel] = color
        # INTER_AREA with an integer factor is the exact box average.
        cov = cv2.resize(cov.reshape(bh, bw), (bw // ss, bh // ss), interpolation=cv2.INTER_AREA)
        rgb = cv2.resize(rgb.reshape(bh, bw, 3), (bw // ss, bh // ss), interpolation=cv2.INTER_AREA)
        region = img[y0:y1, x0:x1]
        region *= 1.0 - cov[..., None]
        region += rgb
        return img

    def _shadow(self, verts: FloatArray) -> NDArray[np.float32]:
        """Soft shadow of the body on the floor, from the key light (1 = full shadow)."""
        w, h = self.camera.width, self.camera.height
        ldir = self.lighting.direction
        onto = verts - (verts[:, 1:2] / max(ldir[1], 0.15)) * ldir  # along the light, to y = 0
        onto[:, 1] = 0.0
        pts = self.cam.project(onto)[self.rest.faces]
        mask = np.zeros((h, w), np.uint8)
        good = np.all(np.isfinite(pts), axis=(1, 2))
        cv2.fillPoly(mask, list(np.round(pts[good] * 4).astype(np.int32)), 255, shift=2)
        k = max(3, int(w / 160) | 1)
        soft = cv2.GaussianBlur(mask, (k, k), 0).astype(np.float32) / 255.0
        # Contact shadow: darker right under the feet, where the soles meet the floor.
        low = verts[verts[:, 1] < 0.02]
        if len(low):
            contact = np.zeros((h, w), np.uint8)
            p = self.cam.project(low * [1, 0, 1])
            for x, y in np.round(p[np.all(np.isfinite(p), axis=1)]).astype(int)[::3]:
                cv2.circle(contact, (int(x), int(y)), max(2, w // 400), 255, -1)
            k2 = max(5, int(w / 60) | 1)
            soft = np.maximum(soft, cv2.GaussianBlur(contact, (k2, k2), 0) / 255.0 * 0.8)
        return soft


def _box(px: FloatArray, w: int, h: int) -> tuple[int, int, int, int] | None:
    ok = px[np.all(np.isfinite(px), axis=1)]
    if not len(ok):
        return None
    x0, y0 = np.maximum(np.floor(ok.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(ok.max(axis=0)).astype(int) + 2, [w, h])
    return (int(x0), int(y0), int(x1), int(y1)) if x1 > x0 and y1 > y0 else None


def _sample(tex: NDArray[np.uint8], st: FloatArray) -> NDArray[np.float32]:
    """Texture averaged over each sample's footprint, as a camera pixel integrates light.

    A point lookup in a texture finer than the raster aliases: the printed edges
    land on the sampling grid, and a marker's corners then move by hundredths of a
    pixel with its angle (an ArUco pose needs them to a few hundredths). So each
    sample integrates the texture over the area it stands for. The samples of one
    textured quad lie on the projected (supersampled) pixel grid, so a sample's two
    nearest non-parallel neighbours in texture space span its footprint; the texture
    is integrated over the box bounding that parallelogram with a summed-area table,
    which is exact for a printed pattern of uniform texels.

    Parameters
    ----------
    tex : ndarray (H, W) uint8
        Grey texture, display-encoded (gamma 2.2).
    st : ndarray (N, 2)
        Every visible sample of one quad, in [0, 1]² (s right, t down).

    Returns
    -------
    ndarray (N,) float32
        Linear-light albedo.
    """
    from scipy.spatial import cKDTree

    th, tw = tex.shape
    sat = np.zeros((th + 1, tw + 1))
    sat[1:, 1:] = ((tex.astype(np.float64) / 255.0) ** 2.2).cumsum(axis=0).cumsum(axis=1)
    st = np.asarray(st, dtype=float).reshape(-1, 2)
    n = len(st)
    half = np.zeros((n, 2))
    if n >= 3:
        _, idx = cKDTree(st).query(st, k=min(7, n))
        off = st[idx[:, 1:]] - st[:, None, :]  # nearest first
        a, others = off[:, 0], off[:, 1:]
        cos = np.abs(np.einsum("nkj,nj->nk", others, a)) / (
            np.linalg.norm(others, axis=2) * np.linalg.norm(a, axis=1)[:, None] + 1e-30
        )
        apart = cos < 0.8
        b = others[np.arange(n), np.argmax(apart, axis=1)]
        b = np.where(apart.any(axis=1)[:, None], b, a[:, ::-1] * [1.0, -1.0])
        half = (np.abs(a) + np.abs(b)) / 2 * [tw, th]
    half = np.maximum(half, 0.5)  # at least one texel: the pattern is uniform within one
    x, y = st[:, 0] * tw, st[:, 1] * th
    x0, x1 = np.clip(x - half[:, 0], 0, tw), np.clip(x + half[:, 0], 0, tw)
    y0, y1 = np.clip(y - half[:, 1], 0, th), np.clip(y + half[:, 1], 0, th)

    def integral(u: FloatArray, v: FloatArray) -> FloatArray:
        # The summed-area table is bilinear within a texel: exact for uniform texels.
        i, j = np.minimum(u.astype(int), tw - 1), np.minimum(v.astype(int), th - 1)
        fu, fv = u - i, v - j
        return (sat[j, i] * (1 - fu) + sat[j, i + 1] * fu) * (1 - fv) + (
            sat[j + 1, i] * (1 - fu) + sat[j + 1, i + 1] * fu
        ) * fv

    total = integral(x1, y1) - integral(x0, y1) - integral(x1, y0) + integral(x0, y0)
    return (total / np.maximum((x1 - x0) * (y1 - y0), 1e-12)).astype(np.float32)


def _vertex_normals(v: FloatArray, faces: NDArray) -> NDArray[np.float32]:
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    n = np.zeros_like(v)
    for c in range(3):
        for k in range(3):
            n[:, c] += np.bincount(faces[:, k], weights=fn[:, c], minlength=len(v))
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    return n.astype(np.float32)


def _srgb_to_linear(c: BGR) -> NDArray[np.float32]:
    return np.asarray(c, np.float32) ** 2.2


def _vertex_colors(rest: RestBody, look: Look) -> NDArray[np.float32]:
    """Skin, shirt, shorts and shoes painted on the rest mesh (linear light)."""
    v, w, j = rest.vertices, rest.weights, rest.joints
    seg = {n: w[:, i] for i, n in enumerate(SEGMENT_NAMES)}
    colors = np.broadcast_to(_srgb_to_linear(SKIN_TONES[rest.shape.skin]), v.shape).copy()
    knee_y = (j["knee.L"][1] + j["knee.R"][1]) / 2
    hip_y = (j["hip.L"][1] + j["hip.R"][1]) / 2
    hem = hip_y - look.shorts_length * (hip_y - knee_y) - 0.06
    waist = j["lumbar"][1] + 0.04
    legs = seg["pelvis"] + sum(seg[f"thigh.{s}"] for s in "LR")
    arms = sum(seg[f"forearm.{s}"] for s in "LR")
    shorts = (v[:, 1] > hem) & (v[:, 1] < waist) & (legs + seg["trunk"] > 0.5) & (arms < 0.5)
    upper = sum(seg[f"upperarm.{s}"] for s in "LR")
    shirt = (v[:, 1] >= waist) & (seg["trunk"] + seg["pelvis"] + upper > 0.5) & (arms < 0.3)
    shirt &= v[:, 1] < j["neck"][1] - 0.01
    colors[shorts] = _srgb_to_linear(look.shorts)
    colors[shirt] = _srgb_to_linear(look.top)
    if look.shoes is not None:
        feet = (seg["foot.L"] + seg["foot.R"] > 0.5) & (v[:, 1] < rest.sole_y + 0.09)
        colors[feet] = _srgb_to_linear(look.shoes)
    return colors.astype(np.float32)


def _room(
    cam: Camera, look: Look, light: Lighting, subject: tuple[float, float]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The empty room as the camera sees it (linear light), and where the floor is."""
    w, h = cam.width, cam.height
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    rays = np.stack([(u - w / 2) / cam.focal_px, (v - h / 2) / cam.focal_px, np.ones_like(u)], -1)
    rays = rays @ cam.rotation  # camera → world directions
    o = cam.position
    # Floor y = 0; a wall behind the subject, facing the camera.
    back = np.array([subject[0], 0.0, subject[1]]) - o
    back[1] = 0
    back /= np.linalg.norm(back)
    wall_d = np.dot(np.array([subject[0], 0, subject[1]]) - o, back) + look.wall_gap
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(rays[..., 1] < -1e-6, -o[1] / rays[..., 1], np.inf)
        t_wall = np.where(rays @ back > 1e-6, wall_d / (rays @ back), np.inf)
    floor = t_floor < t_wall
    p = o + rays * np.where(floor, t_floor, t_wall)[..., None]
    rng = np.random.default_rng(7)
    img = np.empty((h, w, 3), np.float32)
    base = _floor_texture(p[..., 0], p[..., 2], look.floor, rng)
    ldir = light.direction
    floor_light = light.ambient + light.strength * max(ldir[1], 0.0)
    img[floor] = base[floor] * floor_light
    # Wall: plain paint with a faint roller texture and a skirting board.
    wall_lat = p[..., 0] * back[2] - p[..., 2] * back[0]
    paint = _srgb_to_linear(look.wall) * (1 + 0.03 * np.sin(wall_lat[..., None] * 9.0)
                                          * np.cos(p[..., 1:2] * 13.0))  # fmt: skip
    skirting = p[..., 1] < 0.09
    paint[skirting] = _srgb_to_linear((0.92, 0.92, 0.9))
    wall_light = light.ambient + light.strength * max(float(-np.dot(ldir, back)), 0.0) * 0.6
    img[~floor] = (paint * wall_light)[~floor]
    return img, floor.astype(np.float32)


def _floor_texture(x: FloatArray, z: FloatArray, kind: str, rng: np.random.Generator) -> FloatArray:
    """Procedural floor colour (linear light) at world floor coordinates."""
    tones = rng.uniform(0.8, 1.2, 512)
    if kind == "tiles":
        i, k = np.floor(x / 0.3).astype(int), np.floor(z / 0.3).astype(int)
        grout = (np.abs(x / 0.3 - np.round(x / 0.3)) < 0.02) | (
            np.abs(z / 0.3 - np.round(z / 0.3)) < 0.02
        )
        base = np.array([0.62, 0.64, 0.66]) * tones[(i * 31 + k * 17) % 512, None] ** 0.3
        base[grout] = (0.35, 0.35, 0.35)
    elif kind == "carpet":
        base = np.array([0.25, 0.28, 0.45]) * (
            1 + 0.08 * np.sin(x * 150)[..., None] * np.sin(z * 170)[..., None]
        )
    else:  # wood planks running left–right, 14 cm wide, staggered joints
        row = np.floor(z / 0.14).astype(int)
        plank = np.floor((x + (row % 3) * 0.4) / 1.2).astype(int)
        tone = tones[(row * 7 + plank * 13) % 512, None]
        grain = 1 + 0.06 * np.sin(x * 40 + np.sin(z * 25) * 2)[..., None]
        base = np.array([0.22, 0.38, 0.55]) * tone * grain
        seam = np.abs(z / 0.14 - np.round(z / 0.14)) < 0.02
        base[seam] *= 0.6
    return np.asarray(base, np.float32) ** 2.2
