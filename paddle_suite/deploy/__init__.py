"""Deployment: export an inference model and the description PaddleClas and PaddleX read,
convert it to ONNX, and run it with Paddle Inference."""
