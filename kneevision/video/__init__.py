"""Video sources (files, webcams, image folders) and H.264 writing."""

from kneevision.video.orientation import Orientation, detect_orientation
from kneevision.video.source import (
    Frame,
    VideoInfo,
    check_decoding,
    inference_stride,
    prefetch,
    probe_image_folder,
    probe_source,
    probe_video,
    read_camera,
    read_image_folder,
    read_source,
    read_video,
    source_sha256,
)
from kneevision.video.writer import VideoWriter

__all__ = [
    "Frame",
    "Orientation",
    "VideoInfo",
    "VideoWriter",
    "check_decoding",
    "detect_orientation",
    "inference_stride",
    "prefetch",
    "probe_image_folder",
    "probe_source",
    "probe_video",
    "read_camera",
    "read_image_folder",
    "read_source",
    "read_video",
    "source_sha256",
]
