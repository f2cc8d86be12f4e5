"""Camera calibration for the rig: lens intrinsics, mount geometry and reader confidence.

Not built yet: see the calibration issue. The edge runs uncalibrated until then.
"""
