"""Training and export code for PlatePatrol's models (needs the `train` extra: ultralytics, onnx, onnxslim)."""
