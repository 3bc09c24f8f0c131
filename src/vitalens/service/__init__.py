"""`vitalens serve`: one process serving the versioned JSON API and the offline browser app.

Serving world: fastapi, numpy, Pillow and onnxruntime; never torch or training code. Images live in
memory only: uploads are parsed into RAM (never spooled to disk), decoded, predicted and dropped.
"""

from vitalens.service.app import create_app
from vitalens.service.limits import ServiceLimits

__all__ = ["ServiceLimits", "create_app"]
