"""Camera calibration for the rig: lens intrinsics and distortion, mount geometry, and where on the kerb a read is.

- `intrinsics`: checkerboard photos -> `camera.yaml` (camera matrix, distortion, reprojection error).
- `undistort`: `Undistorter.from_file("camera.yaml").undistort(frame)`, precomputed maps, at capture.
- `mount`: the camera's pose on the car -> `mount.yaml`; `GroundMapper` places a pixel on the ground beside
  the car and `ground_to_world` turns that offset, the GPS fix and the heading into the parked car's position.

- `confidence`: held-out reads -> `models/reader/confidence.json`, a monotone map the reader plugins apply so a
  read of confidence p is right with probability p (ECE before and after, reliability diagram).
"""
