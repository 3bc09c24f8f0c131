// twin: vitalens/runtime/__init__.py
// The spine's checks before any task's predictor runs, as vitalens.runtime.screen: the image is big enough,
// the mode's own photo-quality refusal when it has one (preScreen, as a predictor's pre_screen), and (when
// the bundle carries a site check) it looks like a photo of the body site the model learned from.
// null means go on: every screen runs `screen(model, image, id) ?? await predictTask(...)`, as predict_one.
import { refused, tooSmall } from './results.js';
import { siteCheck } from './site_check.js';

export function screen(model, image, imageId, preScreen = null) {
  const tiny = tooSmall(image, imageId, model.disclaimer);
  if (tiny) return tiny;
  const quality = preScreen ? preScreen(model, image, imageId) : null;
  if (quality) return quality;
  const check = model.manifest.site_check;
  if (!check) return null;
  const { ok, score } = siteCheck(image, check);
  if (ok) return null;
  const reason = `not a ${check.body_site} photo like the ones this model learned from (site check ${score.toFixed(2)} < ${Number(check.threshold).toFixed(2)})`;
  return refused(imageId, [reason], [check.tip], model.disclaimer, { site_check_score: score });
}
