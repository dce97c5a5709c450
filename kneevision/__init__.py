"""KneeVision: knee rotation and valgus measured from ordinary video."""

__version__ = "0.1.0"
