"""Region finders: where in a photo each task looks. Serving world: numpy (and PIL/OpenCV), never torch."""
