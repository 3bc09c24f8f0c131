"""The API's answer to one request, the same for every task: an entry per photo (the result contract
of vitalens.results, plus the photo's size and format) and, where the task has one, the several-photo
aggregate. Photos are decoded one at a time, so a request holds one decoded image at once."""

from __future__ import annotations

from typing import Any

from vitalens.results import unique_ids
from vitalens.runtime import predict_one
from vitalens.service.errors import RequestRejected
from vitalens.service.limits import ServiceLimits
from vitalens.service.uploads import decode_upload


def respond(predictor, uploads: list[tuple[str, bytes]], population: dict[str, Any], limits: ServiceLimits) -> dict[str, Any]:
    validate = getattr(predictor, "validate_population", None)
    if validate is not None:
        try:
            validate(population)
        except ValueError as error:
            raise RequestRejected(422, str(error)) from None
    predictions, results = [], []
    for image_id, (filename, data) in zip(unique_ids(name for name, _ in uploads), uploads):
        image = decode_upload(data, filename, limits)
        prediction = predict_one(predictor, image.rgb, image_id, None, **population)
        predictions.append(prediction)
        results.append({"filename": filename, "width": image.width, "height": image.height, "format": image.format, **prediction.to_json()})
    aggregate = getattr(predictor, "aggregate", None)
    return {"results": results, "aggregate": aggregate(predictions, population) if aggregate else None}
