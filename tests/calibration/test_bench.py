import json

from calibration.bench import bench_undistort
from calibration.synthetic import example_camera


def test_bench_times_a_1280x720_frame_by_default() -> None:
    result = bench_undistort(frames=10)
    assert result.frame == "1280x720" and result.frames == 10 and result.camera == "example wide lens"
    assert 0 < result.median_ms <= result.p90_ms
    assert json.loads(json.dumps(result.as_dict()))["frame"] == "1280x720"


def test_bench_uses_a_given_camera() -> None:
    result = bench_undistort(example_camera((320, 240)), frames=10)
    assert result.frame == "320x240" and result.camera == "given"
