"""Pose estimation: model resolution, the MediaPipe wrapper and `PoseSequence`."""

from kneevision.pose.landmarker import (
    FlipAveragedEstimator,
    PoseEstimator,
    PoseFrame,
    choose_person,
)
from kneevision.pose.model import ModelFile, resolve_model
from kneevision.pose.sequence import LANDMARK_NAMES, N_LANDMARKS, PoseSequence

__all__ = [
    "LANDMARK_NAMES",
    "N_LANDMARKS",
    "FlipAveragedEstimator",
    "ModelFile",
    "PoseEstimator",
    "PoseFrame",
    "PoseSequence",
    "choose_person",
    "resolve_model",
]
