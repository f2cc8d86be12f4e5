"""The plate detector's weights (`plate_yolo.pt`, `plate_yolo.onnx`) and model card; shipped as package data."""
