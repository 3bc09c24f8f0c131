"""Region finders: where in a photo the body site (lips, nails, face, skin) is.

Serving code: numpy and OpenCV only, never torch.
"""
