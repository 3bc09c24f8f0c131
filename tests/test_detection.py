import numpy as np
import pytest

from vitalens.tasks.hb_nails.detection_metrics import detection_metrics
from vitalens.tasks.hb_nails.detection import (
    DETECTOR_INPUT_SIZE,
    PAD_VALUE,
    Detection,
    decode_detections,
    letterbox,
    nms,
)

PHOTO_SHAPE = (600, 800)


def _photo() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (*PHOTO_SHAPE, 3), dtype=np.uint8)


def test_letterbox_keeps_aspect_pads_grey_and_round_trips_boxes():
    square, placement = letterbox(_photo())
    assert square.shape == (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE, 3) and square.dtype == np.uint8
    assert placement.scale == pytest.approx(0.4)
    assert (placement.pad_y, placement.pad_x) == (40.0, 0.0)
    assert (square[:40] == PAD_VALUE).all() and (square[-40:] == PAD_VALUE).all()
    assert not (square[40:280] == PAD_VALUE).all()
    boxes = np.array([[251, 447, 302, 505], [0, 0, 600, 800]], np.float32)
    on_input = placement.to_input(boxes)
    np.testing.assert_allclose(on_input[1], [40, 0, 280, 320])
    np.testing.assert_allclose(placement.to_photo(on_input), boxes, atol=1e-3)


def test_letterbox_portrait_photo_pads_left_and_right():
    square, placement = letterbox(np.zeros((800, 600, 3), np.uint8))
    assert (placement.pad_y, placement.pad_x) == (0.0, 40.0)
    assert (square[:, :40] == PAD_VALUE).all()


def test_nms_suppresses_same_class_overlaps_keeps_other_classes_in_score_order():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.6, 0.9, 0.8, 0.7], np.float32)
    labels = np.array([0, 0, 1, 0])
    kept = nms(boxes, scores, labels, iou_threshold=0.5)
    assert kept.tolist() == [1, 2, 3]  # box 0 overlaps the better nail box 1; box 2 is skin, kept


def _maps_with_peaks(peaks):
    cells = DETECTOR_INPUT_SIZE // 8
    heatmap = np.zeros((2, cells, cells), np.float32)
    box_maps = np.zeros((4, cells, cells), np.float32)
    for label, y, x, score, box in peaks:
        heatmap[label, y, x] = score
        box_maps[:, y, x] = box
    return heatmap, box_maps


def test_decode_returns_photo_pixel_boxes_best_first_and_drops_low_scores():
    _, placement = letterbox(_photo())
    heatmap, box_maps = _maps_with_peaks([
        (0, 10, 10, 0.9, (84, 84, 20, 24)),  # centre (84, 84) on the input, 20 x 24
        (1, 10, 20, 0.6, (84, 164, 16, 16)),
        (0, 30, 30, 0.1, (244, 244, 20, 20)),  # below threshold
        (0, 33, 39, 0.8, (270, 316, 40, 40)),  # overhangs the photo: clipped
        (0, 39, 5, 0.7, (316, 44, 8, 8)),  # wholly in the letterbox pad: dropped
    ])
    found = decode_detections(heatmap, box_maps, placement, PHOTO_SHAPE, score_threshold=0.3)
    assert [d.label for d in found] == ["nail", "nail", "skin"]
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    np.testing.assert_allclose(found[0].box, ((74 - 40) / 0.4, 72 / 0.4, (94 - 40) / 0.4, 96 / 0.4), atol=1e-3)
    for detection in found:
        ymin, xmin, ymax, xmax = detection.box
        assert 0 <= ymin < ymax <= PHOTO_SHAPE[0] and 0 <= xmin < xmax <= PHOTO_SHAPE[1]


def test_decode_keeps_only_local_maxima():
    _, placement = letterbox(_photo())
    heatmap, box_maps = _maps_with_peaks([(0, 10, 10, 0.9, (84, 84, 20, 20)), (0, 10, 11, 0.8, (84, 92, 20, 20))])
    assert len(decode_detections(heatmap, box_maps, placement, PHOTO_SHAPE)) == 1


def test_decode_rejects_wrong_shapes():
    _, placement = letterbox(_photo())
    with pytest.raises(ValueError, match="expected"):
        decode_detections(np.zeros((3, 40, 40)), np.zeros((4, 40, 40)), placement, PHOTO_SHAPE)


def test_metrics_perfect_and_missed_detections():
    truth = {"nail": [[0, 0, 10, 10], [20, 20, 30, 30]], "skin": [[50, 50, 60, 60]]}
    perfect = [("nail", 0.9, np.array([0, 0, 10, 10])), ("nail", 0.8, np.array([20, 20, 30, 30])),
               ("skin", 0.7, np.array([50, 50, 60, 60]))]
    table = detection_metrics([perfect], [truth], ("nail", "skin"))
    assert table["nail"]["mAP50"] == pytest.approx(1.0) and table["nail"]["mAP50-95"] == pytest.approx(1.0)
    missed = [perfect[0], ("nail", 0.95, np.array([100, 100, 110, 110]))]
    table = detection_metrics([missed], [truth], ("nail", "skin"))
    assert table["nail"]["recall"] == pytest.approx(0.5) and table["nail"]["precision"] == pytest.approx(0.5)
    assert table["nail"]["mAP50"] < 0.5 and table["skin"]["recall"] == 0.0


torch = pytest.importorskip("torch")


def test_targets_decode_back_to_the_boxes():
    from vitalens.tasks.hb_nails.detector_model import regression_to_boxes
    from vitalens.tasks.hb_nails.detector_training import make_targets

    boxes = {"nail": np.array([[100, 120, 121, 142], [160, 118, 180, 140]], np.float32), "skin": np.zeros((0, 4), np.float32)}
    heatmap, regression, mask = make_targets(boxes, ("nail", "skin"))
    assert heatmap.max() == 1.0 and int((heatmap == 1.0).sum()) == 2 and mask.sum() == 2
    log_regression = regression.copy()
    box_maps = regression_to_boxes(torch.from_numpy(log_regression[None]))[0].numpy()
    _, placement = letterbox(np.zeros((DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE, 3), np.uint8))
    found = decode_detections(heatmap, box_maps, placement, (DETECTOR_INPUT_SIZE,) * 2, score_threshold=0.99)
    np.testing.assert_allclose(sorted(d.box for d in found), boxes["nail"], atol=1e-3)


def test_onnx_export_matches_torch_and_detects_in_the_image(tmp_path):
    from vitalens.tasks.hb_nails.detector_model import NailDetector, export_detector_onnx
    from vitalens.tasks.hb_nails.detection import OnnxDetector, to_detector_input

    torch.manual_seed(0)
    model = NailDetector(pretrained=False).eval()
    path = export_detector_onnx(model, tmp_path / "detector.onnx")
    assert path.stat().st_size < 12e6
    detector = OnnxDetector(path)
    square, _ = letterbox(_photo())
    heatmap, box_maps = detector.raw(square)
    assert heatmap.shape == (2, 40, 40) and box_maps.shape == (4, 40, 40)
    assert heatmap.dtype == np.float32 and box_maps.dtype == np.float32
    with torch.no_grad():
        torch_heatmap, torch_boxes = model(torch.from_numpy(to_detector_input(square)))
    np.testing.assert_allclose(heatmap, torch_heatmap[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(box_maps, torch_boxes[0].numpy(), atol=1e-3)
    found = detector.detect(_photo(), score_threshold=0.0)
    assert found and all(isinstance(d, Detection) for d in found)
    for detection in found:
        ymin, xmin, ymax, xmax = detection.box
        assert 0 <= ymin <= ymax <= PHOTO_SHAPE[0] and 0 <= xmin <= xmax <= PHOTO_SHAPE[1]


def test_session_folds_never_share_a_session():
    from vitalens.tasks.hb_nails.detector_training import LabelledPhoto
    from vitalens.tasks.hb_nails.detector_validation import session_folds

    photos = [LabelledPhoto(str(i), f"session{i % 7}", np.zeros((1, 1, 3), np.uint8)) for i in range(40)]
    for train, val in session_folds(photos, 3):
        assert not {photos[i].group for i in train} & {photos[i].group for i in val}


@pytest.mark.slow
def test_short_training_on_real_photos_gives_well_formed_detections(yakimov_dir):
    from vitalens.tasks.hb_nails.data import load_yakimov
    from vitalens.tasks.hb_nails.detector_training import DetectorTrainingConfig, load_photos, predict_photos, train_detector

    torch.set_num_threads(1)
    samples = load_yakimov(yakimov_dir).samples
    photos = load_photos(samples[:16])
    model = train_detector(photos, DetectorTrainingConfig(epochs=1, batch_size=8, log=False))
    predictions = predict_photos(model, photos[:2], score_threshold=0.0)
    for photo, found in zip(photos, predictions):
        assert found and {d.label for d in found} <= {"nail", "skin"}
        height, width = photo.rgb.shape[:2]
        assert all(0 <= d.box[0] <= d.box[2] <= height and 0 <= d.box[1] <= d.box[3] <= width for d in found)


def test_shipped_detector_finds_the_three_annotated_nails_on_real_photos(yakimov_dir):
    from vitalens.tasks.hb_nails.data import load_yakimov
    from vitalens.imaging import decode_image
    from vitalens.tasks.hb_nails.detection import DETECTOR_FILE, OnnxDetector, box_iou
    from vitalens.runtime import shipped_bundle_path

    detector = OnnxDetector(str(shipped_bundle_path("hb-nails") / DETECTOR_FILE))
    for sample in load_yakimov(yakimov_dir).samples[::50]:
        found = detector.detect(decode_image(sample.image_path).rgb)
        nails = np.array([d.box for d in found if d.label == "nail"])
        for truth in sample.boxes["nail"]:  # the shipped detector saw these photos in training: a sanity check, not a score
            assert box_iou(np.asarray(truth, np.float32), nails).max() > 0.5


def test_detections_to_regions_keeps_three_best_nails_and_pairs_nearest_skin():
    from vitalens.tasks.hb_nails.detection import detections_to_regions

    found = [
        Detection("nail", 0.9, (10.4, 20.6, 30.0, 40.0)),
        Detection("nail", 0.8, (100.0, 20.0, 120.0, 40.0)),
        Detection("nail", 0.7, (200.0, 20.0, 220.0, 40.0)),
        Detection("nail", 0.6, (300.0, 20.0, 320.0, 40.0)),  # a fourth nail: the least confident is dropped
        Detection("nail", 0.1, (0.0, 0.0, 5.0, 5.0)),  # below the score threshold
        Detection("skin", 0.5, (100.0, 50.0, 120.0, 70.0)),  # nearest to the second nail
        Detection("skin", 0.9, (10.0, 50.0, 30.0, 70.0)),  # nearest to the first nail
    ]
    nails, skins, scores = detections_to_regions(found, min_score=0.3, max_nails=3)
    assert nails == [(10, 21, 30, 40), (100, 20, 120, 40), (200, 20, 220, 40)]
    assert scores == [0.9, 0.8, 0.7]
    # two detected skins paired by distance; the third nail has none left and gets its adjacent skin
    assert skins[:2] == [(10, 50, 30, 70), (100, 50, 120, 70)]
    assert skins[2] == (200, 50, 220, 70)
